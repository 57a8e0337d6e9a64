"""Network ensembles fitted apart and joined: the members of ``Forecaster(members=n)``.

``Forecaster.fit`` trains its members one after the other. To spread them over a task
runner's workers instead, fit each member on its own (:func:`fit_member`, anywhere) and join
them (:func:`combine_members`) into the forecaster ``fit`` makes: the same scaling and
reference, the same networks (member ``k`` is trained with seed ``seed + k`` either way),
the median of their outputs, and intervals calibrated on that median.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sklearn.base import clone

from forecasting.forecaster import Forecaster
from forecasting.nn.fitting import FittedNetwork

__all__ = ["combine_members", "fit_member", "member_forecaster"]


def member_forecaster(forecaster: Forecaster, member: int) -> Forecaster:
    """The unfitted one-network forecaster that is member ``member`` of ``forecaster``.

    Parameters
    ----------
    forecaster : Forecaster
        The ensemble's template (its ``members`` and ``seed``).
    member : int
        From 0 to ``forecaster.members - 1``.

    Returns
    -------
    Forecaster
        A clone with ``members=1`` and ``seed=forecaster.seed + member``.
    """
    if not 0 <= member < forecaster.members:
        raise ValueError(
            f"`member` must be from 0 to {forecaster.members - 1} (`members` is "
            f"{forecaster.members}), got {member!r}"
        )
    model: Forecaster = clone(forecaster)
    return model.set_params(members=1, seed=forecaster.seed + member)


def fit_member(
    forecaster: Forecaster, frame: pd.DataFrame, member: int, callbacks: Sequence[Any] = ()
) -> Forecaster:
    """Fit member ``member`` of ``forecaster``'s ensemble on ``frame`` (in any process).

    Parameters
    ----------
    forecaster : Forecaster
        The ensemble's template, unfitted.
    frame : DataFrame
        The training frame, the same for every member.
    member : int
        Which member.
    callbacks : sequence of keras.callbacks.Callback
        Passed to its training.

    Returns
    -------
    Forecaster
        A fitted one-network forecaster.
    """
    return member_forecaster(forecaster, member).fit(frame, callbacks)


def combine_members(
    forecaster: Forecaster, frame: pd.DataFrame, members: Sequence[Forecaster]
) -> Forecaster:
    """Join the fitted members of ``forecaster``'s ensemble into one fitted forecaster.

    Parameters
    ----------
    forecaster : Forecaster
        The ensemble's template, unfitted.
    frame : DataFrame
        The frame every member was fitted on.
    members : sequence of Forecaster
        Member 0, 1, ... from :func:`fit_member`; copied from other processes is fine (their
        NumPy weights are used where their Keras networks did not travel).

    Returns
    -------
    Forecaster
        What ``forecaster.fit(frame)`` returns; the member itself for a one-network
        forecaster.
    """
    if len(members) != forecaster.members:
        raise ValueError(
            f"`members` holds {len(members)} fitted forecaster(s), but the ensemble has "
            f"{forecaster.members}"
        )
    for k, member in enumerate(members):
        if member.members != 1 or member.seed != forecaster.seed + k:
            raise ValueError(
                f"`members[{k}]` is not member {k} of this ensemble (seed "
                f"{forecaster.seed + k}); fit it with `fit_member(forecaster, frame, {k})`"
            )
    if len(members) == 1:
        return members[0]
    ensemble: Forecaster = clone(forecaster)
    data = ensemble.prepare(frame)
    networks = [
        FittedNetwork(
            model=m.models_[0],
            history=m.history_,
            fit_options=m.fit_options_,
            fell_back=m.fell_back_,
        )
        for m in members
    ]
    weights = [m.predictor_.weights[0] for m in members if m.predictor_.weights is not None]
    return ensemble.finish(data, networks, weights if len(weights) == len(members) else None)
