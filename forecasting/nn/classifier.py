"""Recurrent classifiers: the forecasting network's stacked layers ending in a softmax."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from forecasting.checks import check_choice, check_int
from forecasting.nn._layers import (
    check_clipnorm,
    check_stack,
    compile_built,
    recurrent_layer,
    seed_source,
)

if TYPE_CHECKING:
    import keras

__all__ = ["CLASSIFIER_OUTPUTS", "build_classifier"]

CLASSIFIER_OUTPUTS = ("last", "sequence", "seq2seq")


def build_classifier(
    input_width: int,
    n_features: int,
    n_classes: int,
    cell: str = "lstm",
    units: Sequence[int] = (32,),
    dropout: float = 0.0,
    output: str = "last",
    output_steps: int | None = None,
    learning_rate: float = 1e-3,
    global_clipnorm: float | None = None,
    seed: int | None = None,
    jit_compile: bool | str = "auto",
    unroll: bool = False,
    steps_per_execution: int = 1,
) -> keras.Model:
    """Build and compile a recurrent classifier: stacked recurrent layers and a softmax.

    The same stacked layers as `build_network` (one per entry of `units`, same initialisers and
    cuDNN-compatible defaults) read sequences of `n_features` values per step and end in a
    softmax over `n_classes` classes, instead of a regression head. It serves sequence
    classification, sequence-to-sequence translation and language models.

    Parameters
    ----------
    input_width : int
        Number of steps the network reads.
    n_features : int
        Values per step (for symbols, the size of a one-hot alphabet).
    n_classes : int
        Number of classes of the softmax, at least 2.
    cell : {"lstm", "gru", "rnn"}
        Recurrent cell, as in `build_network`.
    units : sequence of int
        Units of each stacked encoder layer, e.g. ``(128, 128)``.
    dropout : float
        Rate of ``keras.layers.Dropout`` after every recurrent layer (the seq2seq decoder
        included), so before each stacked layer and before the softmax. Inactive at inference.
    output : {"last", "sequence", "seq2seq"}
        ``"last"``: one class per sequence from the last encoder state, shape
        ``(batch, n_classes)``. ``"sequence"``: one class per input step, every layer returning
        sequences, shape ``(batch, input_width, n_classes)``; with targets shifted by one step
        this is a language model. ``"seq2seq"``: the last encoder state repeated
        `output_steps` times (``RepeatVector``), a decoder layer of the same cell with
        ``units[-1]`` units, and a softmax per decoded step, shape
        ``(batch, output_steps, n_classes)``.
    output_steps : int or None
        Length of the decoded sequence; required for ``output="seq2seq"``, None otherwise.
    learning_rate : float
        Adam learning rate.
    global_clipnorm : float or None
        Clip the gradients of all weights together to this global norm (Adam's
        ``global_clipnorm``); None disables it.
    seed : int or None
        Seed for the weight initialisers and dropout masks, as in `build_network`.
    jit_compile, unroll, steps_per_execution
        As in `build_network`; `forecasting.speed.fast_training_options` chooses them.

    Returns
    -------
    keras.Model
        Compiled with Adam, sparse categorical cross-entropy on integer class labels and
        accuracy; float32 probabilities.
    """
    input_width, n_features, cell, sizes, dropout, learning_rate, seed, steps_per_execution = (
        check_stack(
            input_width,
            n_features,
            cell,
            units,
            dropout,
            learning_rate,
            seed,
            jit_compile,
            unroll,
            steps_per_execution,
            "build_classifier",
        )
    )
    n_classes = check_int("n_classes", n_classes, 2)
    output = check_choice("output", output, CLASSIFIER_OUTPUTS)
    if output == "seq2seq":
        if output_steps is None:
            raise ValueError(
                "`output_steps` is required with output='seq2seq': pass the length of the "
                "decoded sequence, such as output_steps=4."
            )
        output_steps = check_int("output_steps", output_steps, 1)
    elif output_steps is not None:
        raise ValueError(
            f"`output_steps` applies to output='seq2seq' only; got output_steps={output_steps!r} "
            f"with output={output!r}. Leave it None."
        )
    global_clipnorm = check_clipnorm("global_clipnorm", global_clipnorm)

    import keras

    next_seed = seed_source(seed, 4 * len(sizes) + 8)  # each layer draws at most 4 seeds
    inputs = keras.Input(shape=(input_width, n_features), name="sequence")
    x = inputs
    for index, size in enumerate(sizes):
        return_sequences = output == "sequence" or index < len(sizes) - 1
        layer = recurrent_layer(
            cell, size, f"encoder_{index}", return_sequences, next_seed, unroll=unroll
        )
        x = layer(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout, seed=next_seed(), name=f"dropout_{index}")(x)
    if output == "seq2seq":
        x = keras.layers.RepeatVector(output_steps, name="repeat")(x)
        x = recurrent_layer(cell, sizes[-1], "decoder", True, next_seed, unroll=unroll)(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout, seed=next_seed(), name="dropout_decoder")(x)
    # Dense maps the last axis, so the same layer gives one softmax per step of a sequence.
    outputs = keras.layers.Dense(
        n_classes,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=next_seed()),
        dtype="float32",
        name="classes",
    )(x)
    model = keras.Model(inputs, outputs, name=f"{cell}_{output}_classifier")
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, global_clipnorm=global_clipnorm)
    return compile_built(
        model,
        optimizer,
        "sparse_categorical_crossentropy",
        jit_compile,
        steps_per_execution,
        metrics=["accuracy"],
    )
