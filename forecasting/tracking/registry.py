"""The model registry: versions, the champion and challenger aliases, and the promotion lock."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "ModelRef",
    "champion_version",
    "delete_version",
    "promote",
    "promote_if_champion_is",
    "registry_lock",
    "resolve",
    "set_version_tags",
]

CHAMPION = "champion"
CHALLENGER = "challenger"
_ALIASES = (CHAMPION, CHALLENGER)
_LOCK_SUFFIX = ".promotion-lock"


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

    Under the registry lock (:func:`registry_lock`), the champion is read again. When it is
    still ``expected`` (the version the verdict was judged against), ``tags`` are written
    first, then ``champion`` (when ``champion`` is true) and ``challenger`` move; a failure
    after an alias moved puts both aliases back. A verdict that does not promote needs no
    particular champion and is always recorded.

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
    with registry_lock(registered_name):
        current = _alias_version(client, registered_name, CHAMPION)
        if champion and current != expected:
            return False
        for key, value in tags.items():
            client.set_model_version_tag(registered_name, version, key, str(value))
        promote(registered_name, version, champion=champion)
    return True


@contextmanager
def registry_lock(
    registered_name: str, timeout: float = 120.0, lease: float = 60.0
) -> Iterator[None]:
    """Hold the registry's promotion lock for ``registered_name`` (one holder at a time).

    The lock is a registered model, ``<name>.promotion-lock``: creating a registered model
    that exists fails in every MLflow registry (SQLite, PostgreSQL, a tracking server), so
    exactly one creator wins. Its ``expires`` tag lets a later training break the lock of a
    process that died holding it.

    Parameters
    ----------
    registered_name : str
        The registered model whose aliases are about to move.
    timeout : float
        Seconds to wait for the lock before giving up with ``TimeoutError``.
    lease : float
        Seconds after which a held lock counts as abandoned.
    """
    client = MlflowClient()
    lock = f"{registered_name}{_LOCK_SUFFIX}"
    token = uuid.uuid4().hex
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.create_registered_model(
                lock,
                tags={"token": token, "expires": repr(time.time() + lease)},
                description=f"Held while the aliases of {registered_name} move.",
            )
            break
        except MlflowException as error:
            if error.error_code not in ("RESOURCE_ALREADY_EXISTS", "RESOURCE_DOES_NOT_EXIST"):
                raise
        _break_if_abandoned(client, lock)
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"the registry lock {lock!r} has been held for over {timeout:.0f} s; another "
                f"training of {registered_name!r} is promoting. If none is running, delete "
                f"the registered model {lock!r} and train again"
            )
        time.sleep(0.05 + random.random() * 0.1)
    try:
        yield
    finally:
        with suppress(MlflowException):  # an unreleased lock expires after `lease`
            held = client.get_registered_model(lock)
            if held.tags.get("token") == token:
                client.delete_registered_model(lock)


def _break_if_abandoned(client: MlflowClient, lock: str) -> None:
    try:
        held = client.get_registered_model(lock)
    except MlflowException:
        return  # released meanwhile
    if float(held.tags.get("expires", "0")) < time.time():
        with suppress(MlflowException):
            client.delete_registered_model(lock)


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
