"""Waits after wrong passwords, counted per email address and computer (network address).

Five wrong passwords in a row for one email from one address are free; after that each
further try from that address must wait, 1 minute, then 2, 4, 8, and at most 15. Nothing
locks an account: a colleague signing in from another address is never held up, so no
one can shut a colleague out by typing their email with wrong passwords. Unknown emails
are counted exactly like real ones, so a wait says nothing about whether an account
exists. An administrator can clear every wait of an account at once.

Counts live in the rate limiter's storage (Redis in production, shared by every worker;
memory in development), passed in explicitly, and expire by themselves.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

FREE_TRIES = 5
FIRST_WAIT_SECONDS = 60
LONGEST_WAIT_SECONDS = 15 * 60
# Wrong tries are forgotten this long after the first of them.
COUNT_FOR_SECONDS = 60 * 60
# Longer than any count, so clearing outlives what it cleared.
EPOCH_FOR_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class SignInWaits:
    """The wrong-password counts of one storage (a `limits` storage: incr, get, clear,
    get_expiry), under `prefix`."""

    storage: object
    prefix: str = ""

    def _account(self, email: str) -> str:
        # Keys carry a digest, not the email itself.
        return hashlib.sha256(email.encode("utf-8")).hexdigest()[:32]

    def _keys(self, email: str, address: str) -> tuple[str, str]:
        account = self._account(email)
        epoch = self.storage.get(f"{self.prefix}signin-epoch:{account}")
        base = f"{self.prefix}signin:{account}:{epoch}:{address or '-'}"
        return base + ":wrong", base + ":wait"

    def seconds_to_wait(self, email: str, address: str, now: float) -> int:
        """Return how many seconds `address` must wait before trying `email` again (0: none)."""
        _, wait = self._keys(email, address)
        if not self.storage.get(wait):
            return 0
        return max(1, math.ceil(self.storage.get_expiry(wait) - now))

    def wrong_password(self, email: str, address: str) -> int:
        """Count a wrong password; return the seconds the next try must wait (0: none)."""
        wrong, wait = self._keys(email, address)
        count = self.storage.incr(wrong, COUNT_FOR_SECONDS)
        if count < FREE_TRIES:
            return 0
        seconds = min(FIRST_WAIT_SECONDS * 2 ** (count - FREE_TRIES), LONGEST_WAIT_SECONDS)
        self.storage.clear(wait)
        self.storage.incr(wait, seconds)
        return seconds

    def signed_in(self, email: str, address: str) -> None:
        """Forget the wrong tries from `address` after a right password."""
        for key in self._keys(email, address):
            self.storage.clear(key)

    def clear_account(self, email: str) -> None:
        """End every wait for `email`, from every address (an administrator's unlock)."""
        self.storage.incr(f"{self.prefix}signin-epoch:{self._account(email)}", EPOCH_FOR_SECONDS)


def wait_in_words(seconds: int) -> str:
    """Return a wait as a person would say it: 'a minute', '3 minutes'."""
    minutes = max(1, math.ceil(seconds / 60))
    return "a minute" if minutes == 1 else f"{minutes} minutes"
