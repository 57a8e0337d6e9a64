"""Retry policy shared by the flows: retry I/O hiccups, never a user's mistake."""

from __future__ import annotations

from typing import Any

__all__ = ["IO_RETRY"]


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry unless the task failed on bad input (``ValueError``: it would fail again)."""
    error = state.result(raise_on_failure=False)
    return not isinstance(error, ValueError)


IO_RETRY: dict[str, Any] = {
    "retries": 2,
    "retry_delay_seconds": 2,
    "retry_condition_fn": _transient,
}
