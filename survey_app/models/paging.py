"""A page of rows of any SELECT, for lists that page (pupils, the audit log)."""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

PER_PAGE = 50


@dataclass
class Page:
    """One page of rows: the rows, how many there are in all, and which page this is."""

    items: list
    total: int
    number: int
    pages: int
    per_page: int

    @property
    def first(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.number * self.per_page, self.total)


def page_of(session: Session, stmt: Select, number: int, per_page: int = PER_PAGE) -> Page:
    """Return one page of `stmt`'s rows; a number past the end gives the last page."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, ceil(total / per_page))
    number = min(max(1, number), pages)
    items = list(session.scalars(stmt.limit(per_page).offset((number - 1) * per_page)))
    return Page(items, total, number, pages, per_page)

