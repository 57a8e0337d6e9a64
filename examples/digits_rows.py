"""Row-by-row digit classifier: a recurrent network reads each image as a sequence of rows.

scikit-learn's bundled handwritten digits (`sklearn.datasets.load_digits`: 1797 images of
8x8 pixels, no download) become sequences of 8 steps, one row of 8 pixels per step. A stacked
LSTM reads the rows top to bottom and a softmax over its last state names the digit
(`forecasting.nn.classifier.build_classifier` with ``output="last"``). A stratified quarter of the
images is held out; the script prints the test accuracy next to the majority-class baseline
(always answer the most frequent training digit). Run::

    .venv/bin/python examples/digits_rows.py [--cell rnn] [--epochs 40] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from forecasting.nn.classifier import build_classifier
from forecasting.speed import fast_training_options

ROWS = PIXELS = 8


def digit_rows(
    seed: int = 0, test_size: float = 0.25
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits as row sequences ``(n, 8, 8)`` scaled to [0, 1], split stratified by label.

    Returns
    -------
    x_train, x_test, y_train, y_test : numpy.ndarray
        Images (float32) and their digits (int).
    """
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)  # pixel values are 0..16
    split: list[np.ndarray] = train_test_split(
        images, digits.target, test_size=test_size, stratify=digits.target, random_state=seed
    )
    x_train, x_test, y_train, y_test = split
    return x_train, x_test, y_train, y_test


def run(
    cell: str = "lstm",
    units: Sequence[int] = (64,),
    epochs: int = 40,
    batch_size: int = 32,
    seed: int = 0,
    verbose: bool = True,
) -> dict[str, float]:
    """Train the row-by-row classifier and score it on the held-out digits.

    Returns
    -------
    dict
        ``accuracy`` (test), ``baseline`` (majority class on the test set), ``seconds``
        (training time).
    """
    import keras

    keras.utils.set_random_seed(seed)
    x_train, x_test, y_train, y_test = digit_rows(seed)
    model = build_classifier(
        ROWS,
        PIXELS,
        10,
        cell=cell,
        units=units,
        output="last",
        learning_rate=3e-3,
        seed=seed,
        **fast_training_options(cell, ROWS, 1, units),
    )
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start

    predicted = model.predict(x_test, batch_size=256, verbose=0).argmax(axis=1)
    accuracy = float(np.mean(predicted == y_test))
    majority = int(np.bincount(y_train).argmax())
    baseline = float(np.mean(y_test == majority))
    if verbose:
        print(
            f"{cell.upper()} {tuple(units)} reading {ROWS} rows of {PIXELS} pixels: "
            f"{epochs} epochs on {len(x_train)} digits in {seconds:.1f} s"
        )
        print(f"test accuracy           {accuracy:.3f}  ({len(x_test)} held-out digits)")
        print(f"majority-class baseline {baseline:.3f}  (always {majority})")
    return {"accuracy": accuracy, "baseline": baseline, "seconds": seconds}


def _positive(text: str) -> int:
    """An argparse type: a positive integer."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return value


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=("lstm", "gru", "rnn"), default="lstm")
    parser.add_argument("--units", type=_positive, nargs="+", default=[64], help="units per layer")
    parser.add_argument("--epochs", type=_positive, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    return run(cell=args.cell, units=tuple(args.units), epochs=args.epochs, seed=args.seed)


if __name__ == "__main__":
    main()
