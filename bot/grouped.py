"""Group commit: what many coroutines ask to write at about the same time goes to the database
in one transaction, run in a thread, so a burst of webhooks costs a few commits, not one each."""

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class Grouped(Generic[In, Out]):
    """Run `write(requests) -> results` (blocking, one result per request, in order) for the
    requests that wait meanwhile; while one group is written, the next one gathers."""

    def __init__(self, write: Callable[[list[In]], list[Out]]) -> None:
        self._write = write
        self._waiting: list[tuple[In, asyncio.Future[Out]]] = []
        self._writer: asyncio.Task | None = None

    async def __call__(self, request: In) -> Out:
        """Write `request` with the others waiting; return its result or raise the group's
        error (none of the group was written then)."""
        done: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        return await done

    async def _write_waiting(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                results = await asyncio.to_thread(self._write, [request for request, _ in group])
            except Exception as error:
                for _request, done in group:
                    if not done.done():
                        done.set_exception(error)
            else:
                for (_request, done), result in zip(group, results, strict=True):
                    if not done.done():
                        done.set_result(result)
