"""The chat list's groups: Pinned, Today, Yesterday, Previous 7 days, then one group per month."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol, TypeVar

PINNED = "Pinned"
TODAY = "Today"
YESTERDAY = "Yesterday"
WEEK = "Previous 7 days"


class Listed(Protocol):
    """What grouping needs of a chat: when it was last used and whether it is pinned."""

    updated: float
    pinned: bool


Row = TypeVar("Row", bound=Listed)


def group_label(used: date, today: date) -> str:
    """The group of a chat last used on `used`, seen on `today`."""
    age = (today - used).days
    if age <= 0:
        return TODAY
    if age == 1:
        return YESTERDAY
    if age <= 7:
        return WEEK
    return f"{used:%B %Y}"


def group_chats(rows: Sequence[Row], today: date | None = None) -> list[tuple[str, list[Row]]]:
    """(label, chats) in list order: pinned chats first, then the rest by date, most recent first."""
    today = today or date.today()
    groups: dict[str, list[Row]] = {}
    pinned = [row for row in rows if row.pinned]
    if pinned:
        groups[PINNED] = sorted(pinned, key=lambda row: -row.updated)
    for row in sorted((row for row in rows if not row.pinned), key=lambda row: -row.updated):
        used = datetime.fromtimestamp(row.updated).date()
        groups.setdefault(group_label(used, today), []).append(row)
    return list(groups.items())

