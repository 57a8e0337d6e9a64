"""The machine TensorFlow trains on: visible GPUs, GPU memory growth, the dtype policy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from forecasting.checks import check_choice
from forecasting.parameters import PRECISIONS

__all__ = [
    "configure_gpu_memory_growth",
    "gpu_visible",
    "precision",
    "set_precision",
]


def gpu_visible() -> bool:
    """Whether TensorFlow sees a GPU (imports TensorFlow).

    Returns
    -------
    bool
        True when at least one GPU is visible to TensorFlow.
    """
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def set_precision(policy: str = "float32") -> None:
    """Set the global Keras dtype policy for networks built afterwards.

    ``"mixed_float16"`` speeds up training on NVIDIA GPUs with tensor cores (Keras then wraps
    the optimizer in a loss-scale optimizer); ``"mixed_bfloat16"`` suits TPUs and recent CPUs
    and GPUs. `forecasting.nn.networks.build_network` keeps its output layer in float32 under
    every policy. `forecasting.Forecaster` sets its own ``precision`` while it fits, and
    restores the global policy afterwards (see :func:`precision`).

    Parameters
    ----------
    policy : {"float32", "mixed_float16", "mixed_bfloat16"}
        The global policy; ``"float32"`` restores the default.
    """
    policy = check_choice("policy", policy, PRECISIONS)
    import keras

    keras.mixed_precision.set_global_policy(policy)


@contextmanager
def precision(policy: str) -> Iterator[None]:
    """Build and train under the dtype policy ``policy``; the previous one is restored after."""
    import keras

    previous = keras.config.dtype_policy().name
    set_precision(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def configure_gpu_memory_growth() -> list[str]:
    """Let TensorFlow allocate GPU memory as needed instead of reserving it all up front.

    Call it first, before any model is built or any tensor is created: TensorFlow cannot
    change the setting once a GPU is initialised. Does nothing on a machine without a GPU.

    Returns
    -------
    list of str
        Names of the GPUs configured (empty without a GPU).
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError as error:
            raise RuntimeError(
                f"Cannot enable memory growth on {gpu.name}: the GPU is already initialised. "
                "Call `configure_gpu_memory_growth()` at the start of the program, before "
                "building a model."
            ) from error
    return [gpu.name for gpu in gpus]
