"""The `ehr` command and the tools around the suite (supervisor, demo feed, sandbox)."""

import warnings

# eventlet announces its deprecation on import; the suite knows (docs/performance.md names the
# road off it), operators running a command need not read it every time.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
