"""The classic experiments in examples/, end to end at tiny sizes: each beats its baseline."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from forecasting.nn.classifier import CLASSIFIER_OUTPUTS, build_classifier

keras = pytest.importorskip("keras")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` (the folder is not a package)."""
    module_name = f"example_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


def _rmse_lines(output: str) -> tuple[float, float]:
    """The model's and the naive forecast's test RMSE printed by sine.py and sin_to_cos.py."""
    model = re.search(r"^test RMSE\s+([0-9.]+)", output, re.MULTILINE)
    naive = re.search(r"^naive RMSE\s+([0-9.]+)", output, re.MULTILINE)
    assert model and naive, output
    return float(model.group(1)), float(naive.group(1))


def test_sine_beats_the_naive_forecast(capsys: pytest.CaptureFixture[str]) -> None:
    _example("sine").main(["--epochs", "2", "--seed", "0"])
    model, naive = _rmse_lines(capsys.readouterr().out)
    assert model < 0.5 * naive, f"sine.py --epochs 2 --seed 0: RMSE {model} vs naive {naive}"


def test_sin_to_cos_beats_the_naive_forecast(capsys: pytest.CaptureFixture[str]) -> None:
    _example("sin_to_cos").main(["--epochs", "8", "--length", "1500", "--seed", "0"])
    model, naive = _rmse_lines(capsys.readouterr().out)
    assert model < naive, f"sin_to_cos.py --epochs 8 --length 1500: RMSE {model} vs {naive}"


def test_digits_rows_beats_the_majority_class(capsys: pytest.CaptureFixture[str]) -> None:
    result = _example("digits_rows").run(units=(16,), epochs=12, seed=0)
    assert 0.05 < result["baseline"] < 0.15  # ten nearly balanced classes
    assert result["accuracy"] > result["baseline"] + 0.5, result
    assert "majority-class baseline" in capsys.readouterr().out


def test_seq2seq_addition_beats_the_most_frequent_answer() -> None:
    addition = _example("seq2seq_addition")
    result = addition.run(
        digits=2, count=4000, units=(64,), epochs=15, batch_size=32, seed=0, verbose=False
    )
    assert result["exact_match"] > result["baseline"] + 0.15, result
    assert result["char_accuracy"] > 0.6, result


def test_addition_pairs_are_distinct_in_either_order() -> None:
    pairs = _example("seq2seq_addition").addition_pairs(2, 2000, seed=3)
    unordered = {(min(a, b), max(a, b)) for a, b in pairs}
    assert len(unordered) == len(pairs) == 2000
    assert pairs.min() >= 0 and pairs.max() <= 99


def test_addition_text_round_trip() -> None:
    addition = _example("seq2seq_addition")
    texts = ["123+45", "7+0", "168"]
    assert addition.decode(addition.encode(texts, 7)) == texts


def test_char_lm_beats_the_unigram_model(capsys: pytest.CaptureFixture[str]) -> None:
    result = _example("char_lm").run(
        width=12, units=(32, 32), epochs=3, batch_size=16, max_chars=10000, sample_length=20
    )
    assert result["perplexity"] < 0.8 * result["baseline"], result
    assert len(result["sample"]) == 20
    assert "LICENSE" in result["source"]
    assert "unigram baseline" in capsys.readouterr().out


def test_char_lm_windows_score_each_validation_character_once() -> None:
    char_lm = _example("char_lm")
    ids = np.arange(20)
    x, y = char_lm.windows(ids, 6, 3)
    assert x.shape == y.shape == (5, 6)
    np.testing.assert_array_equal(y, x + 1)
    scored = y[:, 2:5]  # offsets half - 1 .. width - 2, as `run` scores them
    np.testing.assert_array_equal(scored.ravel(), np.arange(3, 18))


@pytest.mark.parametrize(
    ("name", "argv", "message"),
    [
        (
            "char_lm",
            ["--package", "no-such-package"],
            "no installed distribution named 'no-such-package'; pass --package with one that "
            "`pip list` shows, such as pandas.",
        ),
        ("char_lm", ["--width", "1"], "--width must be at least 2 characters; got 1."),
        (
            "seq2seq_addition",
            ["--digits", "1", "--count", "80"],
            "--count must be at most 50 for 1 digits; got 80. Pass a smaller --count or a "
            "larger --digits.",
        ),
        (
            "digits_rows",
            ["--epochs", "0"],
            "argument --epochs: must be a positive integer; got '0'",
        ),
    ],
    ids=["package", "width", "count", "epochs"],
)
def test_bad_flags_exit_2_with_one_message(
    name: str, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        _example(name).main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("output", "steps", "shape"),
    [("last", None, (2, 5)), ("sequence", None, (2, 4, 5)), ("seq2seq", 3, (2, 3, 5))],
    ids=list(CLASSIFIER_OUTPUTS),
)
def test_build_classifier_outputs_probabilities(
    output: str, steps: int | None, shape: tuple[int, ...]
) -> None:
    model = build_classifier(
        4, 3, 5, units=(6, 4), dropout=0.1, output=output, output_steps=steps, seed=0
    )
    probs = model.predict(np.zeros((2, 4, 3), dtype=np.float32), verbose=0)
    assert probs.shape == shape and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-5)


def test_build_classifier_clips_by_global_norm() -> None:
    model = build_classifier(4, 3, 5, global_clipnorm=5.0)
    assert model.optimizer.global_clipnorm == 5.0
    assert model.optimizer.clipnorm is None


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_classes": 1}, ValueError, "`n_classes` must be an integer >= 2; got 1."),
        (
            {"output": "dense"},
            ValueError,
            "`output` must be one of 'last', 'sequence', 'seq2seq'; got 'dense'.",
        ),
        (
            {"output": "seq2seq"},
            ValueError,
            "`output_steps` is required with output='seq2seq': pass the length of the decoded "
            "sequence, such as output_steps=4.",
        ),
        (
            {"output_steps": 3},
            ValueError,
            "`output_steps` applies to output='seq2seq' only; got output_steps=3 with "
            "output='last'. Leave it None.",
        ),
        (
            {"global_clipnorm": 0.0},
            ValueError,
            "`global_clipnorm` must be None or a positive finite number; got 0.0.",
        ),
        (
            {"unroll": "auto"},
            TypeError,
            "`unroll` must be a bool; got 'auto'. `fast_training_options` resolves 'auto': "
            "pass its result to `build_classifier`.",
        ),
    ],
    ids=["n_classes", "output", "no-output_steps", "stray-output_steps", "clipnorm", "unroll"],
)
def test_build_classifier_explains_bad_arguments(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        build_classifier(**{"input_width": 4, "n_features": 3, "n_classes": 5, **kwargs})
