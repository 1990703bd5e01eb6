"""Rate limits for the fake platforms, shaped like the real ones.

The platforms count the requests of the last moments (a sliding window), so a sender that lets
a second's worth out at once after a pause trips them again at once; a token bucket forgives
that. `SlidingWindow` is the first, `TokenBucket` the second (the fakes' older option).
"""

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SlidingWindow:
    """At most `limit` requests in any `seconds` long window; a refused one does not count."""

    limit: int
    seconds: float
    clock: Callable[[], float] = time.monotonic
    _times: deque = field(default_factory=deque)
    refused: int = 0
    allowed: int = 0

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError("a window lets at least one request through")

    def take(self) -> float | None:
        """Count a request; None when it may go, else the seconds until one may."""
        now = self.clock()
        while self._times and self._times[0] <= now - self.seconds:
            self._times.popleft()
        if len(self._times) < self.limit:
            self._times.append(now)
            self.allowed += 1
            return None
        self.refused += 1
        return self._times[0] + self.seconds - now


@dataclass
class TokenBucket:
    """A token bucket: `rate` requests a second, up to `burst` at once."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(default=-1.0)
    at: float = field(default=-1.0)

    def __post_init__(self) -> None:
        self.tokens = self.burst if self.tokens < 0 else self.tokens
        self.at = self.clock() if self.at < 0 else self.at

    def take(self) -> float | None:
        """Take a token; None when there was one, else the seconds until there is."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.rate


class Windows:
    """One sliding window per key (a chat, a recipient), made on first use."""

    def __init__(self, limit: int, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.limit, self.seconds, self.clock = limit, seconds, clock
        self._windows: dict[str, SlidingWindow] = {}

    def take(self, key: str) -> float | None:
        """Count a request to `key`; None when it may go, else the seconds until one may."""
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = SlidingWindow(self.limit, self.seconds, self.clock)
        return window.take()


def window_of(per_second: float, seconds: float, clock=time.monotonic) -> SlidingWindow:
    """Return a window letting `per_second` through on average over `seconds`."""
    return SlidingWindow(max(1, round(per_second * seconds)), seconds, clock)


def retry_after(wait: float) -> int:
    """Return Telegram's retry_after for a wait: whole seconds, at least one."""
    return max(1, math.ceil(wait))
