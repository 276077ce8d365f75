"""How many CPUs this process may use, for the feature store's threads."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity where the system has one, else every CPU; 1 at least.

    ``os.cpu_count()`` counts the machine's CPUs, also those a container or ``taskset`` keeps the process
    off; threads beyond those only take turns.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no sched_getaffinity (macOS, Windows)
        return max(1, os.cpu_count() or 1)
