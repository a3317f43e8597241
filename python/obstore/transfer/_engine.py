"""Running the tasks of a plan: a pool of workers over the listing as it streams, the report,
throttled progress, batched deletes, cancellation, and batches sent to an executor."""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import time
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import obstore
from obstore.progress import Progress

from ._location import Location
from ._objects import (
    PartOptions,
    copy_local,
    copy_streamed,
    delete_files,
    delete_objects,
    delete_one_local,
    download,
    local_md5,
    upload,
)
from ._plan import Task, Totals
from ._report import Action, TransferReport

#: Objects in one bulk delete request (S3's limit).
DELETE_BATCH = 1000
#: Large objects (in parts) moving at once, each with ``part_concurrency`` parts in flight:
#: this bounds the memory of uploads to about 2 x (part_concurrency + 1) x part_size.
LARGE_OBJECTS_IN_FLIGHT = 2
#: An executor batch ends at this many objects or bytes, whichever comes first.
BATCH_OBJECTS = 256
BATCH_BYTES = 512 * 1024 * 1024
#: Batches submitted to an executor and not finished yet.
BATCHES_IN_FLIGHT = 16


@dataclass(frozen=True)
class Settings:
    """The options of a run that travel to executor workers (callbacks stay behind)."""

    dry_run: bool
    max_concurrency: int
    parts: PartOptions
    fail_fast: bool
    remove_source: bool = False
    """``move``: delete each source object once it has been copied."""


class Throttle:
    """Calls ``progress`` at most every 0.1 s, and once more with ``done=True`` at the end."""

    INTERVAL = 0.1

    def __init__(self, callback: Callable[[Progress], None] | None, totals: Totals) -> None:
        self.callback = callback
        self.totals = totals
        self.bytes_done = 0
        self.objects_done = 0
        self.path: str | None = None
        self._last = -1.0
        self._final_sent = False

    def _snapshot(self, done: bool) -> Progress:
        listed = self.totals.listed
        return Progress(
            bytes_done=self.bytes_done,
            bytes_total=self.totals.bytes if listed else None,
            objects_done=self.objects_done,
            objects_total=self.totals.objects if listed else None,
            path=self.path,
            done=done,
        )

    def _tick(self) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if now - self._last >= self.INTERVAL:
            self._last = now
            self.callback(self._snapshot(False))

    def add_bytes(self, count: int, path: str | None = None) -> None:
        self.bytes_done += count
        if path is not None:
            self.path = path
        self._tick()

    def add_objects(self, count: int, path: str | None = None) -> None:
        self.objects_done += count
        if path is not None:
            self.path = path
        self._tick()

    def final(self) -> None:
        if self.callback is not None and not self._final_sent:
            self._final_sent = True
            self.callback(self._snapshot(True))


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error a task group ended with, preferring a real error to a cancellation."""
    leaves: list[BaseException] = []

    def walk(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                walk(inner)
        else:
            leaves.append(error)

    walk(group)
    real = [error for error in leaves if not isinstance(error, asyncio.CancelledError)]
    return (real or leaves)[0]


class Run:
    """One operation in progress: its settings, report, progress and callbacks."""

    def __init__(
        self,
        settings: Settings,
        totals: Totals,
        *,
        progress: Callable[[Progress], None] | None = None,
        on_action: Callable[[Action], None] | None = None,
    ) -> None:
        self.settings = settings
        self.totals = totals
        self.report = TransferReport(dry_run=settings.dry_run)
        self.actions: list[Action] | None = None  # kept for executor batches only
        self.throttle = Throttle(progress, totals)
        self.on_action = on_action
        self._large = asyncio.Semaphore(LARGE_OBJECTS_IN_FLIGHT)

    # --- the report -----------------------------------------------------------------------

    def finish(self, action: Action) -> None:
        self.report.add(action)
        if action.kind != "skip":
            self.throttle.add_objects(1, action.dst)
        if self.actions is not None:
            self.actions.append(action)
        if self.on_action is not None:
            self.on_action(action)

    def fail(self, where: str, error: Exception) -> None:
        """A failure that is no one object's (a listing): counted, then raised if fail_fast."""
        self.report.failed += 1
        self.report.errors.append((where, error))
        if self.settings.fail_fast:
            raise error

    # --- one object -----------------------------------------------------------------------

    async def _same_checksum(self, task: Task) -> bool:
        assert task.src is not None
        src_md5 = task.src_md5
        if src_md5 is None and task.src.path is not None:
            src_md5 = await local_md5(task.src.path)
        dst_md5 = task.dst_md5
        if dst_md5 is None and task.dst.path is not None:
            dst_md5 = await local_md5(task.dst.path)
        return src_md5 is not None and src_md5 == dst_md5

    def _is_large(self, task: Task) -> bool:
        parts = self.settings.parts
        size = task.size or 0
        if task.kind == "download":
            return size > parts.download_threshold
        return size > parts.part_size and not (
            task.src is not None and task.src.same_store(task.dst)
        )

    async def _move(self, task: Task) -> int:
        src, dst = task.src, task.dst
        assert src is not None
        path = dst.display()

        def on_bytes(count: int) -> None:
            self.throttle.add_bytes(count, path)

        parts = self.settings.parts
        if src.path is not None and dst.path is not None:
            return await copy_local(src.path, dst.path, on_bytes)
        if src.path is not None:
            assert dst.store is not None
            size = task.size or 0
            await upload(src.path, dst.store, dst.key, size, parts, on_bytes)
            return size
        assert src.store is not None
        if dst.path is not None:
            return await download(src.store, src.key, dst.path, task.size, parts, on_bytes)
        assert dst.store is not None
        if src.same_store(dst):
            await obstore.copy_async(src.store, src.key, dst.key)
            on_bytes(task.size or 0)
            return task.size or 0
        return await copy_streamed(src.store, src.key, dst.store, dst.key, parts, on_bytes)

    async def _remove_source(self, src: Location) -> None:
        if src.path is not None:
            await asyncio.to_thread(delete_one_local, src.path)
        else:
            assert src.store is not None
            await obstore.delete_async(src.store, src.key)

    async def run_task(self, task: Task) -> None:
        assert task.src is not None
        action = Action(task.kind, task.src.display(), task.dst.display(), task.size)
        try:
            if task.verify and await self._same_checksum(task):
                action.kind = "skip"
                self.totals.objects -= 1  # counted as work to do when it was planned
                self.totals.bytes -= task.size or 0
            elif self.settings.dry_run:
                self.throttle.add_bytes(task.size or 0, action.dst)
            else:
                if self._is_large(task):
                    async with self._large:
                        action.size = await self._move(task)
                else:
                    action.size = await self._move(task)
                if self.settings.remove_source:
                    await self._remove_source(task.src)
        except Exception as error:
            action.error = error
            self.finish(action)
            if self.settings.fail_fast:
                raise
            return
        self.finish(action)

    # --- many objects ---------------------------------------------------------------------

    async def execute(self, tasks: AsyncGenerator[Task, None], where: str) -> None:
        """Run every task, ``max_concurrency`` at a time, starting while the plan lists."""
        workers = max(1, self.settings.max_concurrency)
        queue: asyncio.Queue[Task | None] = asyncio.Queue(maxsize=2 * workers)

        async def produce() -> None:
            try:
                async with contextlib.aclosing(tasks):
                    async for task in tasks:
                        if task.kind == "skip":
                            self._skip(task)
                        else:
                            await queue.put(task)
            except Exception as error:
                self.fail(where, error)
            for _ in range(workers):
                await queue.put(None)

        async def work() -> None:
            while (task := await queue.get()) is not None:
                await self.run_task(task)

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(produce())
                for _ in range(workers):
                    group.create_task(work())
        except BaseExceptionGroup as group_error:
            raise first_error(group_error) from None

    async def _delete_batch(self, batch: list[Task], root: Location) -> None:
        if self.settings.dry_run:
            results: list[BaseException | None] = [None] * len(batch)
        elif root.path is not None:
            paths = [task.dst.local() for task in batch]
            results = await delete_files(paths, root.path)
        else:
            store = root.store
            assert store is not None
            try:
                await delete_objects(store, [task.dst.key for task in batch])
                results = [None] * len(batch)
            except Exception:
                # Find out which ones failed: one request each (a missing one counts as gone).
                results = []
                for task in batch:
                    try:
                        await obstore.delete_async(store, task.dst.key)
                        results.append(None)
                    except FileNotFoundError:
                        results.append(None)
                    except Exception as error:
                        results.append(error)
        first: BaseException | None = None
        for task, result in zip(batch, results, strict=True):
            self.finish(Action("delete", None, task.dst.display(), task.size, result))
            first = first or result
        if first is not None and self.settings.fail_fast:
            raise first

    async def delete_all(
        self, tasks: AsyncIterable[Task] | Iterable[Task], root: Location, where: str
    ) -> None:
        """Delete in batches of up to 1,000, several batches at once."""

        async def each() -> AsyncGenerator[Task, None]:
            if isinstance(tasks, AsyncIterable):
                async for task in tasks:
                    yield task
            else:
                for task in tasks:
                    yield task

        await self._in_batches(
            each(),
            where,
            in_flight=max(1, self.settings.max_concurrency // 8),
            full=lambda batch, _: len(batch) == DELETE_BATCH,
            run=lambda batch: self._delete_batch(batch, root),
        )

    def _skip(self, task: Task) -> None:
        assert task.src is not None
        self.finish(Action("skip", task.src.display(), task.dst.display(), task.size))

    async def _in_batches(
        self,
        tasks: AsyncGenerator[Task, None],
        where: str,
        *,
        in_flight: int,
        full: Callable[[list[Task], int], bool],
        run: Callable[[list[Task]], Awaitable[None]],
    ) -> None:
        """Group the tasks into batches as the listing streams, ``run`` up to ``in_flight``
        batches at once; ``full(batch, batch_bytes)`` says when a batch is complete. Skips are
        reported as they come; a failed listing is counted (raised if ``fail_fast``)."""
        limit = asyncio.Semaphore(in_flight)

        async def one(batch: list[Task]) -> None:
            try:
                await run(batch)
            finally:
                limit.release()

        try:
            async with asyncio.TaskGroup() as group:
                batch: list[Task] = []
                batch_bytes = 0
                try:
                    async with contextlib.aclosing(tasks):
                        async for task in tasks:
                            if task.kind == "skip":
                                self._skip(task)
                                continue
                            batch.append(task)
                            batch_bytes += task.size or 0
                            if full(batch, batch_bytes):
                                await limit.acquire()
                                group.create_task(one(batch))
                                batch, batch_bytes = [], 0
                except Exception as error:
                    self.fail(where, error)
                if batch:
                    await limit.acquire()
                    group.create_task(one(batch))
        except BaseExceptionGroup as group_error:
            raise first_error(group_error) from None

    # --- on an executor -------------------------------------------------------------------

    async def execute_on(
        self, executor: Any, tasks: AsyncGenerator[Task, None], where: str
    ) -> None:
        """Send the tasks in batches to ``executor`` (a ``concurrent.futures.Executor`` or a
        ``dask.distributed.Client``), merging the reports as batches finish."""

        async def submit(batch: list[Task]) -> None:
            report, actions = await _submit(executor, (batch, self.settings))
            self.report = self.report.merge(report)
            for action in actions:
                if action.kind != "skip":
                    self.throttle.objects_done += 1
                if self.on_action is not None:
                    self.on_action(action)
            self.throttle.add_bytes(report.bytes)
            if report.errors and self.settings.fail_fast:
                raise report.errors[0][1]

        await self._in_batches(
            tasks,
            where,
            in_flight=BATCHES_IN_FLIGHT,
            full=lambda batch, size: len(batch) >= BATCH_OBJECTS or size >= BATCH_BYTES,
            run=submit,
        )


def is_dask_client(executor: object) -> bool:
    return type(executor).__module__.split(".")[0] == "distributed" and hasattr(executor, "submit")


def check_executor(executor: Any, locations: Iterable[Location]) -> None:
    """Refuse, before any transfer, stores that cannot travel to other processes."""
    if executor is None:
        return
    dask = is_dask_client(executor)
    if not dask and not isinstance(executor, Executor):
        raise TypeError(
            "executor must be a concurrent.futures.Executor or a dask.distributed.Client, "
            f"got {type(executor).__name__}"
        )
    if not dask and not isinstance(executor, ProcessPoolExecutor):
        return  # threads share the stores
    for location in locations:
        if location.store is None:
            continue
        try:
            pickle.dumps(location.store)
        except Exception as error:
            raise ValueError(
                f"{type(location.store).__name__} of {location.display()} cannot be sent to "
                "the processes of this executor (a MemoryStore lives in one process, and a "
                "credential provider must be picklable): use a store that can, or no executor"
            ) from error


async def _submit(
    executor: Any, payload: tuple[list[Task], Settings]
) -> tuple[TransferReport, list[Action]]:
    if is_dask_client(executor):
        future = executor.submit(run_batch, payload, pure=False)
        try:
            result: tuple[TransferReport, list[Action]] = await asyncio.to_thread(future.result)
        except asyncio.CancelledError:
            future.cancel()
            raise
        return result
    return await asyncio.wrap_future(executor.submit(run_batch, payload))


def _picklable(error: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


def run_batch(payload: tuple[list[Task], Settings]) -> tuple[TransferReport, list[Action]]:
    """Run one batch of tasks in a fresh event loop (on an executor's worker); the report and
    the actions, their errors made picklable."""
    batch, settings = payload

    async def main() -> Run:
        run = Run(settings, Totals(listed=True))
        run.actions = []

        async def tasks() -> AsyncGenerator[Task, None]:
            for task in batch:
                yield task

        await run.execute(tasks(), "batch")
        return run

    run = asyncio.run(main())
    report = run.report
    report.errors = [(where, _picklable(error)) for where, error in report.errors]
    actions = run.actions or []
    for action in actions:
        if action.error is not None:
            action.error = _picklable(action.error)
    return report, actions
