"""From a fitted :class:`~forecasting.forecaster.Forecaster` to its light :class:`Predictor`.

The predictor holds what forecasting needs and nothing heavy: each series' affine scaling,
the network's weights for a NumPy forward pass where the cell allows it, the reference
forecast and the conformal quantiles of the validation errors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from forecasting import numpy_rnn
from forecasting.inference import Predictor
from forecasting.intervals import conformal_quantiles
from forecasting.nn.fitting import VALIDATION_BATCH

if TYPE_CHECKING:
    from forecasting.forecaster import Forecaster

__all__ = ["build_predictor", "validation_quantiles"]


def build_predictor(
    forecaster: Forecaster, weights: Sequence[dict[str, Any]] | None = None
) -> Predictor:
    """The TensorFlow- and scikit-learn-free forward path of a fitted forecaster.

    Parameters
    ----------
    forecaster : Forecaster
        Fitted; its scaler's per-series ``scale_`` and ``offset_`` become plain arrays.
    weights : sequence of dict, optional
        Each member's NumPy weights, when they are known already; by default extracted
        from its Keras networks.

    Returns
    -------
    Predictor
        Without conformal quantiles (see :func:`validation_quantiles`).
    """
    scaler = forecaster.scaler_
    ids = [str(sid) for sid in scaler.series_ids_]
    if weights is None:
        try:
            weights = [
                numpy_rnn.extract_weights(forecaster.keras_model(m))
                for m in range(len(forecaster.models_))
            ]
        except NotImplementedError:
            weights = None
    return Predictor(
        input_width=forecaster.input_width_,
        horizon=forecaster.horizon,
        freq=forecaster.freq_,
        normalize=forecaster.normalize,
        covariates=forecaster.covariates_,
        scale=dict(zip(ids, scaler.scale_, strict=True)),
        offset=dict(zip(ids, scaler.offset_, strict=True)),
        weights=weights,
        season_length=forecaster.season_length_,
        residual=forecaster.residual,
        seasons=forecaster.reference_seasons_,
        linear=forecaster.linear_,
        scaler=forecaster.scaler,
    )


def validation_quantiles(
    predictor: Predictor,
    keras_forward: Callable[[np.ndarray], np.ndarray],
    val_x: np.ndarray,
    val_y: np.ndarray,
) -> np.ndarray | None:
    """Per-step conformal quantiles of the final network's validation errors.

    The errors are in each window's normalised space (what the network outputs), so they
    transfer across series of any level.

    Parameters
    ----------
    predictor : Predictor
        Its NumPy forward pass is used when it has the weights.
    keras_forward : callable
        The Keras forward pass otherwise.
    val_x, val_y : ndarray
        The normalised validation windows and targets held out in ``fit``.

    Returns
    -------
    ndarray or None
        The quantiles; ``None`` without validation windows.
    """
    if not len(val_x):
        return None
    forward = predictor.numpy_forward if predictor.weights is not None else keras_forward
    out = np.concatenate(
        [forward(val_x[i : i + VALIDATION_BATCH]) for i in range(0, len(val_x), VALIDATION_BATCH)]
    )
    return conformal_quantiles(np.asarray(val_y, np.float64) - np.asarray(out, np.float64))
