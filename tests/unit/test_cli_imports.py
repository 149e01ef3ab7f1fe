"""What the `ehr` command imports before a subcommand runs.

`ehr run SERVICE` monkey-patches eventlet before the service starts, but Python has imported
`ehr.cli` (and every module it registers commands from) by then. A module that binds a blocking
function at import time keeps it: kombu's retry loop does `from time import sleep`, so a kombu
imported before the patch sleeps the whole process between reconnection attempts, and the other
connections of the service miss their handshakes. That stalled a records worker for good after a
broker restart (tests/e2e/test_broker_restart.py).
"""

import subprocess
import sys


def test_loading_the_ehr_command_imports_no_kombu_and_no_socket_user_before_run_patches_eventlet():
    probe = ("import sys, ehr.cli; "
             "print(sorted(m for m in ('kombu', 'amqp', 'pika', 'requests') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_eventlet_deprecation_is_quiet_in_the_command_and_shown_when_warnings_are_asked_for():
    """docs/dependencies.md records why the `ehr` command does not repeat eventlet's deprecation;
    `PYTHONWARNINGS` (or -W) brings it back, so it is never hidden without a way to see it."""
    import os

    probe = "import ehr, eventlet"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    quiet = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env)
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                           env={**env, "PYTHONWARNINGS": "default"})
    assert "Eventlet is deprecated" not in quiet.stderr
    assert "Eventlet is deprecated" in shown.stderr
