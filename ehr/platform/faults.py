"""The faults the fake platform can be told to show (POST /control/faults), so that a sender's
retries, timeouts and order can be tested:

- `error`: every /api request answers 500 for `seconds` (or until reset);
- `hang`: every /api request arriving in the next `seconds` waits until they are over (or until
  reset, without `seconds`) before it is answered as usual, so a client with a shorter timeout
  times out;
- `down`: every /api request answers 503 without being processed, for `seconds` (or until reset);
- `reject_one_in`: N > 0 rejects every Nth document that passed every check (reason `injected`).

A mode without `seconds` lasts until `normal` or POST /control/reset; after its seconds the
platform is normal again by itself. Faults live in memory: a restart starts normal.
"""

from __future__ import annotations

import threading
import time

MODES = ("normal", "error", "hang", "down")


class FaultError(ValueError):
    """A fault setting that cannot be applied (the message names the field)."""


class Faults:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._mode = "normal"
        self._seconds: float | None = None
        self._until: float | None = None   # time.monotonic() when the mode ends; None: until reset
        self._reject_one_in = 0
        self._passed = 0                   # documents that passed every check since reject_one_in was set

    def _expire(self) -> None:
        if self._mode != "normal" and self._until is not None and time.monotonic() >= self._until:
            self._mode, self._seconds, self._until = "normal", None, None

    def mode(self) -> str:
        with self._changed:
            self._expire()
            return self._mode

    def settings(self) -> dict:
        with self._changed:
            self._expire()
            remaining = None if self._until is None else round(max(0.0, self._until - time.monotonic()), 3)
            return {"mode": self._mode, "seconds": self._seconds, "remaining": remaining,
                    "reject_one_in": self._reject_one_in}

    def apply(self, body: object) -> dict:
        """Apply a POST /control/faults body: `mode` (with `seconds`) and/or `reject_one_in`."""
        if not isinstance(body, dict):
            raise FaultError("the body must be a JSON object")
        unknown = set(body) - {"mode", "seconds", "reject_one_in"}
        if unknown:
            raise FaultError(f"unknown fields: {', '.join(sorted(unknown))}")
        mode, seconds, one_in = body.get("mode"), body.get("seconds"), body.get("reject_one_in")
        if mode is not None and mode not in MODES:
            raise FaultError(f"mode must be one of {', '.join(MODES)}")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                    or seconds <= 0):
            raise FaultError("seconds must be a positive number")
        if seconds is not None and mode is None:
            raise FaultError("seconds needs a mode")
        if one_in is not None and (isinstance(one_in, bool) or not isinstance(one_in, int) or one_in < 0):
            raise FaultError("reject_one_in must be a whole number, 0 for off")
        with self._changed:
            if mode is not None:
                self._mode = mode
                self._seconds = None if mode == "normal" else seconds
                self._until = None if self._seconds is None else time.monotonic() + self._seconds
            if one_in is not None:
                self._reject_one_in, self._passed = one_in, 0
            self._changed.notify_all()
        return self.settings()

    def reset(self) -> dict:
        with self._changed:
            self._mode, self._seconds, self._until = "normal", None, None
            self._reject_one_in, self._passed = 0, 0
            self._changed.notify_all()
        return self.settings()

    def wait_while_hanging(self) -> None:
        """Block while the mode is `hang` (until its seconds are over or it is changed)."""
        with self._changed:
            while True:
                self._expire()
                if self._mode != "hang":
                    return
                self._changed.wait(None if self._until is None else max(0.0, self._until - time.monotonic()))

    def inject_rejection(self) -> bool:
        """Count a document that passed every check; True when it is the Nth (reject it)."""
        with self._changed:
            if not self._reject_one_in:
                return False
            self._passed += 1
            return self._passed % self._reject_one_in == 0
