"""Tests for GPU memory growth, on the GPUs TensorFlow really sees, in fresh processes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from forecasting.nn.devices import gpu_visible

pytest.importorskip("tensorflow")

_GROWTH = (
    "import json, tensorflow as tf\n"
    "from forecasting.nn.devices import configure_gpu_memory_growth\n"
    "names = configure_gpu_memory_growth()\n"
    "gpus = tf.config.list_physical_devices('GPU')\n"
    "print(json.dumps({'names': names, 'visible': [g.name for g in gpus],\n"
    "    'growth': [tf.config.experimental.get_memory_growth(g) for g in gpus]}))\n"
)
_TOO_LATE = (
    "import tensorflow as tf\n"
    "from forecasting.nn.devices import configure_gpu_memory_growth\n"
    "tf.zeros(1)  # initialises every visible GPU\n"
    "try:\n"
    "    configure_gpu_memory_growth()\n"
    "except RuntimeError as error:\n"
    "    print(error)\n"
)


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def test_memory_growth_is_set_on_every_visible_gpu() -> None:
    seen = json.loads(_run(_GROWTH))
    assert seen["names"] == seen["visible"]  # an empty list on a machine without a GPU
    assert all(seen["growth"])


@pytest.mark.skipif(not gpu_visible(), reason="needs a GPU visible to TensorFlow")
def test_memory_growth_after_the_gpu_started_is_explained() -> None:
    message = _run(_TOO_LATE)
    assert message.startswith("Cannot enable memory growth on /physical_device:GPU:0: the GPU")
    assert "Call `configure_gpu_memory_growth()` at the start of the program" in message
