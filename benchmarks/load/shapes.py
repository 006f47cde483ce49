"""Load shapes that keep their own books: every request's latency lands in the step (stress) or
phase (spike) it was made in, so each step's p95 and error rate are its own, not a sliding
window that blends the steps around it."""

from __future__ import annotations

import math
import os
import time
from typing import Any

from locust import LoadTestShape, events

P95_LIMIT_MS = 1000.0
ERROR_LIMIT = 0.01
SCALE = float(os.environ.get("LIFEOS_LOAD_SCALE", "1"))  # < 1: a shortened smoke run


def pct(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    data = sorted(values)
    return data[min(len(data) - 1, int(p * len(data)))]


class Booked(LoadTestShape):
    """A shape whose `phase()` names where the test is; requests are booked under it."""

    abstract = True

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[dict[str, Any]] = []
        self._label = ""
        self._started = 0.0
        self._times: list[float] = []
        self._failures = 0
        events.request.add_listener(self._book)

    def _book(self, response_time: float, exception: Any = None, **_: Any) -> None:
        self._times.append(response_time)
        self._failures += exception is not None

    def close_step(self) -> None:
        if not self._label:
            return
        seconds = max(time.monotonic() - self._started, 1e-9)
        n = len(self._times)
        self.steps.append(
            {
                "step": self._label,
                "users": self.get_current_user_count(),
                "seconds": round(seconds, 1),
                "requests": n,
                "rps": n / seconds,
                "p50": pct(self._times, 0.50),
                "p95": pct(self._times, 0.95),
                "p99": pct(self._times, 0.99),
                "error_rate": self._failures / n if n else 0.0,
            }
        )

    def enter(self, label: str) -> None:
        if label != self._label:
            self.close_step()
            self._label, self._started, self._times, self._failures = label, time.monotonic(), [], 0


class StressShape(Booked):
    """Ramp browsing users in steps until a step's p95 passes 1 s or its error rate 1 %; the
    knee is the last step that held (its users and req/s)."""

    start_users = 50
    step_users = 50
    step_seconds = max(3, round(20 * SCALE))
    max_users = max(100, round(2000 * SCALE))

    def __init__(self) -> None:
        super().__init__()
        self.knee: dict[str, Any] | None = None
        self.broke: dict[str, Any] | None = None

    def tick(self) -> tuple[int, float] | None:
        step = int(self.get_run_time() // self.step_seconds)
        users = self.start_users + step * self.step_users
        before = len(self.steps)
        self.enter(f"{users} users")
        if len(self.steps) > before:
            last = self.steps[-1]
            if last["p95"] > P95_LIMIT_MS or last["error_rate"] > ERROR_LIMIT:
                self.broke = last
                return None
            self.knee = last
        if users > self.max_users:
            self.close_step()
            return None
        return users, float(self.step_users)


class SpikeShape(Booked):
    """10 users, then 200 within 10 s, held, then back to 10: how bad it gets and whether it
    recovers."""

    phases = (
        ("before", max(3, 30 * SCALE), 10),
        ("spike", max(5, 40 * SCALE), 200),
        ("after", max(3, 30 * SCALE), 10),
    )
    spawn_rate = 19.0  # 10 → 200 in 10 s

    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        for label, seconds, users in self.phases:
            if elapsed < seconds:
                self.enter(label)
                return users, self.spawn_rate
            elapsed -= seconds
        self.close_step()
        return None
