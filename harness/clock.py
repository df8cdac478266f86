"""The one clock the harness records: UTC, to the second, ISO 8601."""

from __future__ import annotations

import datetime as _dt


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
