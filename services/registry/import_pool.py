"""Worker processes for the bulk import: chunks go out in order and their results come back in
the same order, so that the importer writes (and numbers) the register's rows as they come.

    with PreparePool(preparer.prepare_chunk, jobs=2) as pool:
        for prepared in pool.map(chunks):     # chunk 1's result, chunk 2's, ...
            write(prepared)                   # meanwhile the workers prepare the next chunks

Each worker has its own pipe and one chunk in hand at a time: it gets its next chunk as soon as
its result is taken, before the importer writes that result, so preparation and writing overlap.
Plain pipes and no helper threads: the same code runs in an eventlet-patched process (the tests).
Workers are forked, so they share the preparer (keys, reference codes) without pickling it; they
touch no connection of the parent. With `jobs=0` chunks are prepared in this process.
"""

from __future__ import annotations

import gc
import multiprocessing
from typing import Any, Callable, Iterable, Iterator


class WorkerFailed(RuntimeError):
    """A worker process died, or failed in a way that could not be sent back."""


def _serve(connection, prepare: Callable[[Any], Any]) -> None:
    while True:
        chunk = connection.recv()
        if chunk is None:
            return
        try:
            result = ("ok", prepare(chunk))
        except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
            result = ("error", exc)
        try:
            connection.send(result)
        except Exception:  # noqa: BLE001 - an exception that does not pickle
            connection.send(("error", WorkerFailed(f"a worker failed: {type(result[1]).__name__}")))


class PreparePool:
    def __init__(self, prepare: Callable[[Any], Any], jobs: int) -> None:
        self.prepare = prepare
        self.jobs = max(0, jobs)
        self._workers: list[tuple[Any, Any]] = []

    def __enter__(self) -> PreparePool:
        context = multiprocessing.get_context("fork")
        # Out of the children's garbage collections: what they inherit (a bench's million rows)
        # would otherwise be walked, and copied page by page, by each of them.
        gc.freeze()
        try:
            for _ in range(self.jobs):
                ours, theirs = context.Pipe()
                process = context.Process(target=_serve, args=(theirs, self.prepare), daemon=True)
                process.start()
                theirs.close()
                self._workers.append((process, ours))
        finally:
            gc.unfreeze()
        return self

    def __exit__(self, exc_type, *_) -> None:
        for process, connection in self._workers:
            if exc_type is None:
                connection.send(None)  # every chunk was taken: the worker is waiting for one
            else:
                process.terminate()  # it may be busy on a chunk nobody will take
            connection.close()
        for process, _ in self._workers:
            process.join(timeout=10)
            if process.is_alive():  # still holding a result nobody took
                process.terminate()
                process.join()
        self._workers = []

    def map(self, chunks: Iterable[Any]) -> Iterator[Any]:
        """The result of each chunk, in the order of the chunks."""
        chunks = iter(chunks)
        if not self._workers:
            yield from map(self.prepare, chunks)
            return
        busy = []  # workers holding a chunk, in the order the chunks were given
        for process, connection in self._workers:
            if not self._give(connection, chunks):
                break
            busy.append((process, connection))
        while busy:
            process, connection = busy.pop(0)
            result = self._take(process, connection)
            if self._give(connection, chunks):
                busy.append((process, connection))
            yield result

    @staticmethod
    def _give(connection, chunks: Iterator[Any]) -> bool:
        chunk = next(chunks, None)
        if chunk is None:
            return False
        connection.send(chunk)
        return True

    @staticmethod
    def _take(process, connection) -> Any:
        try:
            status, value = connection.recv()
        except EOFError:
            raise WorkerFailed(f"a worker process ended (exit code {process.exitcode})") from None
        if status == "error":
            raise value
        return value
