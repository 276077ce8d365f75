"""One month of a simulation in progress: everything a month's tables are drawn from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.simulator.entities import Cast
from features.simulator.latent import Latent


@dataclass(frozen=True)
class Month:
    """The random stream, the cast, the hidden state, and which month of the world this is."""

    rng: np.random.Generator
    cast: Cast
    latent: Latent
    index: int
    start: pd.Timestamp
    world_end: np.datetime64
    feedback: float = 1.0  # how strongly last month's health shows in usage, tickets and invoices

    @property
    def active(self) -> np.ndarray:
        """Per account: still a customer when the month begins."""
        return self.latent.active_until > np.datetime64(self.start, "s")
