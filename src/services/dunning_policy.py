"""When a past-due renewal is retried, and how long access lasts meanwhile (the settings
``DUNNING_RETRY_DAYS`` and ``DUNNING_GRACE``). Days count from the end of the period the
open invoice renews (its ``period_start``), so a late job run never shifts the schedule."""

from dataclasses import dataclass
from datetime import datetime, timedelta

UNTIL_LAST_RETRY = "until_last_retry"
NO_GRACE = "none"


def parse_retry_days(value: str) -> tuple[int, ...]:
    """``"1,3,5"`` → (1, 3, 5): strictly increasing whole days, at most 10 retries."""
    try:
        days = tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError as error:
        raise ValueError(f"DUNNING_RETRY_DAYS must be whole days like 1,3,5: {value!r}") from error
    if (
        not days
        or len(days) > 10
        or any(day <= 0 for day in days)
        or list(days) != sorted(set(days))
    ):
        raise ValueError(f"DUNNING_RETRY_DAYS must be 1 to 10 increasing days: {value!r}")
    return days


def parse_grace(value: str) -> int | None:
    """Days of access after the period end; None means until the last retry fails."""
    if value == UNTIL_LAST_RETRY:
        return None
    if value == NO_GRACE:
        return 0
    if value.isdigit():
        return int(value)
    raise ValueError(
        f"DUNNING_GRACE must be {UNTIL_LAST_RETRY!r}, {NO_GRACE!r} or a number of days: {value!r}"
    )


@dataclass(frozen=True)
class DunningPolicy:
    retry_days: tuple[int, ...] = (1, 3, 5)
    grace_days: int | None = None  # None: until the last retry fails

    @classmethod
    def from_settings(cls, retry_days: str, grace: str) -> "DunningPolicy":
        return cls(parse_retry_days(retry_days), parse_grace(grace))

    def next_retry(self, boundary: datetime, failed_attempts: int) -> datetime | None:
        """After ``failed_attempts`` failures (the first charge included), when the next retry
        is due; None when none is left (dunning gives up)."""
        retries_done = failed_attempts - 1
        if retries_done >= len(self.retry_days):
            return None
        return boundary + timedelta(days=self.retry_days[retries_done])

    def retries_left(self, failed_attempts: int) -> int:
        return max(0, len(self.retry_days) - max(0, failed_attempts - 1))

    def access_until(self, boundary: datetime) -> datetime | None:
        """The end of a past-due subscription's access; None: until dunning gives up."""
        return None if self.grace_days is None else boundary + timedelta(days=self.grace_days)

    def entitled_while_past_due(self, boundary: datetime, now: datetime) -> bool:
        until = self.access_until(boundary)
        return until is None or now < until
