import warnings

# eventlet announces its deprecation on import; the suite knows (see docs), operators need not.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from ehr.cli import main  # noqa: E402

main()
