"""Rate limits over the `limits` library: moving windows kept in memory (one process) or in
Redis (`rate_limit_storage=redis://...`: every API worker shares them).

A rule is what people write ("10/minute", "5 per 15 minutes; 20 per day"); several rules
separated by `;` all apply. Refusals are `TooManyRequests` with the seconds to wait."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import cache

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from lifeos.errors import BadRequest, TooManyRequests


@cache
def _limiter(uri: str) -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(storage_from_string(uri))


@cache
def rules(text: str) -> tuple[RateLimitItem, ...]:
    try:
        return tuple(parse_many(text))
    except ValueError as exc:
        raise BadRequest(f"not a rate limit: {text!r} ({exc})") from None


@dataclass(frozen=True)
class State:
    """Where one key stands under its tightest rule (for the `RateLimit` header fields)."""

    limit: int
    remaining: int
    reset_s: int
    window_s: int

    def policy(self, name: str) -> str:
        """`RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers): quota and window."""
        return f'"{name}";q={self.limit};w={self.window_s}'

    def now(self, name: str) -> str:
        """`RateLimit`: what is left and the seconds until the window frees some."""
        return f'"{name}";r={self.remaining};t={self.reset_s}'


class Limiter:
    def __init__(self, storage: str = "memory://", namespace: str = "lifeos") -> None:
        self.limiter = _limiter(storage)
        self.namespace = namespace

    def hit(self, rule: str, *key: str, what: str = "requests") -> State:
        """Count one against every part of `rule` for `key`; refused (nothing counted) when
        any part is used up."""
        self.check(rule, *key, what=what)
        self.count(rule, *key)
        return self.state(rule, *key)

    def check(self, rule: str, *key: str, what: str = "requests") -> None:
        """Refuse if `key` is out of `rule`, counting nothing (e.g. before checking a
        password, whose failures alone are counted)."""
        for item in rules(rule):
            if not self.limiter.test(item, self.namespace, *key):
                raise self._refusal(item, key, what)

    def count(self, rule: str, *key: str) -> None:
        for item in rules(rule):
            self.limiter.hit(item, self.namespace, *key)

    def state(self, rule: str, *key: str) -> State:
        states = []
        for item in rules(rule):
            stats = self.limiter.get_window_stats(item, self.namespace, *key)
            states.append(
                State(
                    item.amount,
                    max(stats.remaining, 0),
                    max(0, math.ceil(stats.reset_time - time.time())),
                    item.get_expiry(),
                )
            )
        return min(states, key=lambda s: (s.remaining, -s.reset_s))

    def clear(self, rule: str, *key: str) -> None:
        for item in rules(rule):
            self.limiter.clear(item, self.namespace, *key)

    def _refusal(self, item: RateLimitItem, key: tuple[str, ...], what: str) -> TooManyRequests:
        stats = self.limiter.get_window_stats(item, self.namespace, *key)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        return TooManyRequests(
            f"too many {what}: at most {item.amount} per {_per(item)}; try again in {wait} s",
            retry_after=wait,
            details={"limit": str(item), "retry_after_s": wait},
        )


def _per(item: RateLimitItem) -> str:
    n = item.multiples
    unit = item.GRANULARITY.name
    return f"{n} {unit}s" if n != 1 else unit
