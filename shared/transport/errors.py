"""Registers the suite's expected errors with Nameko, so that a caller of an RPC gets the very
exception type back (with its details) instead of a RemoteError. Imported by
`shared.transport.rpc`, hence by every process that serves or makes calls.
"""

from __future__ import annotations

from nameko.exceptions import deserialize_to_instance

from shared import errors


def _expected_errors() -> list[type]:
    found, todo = [], [errors.EhrError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(c for c in cls.__subclasses__() if c.__module__ == errors.__name__)
    return found


for _cls in _expected_errors():
    if _cls is not errors.EhrError:
        deserialize_to_instance(_cls)
