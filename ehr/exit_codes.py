"""The exit statuses of the `ehr` command, so that a script can tell what went wrong:

    0   done; for a check (`ehr audit verify`), it holds
    1   FAILED: a check failed (`audit verify` found a broken chain), something was refused (an
        unknown user, a quarantined message that is not there) or rows were rejected
        (`ehr import residents` with rejected rows, `ehr keys reencrypt` with unreadable ones)
    2   USAGE: the command line was wrong (click's own status)
    69  UNAVAILABLE (EX_UNAVAILABLE of sysexits.h): a database, the broker, its management API or the
        suite's services could not be reached; the message names the setting to check. Trying
        again later may work; nothing was checked or changed.

`ehr --help` repeats this; `Unavailable` is the exception a command raises for 69.
"""

from __future__ import annotations

import click

OK = 0
FAILED = 1
USAGE = 2
UNAVAILABLE = 69

HELP = ("Exit status: 0 done (a check holds); 1 a check failed, something was refused or rows were "
        "rejected; 2 wrong usage; 69 could not connect (a database, the broker or the services: "
        "the message names the setting).")


class Unavailable(click.ClickException):
    """Something the command needs could not be reached: exit status 69."""

    exit_code = UNAVAILABLE
