"""A simulated customer-success world written in the raw data contract, with its ground truth kept apart.

The simulation itself (numpy, pandas, pyarrow) is imported on first use of one of its names, so that
``csat`` and its help start without it; the configuration is light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from features.lazy import lazy_exports
from features.simulator.config import SCENARIOS, SimulationConfig, WorldParams

if TYPE_CHECKING:
    from features.simulator.world import GROUND_TRUTH_DIR, TABLES, SimulationResult, simulate

#: The names of :mod:`features.simulator.world`, imported on first use, by submodule.
_LAZY = dict.fromkeys(("GROUND_TRUTH_DIR", "TABLES", "SimulationResult", "simulate"), "world")

__all__ = [
    "GROUND_TRUTH_DIR",
    "SCENARIOS",
    "TABLES",
    "SimulationConfig",
    "SimulationResult",
    "WorldParams",
    "simulate",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY, __all__)
