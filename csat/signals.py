"""SIGTERM as an exception: a job stopped by its scheduler unwinds (cleanup, MLflow runs marked failed)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


class Terminated(SystemExit):
    """SIGTERM arrived inside :func:`sigterm_unwinds`; the exit code is 128 + the signal (143)."""


def raise_terminated(signum: int, frame: FrameType | None) -> None:
    """The SIGTERM handler :func:`sigterm_unwinds` installs.

    Args:
        signum: the signal.
        frame: the interrupted frame (unused).

    Raises:
        Terminated: always; a repeated SIGTERM is ignored from then on, so that the unwinding (MLflow ending
            its runs) is not cut short (``sigterm_unwinds`` restores the default action on the way out).

    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated(128 + signum)


@contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` so that ``finally`` blocks and context managers run.

    Only when SIGTERM has its default action (end the process at once) and in the main thread: a handler
    someone else installed (an outer ``sigterm_unwinds``, a server's), or an ignored SIGTERM, is left alone.
    The default action comes back on the way out.
    """
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


class HeldSigterm:
    """SIGTERM held back between :meth:`hold` and :meth:`release`: a step once begun is finished.

    A signal that arrives meanwhile is delivered at :meth:`release` (raising :class:`Terminated` there under
    :func:`sigterm_unwinds`); as a context manager, it releases on the way out. Used where stopping half-way
    would leave a state that says something untrue: a champion alias moved by a decision run marked failed,
    say. Only in the main thread; elsewhere a no-op.
    """

    def __init__(self) -> None:
        self._previous: Any = None
        self._pending = False
        self._holding = False

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self._pending = True

    def hold(self) -> None:
        """Start holding SIGTERM back (again a no-op while held)."""
        if not self._holding and threading.current_thread() is threading.main_thread():
            # a handler, not a signal mask: any thread of the process may receive the signal
            self._previous = signal.signal(signal.SIGTERM, self._note)
            self._holding = True

    def release(self) -> None:
        """Stop holding SIGTERM back; one that arrived meanwhile is delivered now."""
        if not self._holding:
            return
        previous, self._holding = self._previous, False
        signal.signal(signal.SIGTERM, previous)
        if not self._pending:
            return
        self._pending = False
        if callable(previous):
            previous(signal.SIGTERM, None)
        elif previous == signal.SIG_DFL:
            os.kill(os.getpid(), signal.SIGTERM)

    def __enter__(self) -> HeldSigterm:
        """Nothing is held yet: :meth:`hold` inside, where the step begins."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Release on the way out, after whatever was entered later (an MLflow run) has ended."""
        self.release()
