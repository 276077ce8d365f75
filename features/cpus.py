"""How many CPUs this process may use, for the feature store's threads."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """The CPUs the calling thread may run on (its affinity: a cpuset, ``taskset``), else all; 1 at least.

    ``os.cpu_count()`` counts the machine's CPUs, also those a cpuset keeps the process off; threads beyond
    those only take turns. A CPU quota (``docker --cpus``, Kubernetes limits) is not an affinity and is not
    counted.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no sched_getaffinity (macOS, Windows)
        return max(1, os.cpu_count() or 1)
