"""The calibrated predictor each child run logs as ``pyfunc``, in MLflow's models-from-code form.

MLflow runs this file when the model is logged and again when it is loaded (nothing is pickled): it declares
the model with :func:`mlflow.models.set_model`. Do not import it; :mod:`training.tracking` logs it by path
(MLflow code lives in that package alone).
Its artifacts: ``booster`` (the native LightGBM model file) and ``spec`` (the serving spec).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightgbm as lgb
import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

from training.train import Calibrator, FittedModel


class CalibratedBooster(PythonModel):  # type: ignore[misc]
    """Scores store-format rows like the service: the booster's probabilities, calibrated."""

    def load_context(self, context: Any) -> None:
        """Rebuild the fitted model from the logged booster file and serving spec.

        Args:
            context: MLflow's context, with the ``booster`` and ``spec`` artifact paths.

        """
        spec = json.loads(Path(context.artifacts["spec"]).read_text(encoding="utf-8"))
        self.model = FittedModel(
            feature_set=spec["feature_set"],
            features=spec["features"],
            categorical=spec["categorical"],
            levels=spec["category_levels"],
            booster=lgb.Booster(model_file=context.artifacts["booster"]),
            params={},
            best_iteration=int(spec["best_iteration"]),
            calibrator=Calibrator.from_dict(spec["calibrator"]),
        )

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        """Calibrated probabilities of rows in the store's format (categories as text).

        Args:
            context: MLflow's context (unused).
            model_input: the rows.
            params: unused.

        Returns:
            One probability per row.

        """
        return self.model.predict(model_input)  # the fitted model's own matrix, booster and calibrator


set_model(CalibratedBooster())
