from ehr.cli import entry_point

entry_point()
