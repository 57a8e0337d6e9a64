"""Shared pytest fixtures: headless plotting, a seed that varies per run, temporary stores."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
