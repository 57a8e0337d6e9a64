"""Character-level language model: a stacked LSTM learns the license text pandas ships with.

The text is the license file in the installed pandas distribution's metadata folder
(``pandas-*.dist-info/LICENSE``: pandas' BSD license followed by the licenses of the code it
bundles, about 62,000 characters), read with `importlib.metadata`; ``--package`` picks another
installed distribution. The first 90% trains, the last 10% validates. Two stacked LSTM layers
with dropout between them read windows of one-hot characters and give, at every step, a
softmax over the next character (`forecasting.nn.classifier.build_classifier` with
``output="sequence"``); Adam clips the gradients by their global norm. The script prints the
validation perplexity next to a unigram model's (character frequencies of the training text,
add-one smoothed), then samples a few characters from the network. Run::

    .venv/bin/python examples/char_lm.py [--epochs 20] [--width 64] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Sequence
from importlib import metadata
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from forecasting.nn.classifier import build_classifier
from forecasting.speed import fast_training_options


def license_text(package: str = "pandas") -> tuple[str, str]:
    """The license text in the metadata folder of an installed distribution, and its path.

    Raises
    ------
    ValueError
        When the distribution is not installed or ships no license file.
    """
    try:
        files = metadata.distribution(package).files or []
    except metadata.PackageNotFoundError:
        raise ValueError(
            f"no installed distribution named {package!r}; pass --package with one "
            "that `pip list` shows, such as pandas."
        ) from None
    for file in sorted(files, key=lambda f: len(str(f))):
        in_metadata = any(part.endswith(".dist-info") for part in file.parts)
        if in_metadata and file.name.upper().startswith(("LICENSE", "COPYING")):
            return file.read_text(encoding="utf-8"), str(file)
    raise ValueError(
        f"the {package!r} distribution ships no LICENSE or COPYING file in its "
        "metadata folder; pass --package with another one, such as pandas."
    )


def windows(ids: np.ndarray, width: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``ids[s : s + width]`` and next-character targets ``ids[s + 1 : s + width + 1]``.

    One pair per start ``s = 0, stride, 2 * stride, ...`` that fits; shapes (n, width).
    """
    starts = np.arange(0, len(ids) - width, stride)
    index = starts[:, None] + np.arange(width)
    return ids[index], ids[index + 1]


def unigram_perplexity(train: np.ndarray, targets: np.ndarray, size: int) -> float:
    """Perplexity on `targets` of the add-one-smoothed character frequencies of `train`."""
    counts = np.bincount(train, minlength=size) + 1.0
    log_p = np.log(counts / counts.sum())
    return math.exp(-float(log_p[targets].mean()))


def sample(
    model: Any, context: np.ndarray, length: int, size: int, temperature: float, seed: int
) -> list[int]:
    """Draw `length` characters, each from the softmax after the last `width` characters."""
    rng = np.random.default_rng(seed)
    eye = np.eye(size, dtype=np.float32)
    window = list(context)
    drawn = []
    for _ in range(length):
        probs = np.asarray(model.predict_on_batch(eye[np.array(window)][None]))[0, -1]
        logits = np.log(np.maximum(probs, 1e-12)) / temperature
        weights = np.exp(logits - logits.max())
        drawn.append(int(rng.choice(size, p=weights / weights.sum())))
        window = [*window[1:], drawn[-1]]
    return drawn


def run(
    package: str = "pandas",
    width: int = 64,
    units: Sequence[int] = (128, 128),
    dropout: float = 0.2,
    global_clipnorm: float = 5.0,
    epochs: int = 20,
    batch_size: int = 32,
    sample_length: int = 160,
    temperature: float = 0.5,
    max_chars: int | None = None,
    seed: int = 0,
    verbose: bool = True,
) -> dict[str, Any]:
    """Train the character model and score it on the last 10% of the text.

    Every validation character is scored once, from at least ``width // 2`` characters before
    it: windows overlap by half, each scores the targets of its second half (the first
    window's context comes from the end of the training text).

    Returns
    -------
    dict
        ``perplexity`` and ``baseline`` (unigram) on the validation characters, ``sample``
        (the drawn text), ``source`` (the file read), ``seconds`` (training time).
    """
    if width < 2:
        raise ValueError(f"--width must be at least 2 characters; got {width}.")
    text, source = license_text(package)
    text = text[:max_chars]
    if len(text) < 20 * width:
        raise ValueError(
            f"{source} has {len(text)} characters, too few for windows of {width}; "
            f"pass --width {max(2, len(text) // 20)} or less."
        )
    import keras

    keras.utils.set_random_seed(seed)
    alphabet = sorted(set(text))  # the character set of the whole file, like a fixed vocabulary
    size = len(alphabet)
    lookup = {char: position for position, char in enumerate(alphabet)}
    ids = np.array([lookup[char] for char in text])
    cut = int(0.9 * len(ids))
    train_ids, val_ids = ids[:cut], ids[cut:]
    half = width // 2

    x_train, y_train = windows(train_ids, width, half)
    stream = np.concatenate([train_ids[-half:], val_ids])
    x_val, y_val = windows(stream, width, half)
    y_val = y_val[:, half - 1 : width - 1]  # targets with at least `half` characters before them
    eye = np.eye(size, dtype=np.float32)

    model = build_classifier(
        width,
        size,
        size,
        units=units,
        dropout=dropout,
        output="sequence",
        learning_rate=3e-3,
        global_clipnorm=global_clipnorm,
        seed=seed,
        **fast_training_options("lstm", width, 1, units),
    )
    start = time.perf_counter()
    model.fit(eye[x_train], y_train, batch_size=batch_size, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start

    probs = model.predict(eye[x_val], batch_size=256, verbose=0)[:, half - 1 : width - 1]
    picked = np.take_along_axis(probs, y_val[..., None], axis=-1)
    perplexity = math.exp(-float(np.log(np.maximum(picked, 1e-12)).mean()))
    baseline = unigram_perplexity(train_ids, y_val.ravel(), size)
    drawn = sample(model, train_ids[-width:], sample_length, size, temperature, seed)
    sampled = "".join(alphabet[i] for i in drawn)
    if verbose:
        print(f"text: {source} from the installed {package!r} distribution, {len(text)} characters")
        print(
            f"LSTM {tuple(units)}, dropout {dropout}, global norm clip {global_clipnorm}, "
            f"windows of {width}: {epochs} epochs in {seconds:.1f} s"
        )
        print(f"validation perplexity {perplexity:.2f}  ({y_val.size} characters)")
        print(f"unigram baseline      {baseline:.2f}  ({size} distinct characters)")
        print(f"sample (temperature {temperature}) after {text[cut - 40 : cut]!r}:")
        print(sampled)
    return {
        "perplexity": perplexity,
        "baseline": baseline,
        "sample": sampled,
        "source": source,
        "seconds": seconds,
    }


def _positive(text: str) -> int:
    """An argparse type: a positive integer."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}")
    return value


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default="pandas", help="installed distribution to read")
    parser.add_argument(
        "--width", type=_positive, default=64, help="characters per training window"
    )
    parser.add_argument(
        "--units", type=_positive, nargs="+", default=[128, 128], help="units per layer"
    )
    parser.add_argument("--epochs", type=_positive, default=20)
    parser.add_argument("--temperature", type=float, default=0.5, help="of the sampling")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.temperature <= 0:
        parser.error(f"--temperature must be positive; got {args.temperature}.")
    try:
        return run(
            package=args.package,
            width=args.width,
            units=tuple(args.units),
            epochs=args.epochs,
            temperature=args.temperature,
            seed=args.seed,
        )
    except ValueError as error:
        parser.error(str(error))


if __name__ == "__main__":
    main()
