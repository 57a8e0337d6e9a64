"""Check the GPU path: cuDNN kernels, mixed precision, memory growth, GPU-trained model on a CPU.

Run on a machine with an NVIDIA GPU (``pip install -e '.[gpu]'``)::

    python benchmarks/gpu_check.py [--windows 200000] [--epochs 2]

Each check prints one line ``PASS``/``FAIL``/``SKIP`` with its figures; the exit status is 1
when any check fails. On a machine without a GPU every check is skipped.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _frame(n: int) -> pd.DataFrame:
    t = np.arange(n, dtype=np.float64)
    values = np.sin(2 * np.pi * t / 24) + 0.1 * np.sin(2 * np.pi * t / 168)
    stamps = pd.date_range("2020-01-01", periods=n, freq="h")
    return pd.DataFrame({"series_id": "s", "timestamp": stamps, "value": values})


def _ops_in_forward(model: object, input_width: int) -> set[str]:
    import tensorflow as tf

    @tf.function
    def forward(x: tf.Tensor) -> tf.Tensor:
        return model(x, training=True)  # type: ignore[operator]

    graph = forward.get_concrete_function(tf.TensorSpec((None, input_width, 1), tf.float32)).graph
    found = set()
    for op in graph.get_operations():
        found.add(op.type)
        for fn in getattr(op, "_called_functions", []) or []:
            found.update(o.type for o in fn.graph.get_operations())
    for fn in graph._functions.values():  # while-loop and cond bodies
        found.update(o.type for o in fn.graph.get_operations())
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args(argv)

    from forecasting.nn import devices, networks

    gpus = devices.configure_gpu_memory_growth()
    import tensorflow as tf

    from forecasting.forecaster import Forecaster

    if not gpus:
        print("SKIP  no GPU visible to TensorFlow: nothing to check on this machine")
        return 0
    failed = False
    print(f"GPU   {gpus} tensorflow {tf.__version__}")

    # 1. The default networks run the cuDNN kernels.
    for cell in ("lstm", "gru"):
        model = networks.build_network(input_width=48, n_features=1, horizon=12, cell=cell)
        ops = _ops_in_forward(model, 48)
        cudnn = sorted(op for op in ops if "Cudnn" in op)
        ok = bool(cudnn)
        failed |= not ok
        print(f"{'PASS' if ok else 'FAIL'}  default {cell} uses cuDNN: {cudnn or 'no CudnnRNN op'}")

    # 2. Memory growth: the process holds what it uses, not the whole card.
    frame = _frame(args.windows + 60)
    timings = {}
    for policy in ("float32", "mixed_float16"):
        model = Forecaster(
            horizon=12,
            input_width=48,
            units=(128, 128),
            epochs=args.epochs,
            batch_size=256,
            validation_fraction=0.0,
            patience=args.epochs + 1,
            max_steps_per_epoch=None,
            precision=policy,
            verbose=0,
        )
        start = time.perf_counter()
        model.fit(frame)
        timings[policy] = time.perf_counter() - start
        loss = model.history_["loss"][-1]
        ok = np.isfinite(loss)
        failed |= not ok
        print(
            f"{'PASS' if ok else 'FAIL'}  fit under {policy}: {timings[policy]:.1f} s "
            f"for {args.epochs} epochs of {model.n_windows_} windows, final loss {loss:.4g}"
        )
    info = tf.config.experimental.get_memory_info("GPU:0")
    free_total = subprocess.run(
        ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    total_mib = float(free_total[0]) if free_total else float("nan")
    peak_mib = info["peak"] / 2**20
    ok = peak_mib < 0.5 * total_mib
    failed |= not ok
    print(
        f"{'PASS' if ok else 'FAIL'}  memory growth: peak {peak_mib:.0f} MiB of "
        f"{total_mib:.0f} MiB; mixed_float16 / float32 fit time "
        f"{timings['mixed_float16'] / timings['float32']:.2f}"
    )

    # 3. A model trained on the GPU loads and predicts on a CPU.
    with tempfile.TemporaryDirectory() as tmp:
        model = Forecaster(horizon=12, input_width=48, units=(32, 32), epochs=1, verbose=0)
        model.fit(_frame(5000))
        folder = model.save(Path(tmp) / "gpu-model")
        history = _frame(5000)
        history.to_csv(Path(tmp) / "history.csv", index=False)
        expected = model.predict(history)["value"].to_numpy()
        code = (
            "import sys, numpy as np, pandas as pd\n"
            "import tensorflow as tf\n"
            "assert not tf.config.list_physical_devices('GPU')\n"
            "from forecasting.forecaster import Forecaster\n"
            f"m = Forecaster.load({str(folder)!r})\n"
            f"h = pd.read_csv({str(Path(tmp) / 'history.csv')!r}, parse_dates=['timestamp'])\n"
            "x = np.zeros((1, 48, 1), np.float32)\n"
            "m.keras_model().predict_on_batch(x)\n"
            "print(' '.join(map(repr, m.predict(h)['value'])))\n"
        )
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
        )
        if out.returncode != 0:
            failed = True
            print(f"FAIL  GPU-trained model on CPU: {out.stderr.strip().splitlines()[-1:]}")
        else:
            got = np.array([float(v) for v in out.stdout.split()])
            gap = float(np.max(np.abs(got - expected)))
            ok = gap < 1e-3
            failed |= not ok
            print(
                f"{'PASS' if ok else 'FAIL'}  GPU-trained model predicts on CPU: max gap {gap:.2e}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
