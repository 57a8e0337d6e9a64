"""Registry URIs: ``models:/<name>@<alias>`` and ``models:/<name>/<version>``, and schemes."""

from __future__ import annotations

__all__ = ["is_uri", "names_registered_version", "parse_model_uri"]


def is_uri(location: str) -> bool:
    """Whether ``location`` names a scheme (``s3://``, ``mlflow-artifacts:/``), not a path.

    A single letter before the colon is a Windows drive, not a scheme.
    """
    scheme, colon, _ = location.partition(":")
    return bool(colon) and len(scheme) > 1 and scheme.replace("-", "").replace("+", "").isalnum()


def parse_model_uri(model_uri: str) -> tuple[str, str]:
    """Split ``models:/<name>@<alias>`` or ``models:/<name>/<version>`` into name and reference."""
    body = model_uri.removeprefix("models:/")
    if body == model_uri or not body:
        raise ValueError(
            f"`--model` {model_uri!r} is not a registry URI; use models:/<name>@champion "
            "or models:/<name>/<version>"
        )
    if "@" in body:
        name, _, ref = body.partition("@")
    else:
        name, _, ref = body.rpartition("/")
    if not name or not ref:
        raise ValueError(
            f"`--model` {model_uri!r} names no alias or version; use models:/<name>@champion "
            "or models:/<name>/<version>"
        )
    return name, ref


def names_registered_version(model_uri: str) -> bool:
    """Whether ``model_uri`` names a registered version by alias or number.

    ``runs:/...`` and ``models:/m-...`` (a logged model's id) do not.
    """
    body = model_uri.removeprefix("models:/").rstrip("/")
    if body == model_uri.rstrip("/"):
        return False
    return "@" in body or body.rpartition("/")[2].isdigit()
