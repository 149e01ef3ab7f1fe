"""The `ehr` command and the tools around the suite (supervisor, demo feed, sandbox)."""

import sys
import warnings

# eventlet announces its deprecation on import. The suite knows: docs/dependencies.md ("Nameko 3
# and eventlet") records the risk and the way off it, so an operator running a command need not
# read it every time. Said, not hidden: any -W option or PYTHONWARNINGS (`PYTHONWARNINGS=default
# ehr up`) shows it again.
if not sys.warnoptions:
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
