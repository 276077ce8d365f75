"""A simulated customer-success world written in the raw data contract, with its ground truth kept apart."""

from features.simulator.config import SCENARIOS, SimulationConfig, WorldParams
from features.simulator.simulate import GROUND_TRUTH_DIR, TABLES, SimulationResult, simulate

__all__ = [
    "GROUND_TRUTH_DIR",
    "SCENARIOS",
    "TABLES",
    "SimulationConfig",
    "SimulationResult",
    "WorldParams",
    "simulate",
]
