"""SIGTERM as an exception: a job stopped by its scheduler unwinds (cleanup, MLflow runs marked failed)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Terminated(SystemExit):
    """SIGTERM arrived inside :func:`sigterm_unwinds`; the exit code is 128 + the signal (143)."""


def raise_terminated(signum: int, frame: FrameType | None) -> None:
    """The SIGTERM handler :func:`sigterm_unwinds` installs.

    Args:
        signum: the signal.
        frame: the interrupted frame (unused).

    Raises:
        Terminated: always.

    """
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
