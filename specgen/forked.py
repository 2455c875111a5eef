"""One call run in a forked process, beside the caller, on another core.

``specgen build`` checks the sources while it renders, and ``specgen
check`` validates the examples while it lints: each after one shared load,
which the child inherits. The child sends back the call's result (or the
exception it met, as text) and ends without running exit handlers, so it
never writes a cache the parent also writes.
"""

from __future__ import annotations

import os
import traceback
from typing import Any, Callable, Generic, TypeVar

__all__ = ["Forked", "can_fork"]

T = TypeVar("T")


def can_fork() -> bool:
    """Whether a second core and ``fork`` are at hand."""
    return hasattr(os, "fork") and len(os.sched_getaffinity(0)) > 1


class Forked(Generic[T]):
    """``call(*args)`` started in a forked child; :meth:`result` waits."""

    def __init__(self, call: Callable[..., T], *args: Any) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_run, args=(send, call, args), daemon=True)
        self._process.start()
        send.close()

    def result(self) -> T:
        """The call's result; an exception it met is raised here."""
        try:
            outcome = self._receive.recv()
        except EOFError:
            self._process.join()
            outcome = RuntimeError(f"the forked process ended without an answer (exit status {self._process.exitcode})")
        finally:
            self._receive.close()
            self._process.join()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def stop(self) -> None:
        """End the child unanswered (the caller no longer needs it)."""
        self._process.terminate()
        self._process.join()
        self._receive.close()


def _run(send, call: Callable[..., Any], args: tuple) -> None:
    try:
        outcome = call(*args)
    except Exception:
        outcome = RuntimeError(f"{getattr(call, '__name__', 'the call')} failed in its process:\n"
                               + traceback.format_exc())
    send.send(outcome)
    send.close()
