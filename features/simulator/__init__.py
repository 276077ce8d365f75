"""A simulated customer-success world written in the raw data contract, with its ground truth kept apart.

The simulation itself (numpy, pandas, pyarrow) is imported on first use of one of its names, so that
``csat`` and its help start without it; the configuration is light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from features.simulator.config import SCENARIOS, SimulationConfig, WorldParams

if TYPE_CHECKING:
    from features.simulator.world import GROUND_TRUTH_DIR, TABLES, SimulationResult, simulate

#: The names of :mod:`features.simulator.world`, imported on first use.
_LAZY = ("GROUND_TRUTH_DIR", "TABLES", "SimulationResult", "simulate")

__all__ = [
    "GROUND_TRUTH_DIR",
    "SCENARIOS",
    "TABLES",
    "SimulationConfig",
    "SimulationResult",
    "WorldParams",
    "simulate",
]


def __getattr__(name: str) -> Any:
    """Import a name of the simulation on first use.

    Args:
        name: the attribute asked for.

    Returns:
        Its value, kept in the package from then on.

    Raises:
        AttributeError: the package has no such name.

    """
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.world"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The package's names, the ones not imported yet included (for ``dir()`` and completion)."""
    return sorted(set(globals()) | set(__all__))
