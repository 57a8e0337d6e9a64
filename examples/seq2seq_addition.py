"""Sequence-to-sequence addition: an encoder-decoder LSTM learns to add from strings.

Questions such as ``"123+45"`` and answers such as ``"168"`` are strings of characters, one
one-hot vector per character, padded with spaces to fixed widths. The encoder reads the
question (reversed, which shortens the path from the last digits to the first answer digit)
and the seq2seq head decodes one character per answer position
(`forecasting.nn.classifier.build_classifier` with ``output="seq2seq"``). The sums held out for the
test are pairs of numbers never seen in training, in either order. The script prints the
exact-match accuracy (every character of the answer right) next to the baseline that always
gives the most frequent training answer. Run::

    .venv/bin/python examples/seq2seq_addition.py [--digits 3] [--epochs 30] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from forecasting.nn.classifier import build_classifier
from forecasting.speed import fast_training_options

ALPHABET = "0123456789+ "


def addition_pairs(digits: int, count: int, seed: int = 0) -> np.ndarray:
    """``count`` distinct pairs ``(a, b)`` of numbers of 1 to `digits` digits, shape (count, 2).

    Each number gets a random length, then random digits, so short numbers are as common as
    long ones. No two pairs are equal, nor one the other swapped.
    """
    rng = np.random.default_rng(seed)
    largest = (10**digits) ** 2 // 2  # a little under the n (n + 1) / 2 distinct pairs
    if count > largest:
        raise ValueError(
            f"--count must be at most {largest} for {digits} digits; got {count}. "
            "Pass a smaller --count or a larger --digits."
        )
    seen: set[tuple[int, int]] = set()
    pairs: list[tuple[int, int]] = []
    while len(pairs) < count:
        a, b = (int(rng.integers(0, 10 ** rng.integers(1, digits + 1))) for _ in range(2))
        key = (min(a, b), max(a, b))
        if key not in seen:
            seen.add(key)
            pairs.append((a, b))
    return np.array(pairs)


def encode(texts: Sequence[str], width: int) -> np.ndarray:
    """Texts as class indices into `ALPHABET`, right-padded with spaces: shape (n, width)."""
    index = {char: position for position, char in enumerate(ALPHABET)}
    return np.array([[index[char] for char in text.ljust(width)] for text in texts])


def decode(indices: np.ndarray) -> list[str]:
    """Rows of class indices back to texts, padding stripped."""
    return ["".join(ALPHABET[i] for i in row).strip() for row in indices]


def run(
    digits: int = 3,
    count: int = 20000,
    test_fraction: float = 0.1,
    units: Sequence[int] = (128,),
    epochs: int = 30,
    batch_size: int = 64,
    reverse: bool = True,
    seed: int = 0,
    verbose: bool = True,
) -> dict[str, float]:
    """Train the adder on `count` distinct sums and score exact matches on the held-out ones.

    Returns
    -------
    dict
        ``exact_match`` and ``char_accuracy`` on the held-out sums, ``baseline`` (exact match
        of the most frequent training answer), ``seconds`` (training time).
    """
    import keras

    keras.utils.set_random_seed(seed)
    pairs = addition_pairs(digits, count, seed)
    questions = [f"{a}+{b}" for a, b in pairs]
    answers = [str(a + b) for a, b in pairs]
    q_width, a_width = 2 * digits + 1, digits + 1
    x = encode(questions, q_width)
    if reverse:
        x = x[:, ::-1]
    x_onehot = np.eye(len(ALPHABET), dtype=np.float32)[x]
    y = encode(answers, a_width)
    n_test = max(1, round(test_fraction * count))
    x_train, x_test = x_onehot[:-n_test], x_onehot[-n_test:]
    y_train, y_test = y[:-n_test], y[-n_test:]

    model = build_classifier(
        q_width,
        len(ALPHABET),
        len(ALPHABET),
        units=units,
        output="seq2seq",
        output_steps=a_width,
        learning_rate=3e-3,
        seed=seed,
        **fast_training_options("lstm", q_width, a_width, units, head="seq2seq"),
    )
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start

    predicted = model.predict(x_test, batch_size=512, verbose=0).argmax(axis=-1)
    exact_match = float(np.mean((predicted == y_test).all(axis=1)))
    char_accuracy = float(np.mean(predicted == y_test))
    train_answers, counts = np.unique(answers[:-n_test], return_counts=True)
    most_frequent = str(train_answers[counts.argmax()])
    baseline = float(np.mean(np.array(answers[-n_test:]) == most_frequent))
    if verbose:
        print(
            f"LSTM {tuple(units)} encoder-decoder, sums of 1 to {digits} digits: {epochs} epochs "
            f"on {len(x_train)} sums in {seconds:.1f} s"
        )
        for question, answer, guess in list(
            zip(questions[-n_test:], answers[-n_test:], decode(predicted), strict=True)
        )[:3]:
            print(f"  {question} = {guess}  ({'right' if guess == answer else answer})")
        print(
            f"exact match {exact_match:.3f}  on {n_test} held-out sums "
            f"(characters right: {char_accuracy:.3f})"
        )
        print(f"baseline    {baseline:.3f}  (always {most_frequent!r}, the most frequent answer)")
    return {
        "exact_match": exact_match,
        "char_accuracy": char_accuracy,
        "baseline": baseline,
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


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=_positive, default=3, help="most digits per number")
    parser.add_argument(
        "--count", type=_positive, default=20000, help="distinct sums; 10%% held out"
    )
    parser.add_argument("--units", type=_positive, nargs="+", default=[128], help="units per layer")
    parser.add_argument("--epochs", type=_positive, default=30)
    parser.add_argument(
        "--reverse",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="read the question backwards",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        return run(
            digits=args.digits,
            count=args.count,
            units=tuple(args.units),
            epochs=args.epochs,
            reverse=args.reverse,
            seed=args.seed,
        )
    except ValueError as error:
        parser.error(str(error))


if __name__ == "__main__":
    main()
