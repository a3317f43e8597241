"""Request hooks and the ``obstore`` logger: delivery of one event per HTTP request.

The Rust core queues an event when a request ends (its response body read or failed), and only
while something listens: a hook registered with ``add_request_hook``, a store built with
``request_hook=``, or the ``obstore`` logger enabled. A daemon thread (``obstore-request-hooks``)
takes the queued events in batches, builds a ``RequestEvent`` for each, calls the hooks in the
order they were added (the store's own hook last) and logs. No thread of the runtime waits for
the GIL or for a hook; a hook runs shortly after its request ends, on that thread, so it must be
thread-safe and should be quick (events beyond 100,000 waiting are dropped and counted).

Logging: the ``obstore`` logger has a ``NullHandler``, so nothing is printed unless the
application configures logging. It takes one DEBUG record per request and one WARNING per retry
(a request sent again: ``attempt > 1``), with the event's fields as record attributes (``extra``).
URLs carry no user information, and query values other than listing and upload parameters are
``REDACTED`` (signatures, SAS tokens); no header is recorded. The core learns whether the
logger is enabled from this module: at once when a hook is added or removed or a store is
built, and otherwise within a second (an operation on a network store asks again when the last
answer is more than a second old; the delivery thread asks twice a second while it runs).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import _obstore

if TYPE_CHECKING:
    import logging

    from ._events import RequestEvent

__all__ = [
    "RequestHook",
    "RequestHookHandle",
    "add_request_hook",
    "flush_request_hooks",
]

_LOG_OFF, _LOG_WARNING, _LOG_DEBUG = 0, 1, 2
_made_logger: logging.Logger | None = None
_logger_lock = threading.Lock()  # the delivery thread and a caller may ask first together


def _logger() -> logging.Logger:
    """The ``obstore`` logger, given one ``NullHandler`` when first asked for."""
    global _made_logger
    if _made_logger is None:
        import logging

        with _logger_lock:
            if _made_logger is None:
                logger = logging.getLogger("obstore")
                logger.addHandler(logging.NullHandler())
                _made_logger = logger
    return _made_logger


def _logger_if_configurable() -> logging.Logger | None:
    """The ``obstore`` logger once the application can have configured it, else ``None``:
    nothing configures it before ``logging`` is imported, and importing ``logging`` measured
    4.4 ms of ``import obstore``."""
    if _made_logger is None and "logging" not in sys.modules:
        return None
    return _logger()


RequestHook = Callable[["RequestEvent"], object]
"""A request hook: called with each ``RequestEvent``; its result is ignored."""

_lock = threading.Lock()
_hooks: list[RequestHook] = []
_thread: threading.Thread | None = None
_handled = 0
_handled_changed = threading.Condition(threading.Lock())
_dropped_reported = 0


class RequestHookHandle:
    """What ``add_request_hook`` returns: ``remove()`` stops the hook's calls."""

    __slots__ = ("_hook", "_removed")

    def __init__(self, hook: RequestHook) -> None:
        self._hook = hook
        self._removed = False

    def remove(self) -> None:
        """Stop calling the hook (events already being delivered may still reach it). Calling
        it again does nothing."""
        with _lock:
            if self._removed:
                return
            self._removed = True
            for index, hook in enumerate(_hooks):
                if hook is self._hook:
                    del _hooks[index]
                    break
        _refresh()

    def __enter__(self) -> RequestHookHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()

    def __repr__(self) -> str:
        state = "removed" if self._removed else "active"
        return f"<RequestHookHandle {state} {self._hook!r}>"


def add_request_hook(hook: RequestHook) -> RequestHookHandle:
    """Call ``hook(event)`` with a ``RequestEvent`` for every HTTP request of every store.

    Hooks run on the ``obstore-request-hooks`` daemon thread, shortly after each request ends,
    in batches: never on the thread that made the request. An exception a hook raises is logged
    to the ``obstore`` logger (with its traceback) and does not affect the operation. Returns a
    handle whose ``remove()`` unregisters the hook (also usable as a context manager).
    """
    if not callable(hook):
        raise TypeError(f"hook must be a callable taking an obstore.RequestEvent, got {hook!r}")
    with _lock:
        _hooks.append(hook)
    _refresh()
    return RequestHookHandle(hook)


def _log_level() -> int:
    """What the ``obstore`` logger takes: nothing while no handler but a ``NullHandler`` would
    see its records (then the default configuration prints nothing, and costs nothing)."""
    logger = _logger_if_configurable()
    if logger is None:
        return _LOG_OFF
    import logging  # loaded: the application imported it

    if not (logger.isEnabledFor(logging.WARNING) or logger.isEnabledFor(logging.DEBUG)):
        return _LOG_OFF
    current: logging.Logger | None = logger
    handled = False
    while current is not None and not handled:
        handled = any(not isinstance(h, logging.NullHandler) for h in current.handlers)
        current = current.parent if current.propagate else None
    if not handled:
        return _LOG_OFF
    return _LOG_DEBUG if logger.isEnabledFor(logging.DEBUG) else _LOG_WARNING


def _refresh() -> None:
    """Tells the core what listens, and starts the delivery thread when anything does."""
    with _lock:
        global_hooks = len(_hooks)
    _obstore._observe_set(global_hooks, _log_level())
    _ensure_thread()


def _ensure_thread() -> None:
    global _thread
    with _lock:
        if _thread is not None and _thread.is_alive():
            return
        if not _active():
            return
        _thread = threading.Thread(
            target=_deliver_forever, name="obstore-request-hooks", daemon=True
        )
        _thread.start()


def _active() -> bool:
    produced, _dropped, _store_hooks, active = _obstore._observe_status()
    return active or produced > _handled


def _deliver_forever() -> None:
    global _thread
    from ._events import RequestEvent  # once a thread, not once an event

    last_refresh = time.monotonic()
    while True:
        batch = _obstore._observe_take(0.5)
        if batch:
            with _lock:
                hooks = list(_hooks)
            logger = _logger_if_configurable()
            logging_on = logger is not None and logger.isEnabledFor(30)  # logging.WARNING
            for fields in batch:
                event = RequestEvent(*fields[:13])
                _deliver(event, fields[13], hooks, logging_on)
        _note_handled(len(batch))
        if time.monotonic() - last_refresh >= 0.5:
            last_refresh = time.monotonic()
            with _lock:
                global_hooks = len(_hooks)
            _obstore._observe_set(global_hooks, _log_level())
        if not batch:
            with _lock:
                if not _active():
                    _thread = None
                    return


def _note_handled(count: int) -> None:
    global _handled, _dropped_reported
    produced, dropped, _store_hooks, _active_now = _obstore._observe_status()
    if dropped > _dropped_reported:
        _logger().warning(
            "%d request events were dropped: the request hooks fell behind",
            dropped - _dropped_reported,
        )
    with _handled_changed:
        # Dropped events count as handled: nothing will deliver them.
        _handled += count + (dropped - _dropped_reported)
        _dropped_reported = dropped
        _handled_changed.notify_all()


def flush_request_hooks(timeout: float = 5.0) -> bool:
    """Wait until every request event queued so far has been delivered to the hooks and the
    logger. Returns ``False`` if that takes longer than ``timeout`` seconds."""
    produced, _dropped, _store_hooks, _active_now = _obstore._observe_status()
    _ensure_thread()
    deadline = time.monotonic() + timeout
    with _handled_changed:
        while _handled < produced:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _handled_changed.wait(min(left, 0.1))
    return True


_FIELDS = (
    "store",
    "operation",
    "method",
    "url",
    "path",
    "status",
    "attempt",
    "bytes_sent",
    "bytes_received",
    "duration",
    "error",
    "start_time",
)


def _deliver(
    event: RequestEvent, store_hook: object, hooks: list[RequestHook], logging_on: bool
) -> None:
    if store_hook is not None:
        hooks = [*hooks, store_hook]  # type: ignore[list-item]
    for hook in hooks:
        try:
            hook(event)
        except Exception:
            _logger().exception(
                "request hook %r raised on %s %s (the operation is not affected)",
                hook,
                event.method,
                event.url,
            )
    if logging_on:
        _log(event)


def _log(event: RequestEvent) -> None:
    extra = {name: getattr(event, name) for name in _FIELDS}
    outcome = event.error if event.error is not None else event.status
    logger = _logger()
    if logger.isEnabledFor(10):  # logging.DEBUG
        logger.debug(
            "%s %s %s -> %s (%s, attempt %d, %d bytes sent, %d received, %.1f ms)",
            event.operation,
            event.method,
            event.url,
            outcome,
            event.store,
            event.attempt,
            event.bytes_sent,
            event.bytes_received,
            event.duration * 1000,
            extra=extra,
        )
    if event.attempt > 1:
        logger.warning(
            "retry %d of %s %s %s -> %s (%s)",
            event.attempt - 1,
            event.operation,
            event.method,
            event.url,
            outcome,
            event.store,
            extra=extra,
        )


def _after_fork_in_child() -> None:
    """The delivery thread does not exist in a forked child; the next refresh starts one."""
    global _thread, _lock, _logger_lock, _handled, _dropped_reported, _handled_changed
    _thread = None
    _lock = threading.Lock()
    _logger_lock = threading.Lock()
    _handled_changed = threading.Condition(threading.Lock())
    _handled = 0
    _dropped_reported = 0


os.register_at_fork(after_in_child=_after_fork_in_child)
_obstore._observe_configure(_refresh)
