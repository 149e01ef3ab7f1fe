"""The `ehr platform` fake as a process for service tests (ehr/platform/process.py, shared with
`python -m bench sync`)."""

from ehr.platform.process import TOKEN, PlatformProcess

__all__ = ["TOKEN", "PlatformProcess"]
