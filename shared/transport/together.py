"""Independent calls at once, on the green threads the services run on (eventlet), for a caller
that shows several answers and need wait only for the slowest, not their sum:

    summary, timeline = together(lambda: records.archive_summary(no), lambda: records.list_records(no))

The first call's exception (in the order given) is raised once all have ended."""

from __future__ import annotations

from typing import Any, Callable

import eventlet


def together(*calls: Callable[[], Any]) -> list[Any]:
    pool = eventlet.GreenPool(max(1, len(calls)))
    threads = [pool.spawn(call) for call in calls]
    pool.waitall()
    return [thread.wait() for thread in threads]
