"""The feature store's threads count the CPUs the process may run on."""

from __future__ import annotations

import pytest

from features import cpus


def test_the_cpus_are_those_the_process_may_run_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpus.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(cpus.os, "sched_getaffinity", lambda pid: {3}, raising=False)  # as `taskset -c 3`
    assert cpus.usable_cpus() == 1

    def refused(pid: int) -> set[int]:
        raise OSError("no affinity here")

    monkeypatch.setattr(cpus.os, "sched_getaffinity", refused)
    assert cpus.usable_cpus() == 8
    monkeypatch.delattr(cpus.os, "sched_getaffinity", raising=False)  # macOS, Windows
    assert cpus.usable_cpus() == 8
    monkeypatch.setattr(cpus.os, "cpu_count", lambda: None)  # undeterminable
    assert cpus.usable_cpus() == 1
