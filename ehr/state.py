"""Where the `ehr` command keeps what it generated on a development machine (EHR_STATE_DIR,
default `./var`): `secrets.env`, the keys `ensure_keys` made, mode 0600.

Its own module so that every command module reads it from here, and none imports `ehr.cli`
(which registers them: the two would import each other).
"""

from __future__ import annotations

from shared.config import state_dir

STATE_DIR = state_dir()
