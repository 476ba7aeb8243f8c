"""Paging without COUNT(*): on large tables a count costs more than the page itself."""

from dataclasses import dataclass

from django.db.models import QuerySet


@dataclass(frozen=True)
class Page:
    rows: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def page_of(queryset: QuerySet, page: str | int | None, per_page: int) -> Page:
    try:
        number = max(1, int(page or 1))
    except (TypeError, ValueError):
        number = 1
    start = (number - 1) * per_page
    rows = list(queryset[start : start + per_page + 1])  # one more row tells if a next page exists
    return Page(rows=rows[:per_page], number=number, has_next=len(rows) > per_page)
