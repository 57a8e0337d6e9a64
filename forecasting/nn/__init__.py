"""Keras and TensorFlow: the only place the library imports them.

Networks (:func:`build_network`, :func:`build_classifier`), the training loop
(:func:`fit_network`), devices and precision, and saving and loading a network beside its NumPy
Predictor (:func:`load_for_prediction` loads a saved folder without TensorFlow where it can).
Importing this package does not import TensorFlow: each function imports it when it runs.
"""

from forecasting.nn.classifier import build_classifier
from forecasting.nn.devices import configure_gpu_memory_growth, gpu_visible, set_precision
from forecasting.nn.fitting import FittedNetwork, fit_network
from forecasting.nn.networks import build_network
from forecasting.nn.persistence import load_for_prediction

__all__ = [
    "FittedNetwork",
    "build_classifier",
    "build_network",
    "configure_gpu_memory_growth",
    "fit_network",
    "gpu_visible",
    "load_for_prediction",
    "set_precision",
]
