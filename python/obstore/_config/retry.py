"""Retry and backoff settings shared by every store."""

from datetime import timedelta
from typing import TypedDict


class BackoffConfig(TypedDict, total=False):
    """Exponential backoff (with jitter) applied between retries.

    An unknown key raises ``ValueError``.
    """

    init_backoff: timedelta
    """Delay before the first retry (default 100 ms)."""
    max_backoff: timedelta
    """Upper bound for any single delay (default 15 s)."""
    base: int | float
    """Growth factor of the delay from one retry to the next (default 2)."""


class RetryConfig(TypedDict, total=False):
    """When and how often a failed request is retried.

    Retried are server errors (5xx), connection errors and timeouts of requests
    that are safe to repeat. A store's ``retry_config`` property returns this dict
    with every default filled in. An unknown key raises ``ValueError`` (a
    misspelt key would otherwise leave its default in force).
    """

    backoff: BackoffConfig
    """Delays between attempts."""
    max_retries: int
    """Most retries for one request (default 10; ``0`` disables retrying)."""
    retry_timeout: timedelta
    """No retry is started once this much time has passed since the first attempt
    (default 3 minutes)."""
