"""The model registry: versions, and the champion and challenger aliases."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "REGISTERED_BY",
    "ModelRef",
    "champion_version",
    "delete_version",
    "promote",
    "promote_if_champion_is",
    "registering_process",
    "remove_abandoned",
    "resolve",
    "set_version_tags",
]

CHAMPION = "champion"
CHALLENGER = "challenger"
_ALIASES = (CHAMPION, CHALLENGER)
REGISTERED_BY = "registered_by"
"""Version tag: ``<host>:<pid>`` of the process that registered the version."""
_ABANDONED_AFTER = 24 * 3600.0
"""Seconds after which an unjudged version of another machine counts as abandoned."""


def champion_version(registered_name: str) -> str | None:
    """The version holding the ``champion`` alias, or ``None``."""
    return _alias_version(MlflowClient(), registered_name, CHAMPION)


def _alias_version(client: MlflowClient, registered_name: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(registered_name, alias).version)
    except MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def set_version_tags(registered_name: str, version: str, tags: Mapping[str, Any]) -> None:
    """Tag a registered version (the promotion decision and the figures behind it)."""
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(registered_name, version, key, str(value))


@contextmanager
def _aliases_restored_on_failure(client: MlflowClient, registered_name: str) -> Iterator[None]:
    """Put ``champion`` and ``challenger`` back where they were if the body raises."""
    before = {alias: _alias_version(client, registered_name, alias) for alias in _ALIASES}
    try:
        yield
    except BaseException:
        for alias, version in before.items():
            if version is None:
                with suppress(MlflowException):
                    client.delete_registered_model_alias(registered_name, alias)
            else:
                client.set_registered_model_alias(registered_name, alias, version)
        raise


def promote(registered_name: str, version: str, champion: bool) -> None:
    """Give ``version`` the ``challenger`` alias, and ``champion`` too when it won.

    Both aliases move or neither: a failure part-way puts them back.
    """
    client = MlflowClient()
    with _aliases_restored_on_failure(client, registered_name):
        if champion:
            client.set_registered_model_alias(registered_name, CHAMPION, version)
        client.set_registered_model_alias(registered_name, CHALLENGER, version)


def promote_if_champion_is(
    registered_name: str,
    version: str,
    champion: bool,
    expected: str | None,
    tags: Mapping[str, Any],
) -> bool:
    """Compare-and-set: record the verdict and move the aliases, unless the champion moved.

    Call it under the promotion lock (:meth:`forecasting.store.ForecastStore.promotion_lock`).
    The champion is read again; when it is still ``expected`` (the version the verdict was
    judged against), ``tags`` are written first, then ``champion`` (when ``champion`` is true)
    and ``challenger`` move; a failure after an alias moved puts both aliases back. A verdict
    that does not promote needs no particular champion and is always recorded.

    Parameters
    ----------
    registered_name : str
        The registered model.
    version : str
        The judged version.
    champion : bool
        Whether the verdict promotes it.
    expected : str, optional
        The champion the verdict was judged against (``None``: there was none).
    tags : dict
        The verdict's version tags.

    Returns
    -------
    bool
        Whether the verdict was recorded; ``False`` when the champion moved meanwhile, so the
        version must be judged again against the new one.
    """
    client = MlflowClient()
    current = _alias_version(client, registered_name, CHAMPION)
    if champion and current != expected:
        return False
    for key, value in tags.items():
        client.set_model_version_tag(registered_name, version, key, str(value))
    promote(registered_name, version, champion=champion)
    return True


def delete_version(registered_name: str, version: str) -> bool:
    """Remove a version registered by a run that failed afterwards, unless it is champion.

    Returns
    -------
    bool
        Whether the version was deleted; a version holding ``champion`` never is.
    """
    client = MlflowClient()
    if _alias_version(client, registered_name, CHAMPION) == str(version):
        return False
    client.delete_model_version(registered_name, version)
    return True


def registering_process() -> str:
    """This process as the ``registered_by`` tag names it: ``<host>:<pid>``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _gone(registered_by: str | None, created_s: float, now_s: float) -> bool:
    """Whether the process that registered a version is gone.

    On this machine, a process id that no process holds is gone at once; a version from
    another machine (or without the tag) only after ``_ABANDONED_AFTER`` seconds, far longer
    than any judging takes. A reused process id keeps a version: the mistake is on the safe side.
    """
    host, _, pid = (registered_by or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, under another user
        return False
    return now_s - created_s > _ABANDONED_AFTER


def remove_abandoned(
    registered_name: str, judged: Callable[[Mapping[str, str]], bool]
) -> list[str]:
    """Delete the versions left unjudged by trainings that died (killed, crashed).

    Call it under the promotion lock. A version is abandoned when ``judged(tags)`` is false
    and the process that registered it (:data:`REGISTERED_BY`) is gone. Its run keeps the
    model and is marked ``KILLED``; the registry no longer lists the version.

    Returns
    -------
    list of str
        The deleted versions.
    """
    client = MlflowClient()
    now = time.time()
    removed = []
    for mv in client.search_model_versions(f"name = '{registered_name}'"):
        tags = dict(mv.tags or {})
        created = (mv.creation_timestamp or 0) / 1000
        if judged(tags) or not _gone(tags.get(REGISTERED_BY), created, now):
            continue
        if delete_version(registered_name, str(mv.version)):
            removed.append(str(mv.version))
            if mv.run_id:
                with suppress(MlflowException):
                    if client.get_run(mv.run_id).info.status == "RUNNING":
                        client.set_terminated(mv.run_id, status="KILLED")
    return removed


@dataclass(frozen=True)
class ModelRef:
    """A registered version: what a forecast records as its provenance."""

    name: str
    version: str
    run_id: str | None
    tags: dict[str, str]


def resolve(registered_name: str, alias_or_version: str = CHAMPION) -> ModelRef | None:
    """The version an alias (or a version number) points at, or ``None`` if there is none.

    Parameters
    ----------
    registered_name : str
        The registered model.
    alias_or_version : str
        ``champion``, ``challenger`` or a version number.

    Returns
    -------
    ModelRef or None
        Name, version, the run that logged it, and its tags.
    """
    client = MlflowClient()
    try:
        if alias_or_version.isdigit():
            mv = client.get_model_version(registered_name, alias_or_version)
        else:
            mv = client.get_model_version_by_alias(registered_name, alias_or_version)
    except MlflowException:
        return None
    return ModelRef(registered_name, str(mv.version), mv.run_id, dict(mv.tags or {}))
