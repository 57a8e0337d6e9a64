"""The promotion lock in the forecast store's database, on real SQLite files and a real
PostgreSQL server: exclusion between real processes, a timeout, release by a holder's death."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from forecasting.store import ForecastStore, PromotionLockTimeout

_REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'forecasts.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=_REPO,
        stderr=subprocess.PIPE,
        text=True,
    )


_INCREMENT = """
import sys, time
from pathlib import Path
from forecasting.store import ForecastStore
store = ForecastStore(sys.argv[1])
counter, barrier = Path(sys.argv[2]), Path(sys.argv[3])
(barrier / sys.argv[4]).touch()
while len(list(barrier.iterdir())) < 2:
    time.sleep(0.01)
for _ in range(8):
    with store.promotion_lock("counter"):
        value = int(counter.read_text())
        time.sleep(0.02)
        counter.write_text(str(value + 1))
"""


def test_the_lock_excludes_a_second_process(store_url: str, tmp_path: Path) -> None:
    """Two processes each add 1 eight times, by read-sleep-write under the lock.

    They start their loops together (a barrier); without the lock, updates are lost.
    """
    counter, barrier = tmp_path / "counter", tmp_path / "barrier"
    counter.write_text("0")
    barrier.mkdir()
    ForecastStore(store_url).read_forecasts()  # the schema exists before both start
    with ForecastStore(store_url).promotion_lock("warm-up"):
        pass
    processes = [
        _python(_INCREMENT, store_url, str(counter), str(barrier), f"p{i}") for i in range(2)
    ]
    for process in processes:
        _, err = process.communicate(timeout=180)
        assert process.returncode == 0, err[-3000:]
    assert counter.read_text() == "16"


def test_a_held_lock_times_out_with_one_line(store_url: str) -> None:
    holder, waiter = ForecastStore(store_url), ForecastStore(store_url)
    with holder.promotion_lock("demo"):
        with (
            pytest.raises(PromotionLockTimeout, match="another training of 'demo' held the") as err,
            waiter.promotion_lock("demo", timeout=0.3),
        ):
            pass
        assert "\n" not in str(err.value)
    with waiter.promotion_lock("demo", timeout=0.3):  # released: taken at once
        pass
    holder.close()
    waiter.close()


def test_other_models_are_not_held_up_on_postgresql(postgres_url: str) -> None:
    """PostgreSQL locks each registered model apart (SQLite has one write lock per file)."""
    holder, other = ForecastStore(postgres_url), ForecastStore(postgres_url)
    with holder.promotion_lock("a"), other.promotion_lock("b", timeout=0.3):
        pass
    holder.close()
    other.close()


_HOLD = """
import sys, time
from pathlib import Path
from forecasting.store import ForecastStore
with ForecastStore(sys.argv[1]).promotion_lock("demo"):
    Path(sys.argv[2]).touch()
    time.sleep(600)
"""


def test_a_killed_holder_releases_the_lock_by_dying(store_url: str, tmp_path: Path) -> None:
    held = tmp_path / "held"
    process = _python(_HOLD, store_url, str(held))
    try:
        deadline = time.monotonic() + 120
        while not held.exists():
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the holder never took the lock"
            time.sleep(0.01)
        store = ForecastStore(store_url)
        with pytest.raises(PromotionLockTimeout), store.promotion_lock("demo", timeout=0.3):
            pass
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    with store.promotion_lock("demo", timeout=5):  # no lease to wait out
        pass
    assert store.read_forecasts().empty  # the lock wrote nothing
    store.close()
