"""Time in questions: "latest", "in March 2025", "last week" … become date filters or a date ordering.

Relative expressions are read against a reference date: the one given in the request, else the
publication date of the newest indexed article (news questions are asked of an archive, not of
today's clock).

A day ("on 19 March 2025") is read as a publication date, with a day's slack. A month or a year
on its own ("in March 2025", "in 2021") usually dates what happened, and a report of it comes
during that time or later ("Google spent $26.3 billion in 2021", reported in 2023): it keeps the
articles published from its first day on. Said of the publication ("published in", "reported
in", "articles in", "news during" …) it is the publication period itself. Measured on
MultiHop-RAG (see README, "Benchmarks"), reading every month and year as a closed range left out
evidence articles and refused answerable questions.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from service.models import Filters

_MONTHS = {name.casefold(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.casefold(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"

_NEWEST = re.compile(r"\b(latest|most recent(ly)?|newest|most up[- ]to[- ]date)\b", re.I)
_DAY_MONTH_YEAR = re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", re.I)
_MONTH_DAY_YEAR = re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", re.I)
_ISO = re.compile(r"\b(?P<year>(?:19|20)\d{2})-(?P<month>\d{2})-(?P<day>\d{2})\b")
_MONTH_YEAR = re.compile(rf"\b{_MONTH},?\s+{_YEAR}\b", re.I)
_MONTH_ONLY = re.compile(rf"\b(?:in|during|since|before|after|of|from)\s+{_MONTH}(?!\s+\d)\b", re.I)
_YEAR_ONLY = re.compile(rf"\b(?:in|during|since|before|after|of|from)\s+{_YEAR}\b", re.I)
_RELATIVE = re.compile(
    r"\b(?:(?P<lastpast>last|past|previous)\s+(?:(?P<count>\d+|two|three|four|five|six|seven)\s+)?"
    r"(?P<unit>days?|weeks?|months?|years?)|(?P<this>this)\s+(?P<thisunit>week|month|year)"
    r"|(?P<today>today)|(?P<yesterday>yesterday))\b",
    re.I,
)
_BOUND = re.compile(r"\b(since|after|from|before|until|by)\s*$", re.I)
_PUBLISHED = re.compile(
    r"\b(published|posted|dated|written|report(s|ed)?|articles?|stor(y|ies)|coverage|news)(\s+(in|during))?\s*$",
    re.I,
)
_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_SLACK = timedelta(days=1)
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}


@dataclass(frozen=True)
class TimeIntent:
    """What a question asks about time: a date range, newest-first ordering, or both."""

    published_after: date | None = None
    published_before: date | None = None
    newest_first: bool = False
    expression: str = ""

    @property
    def restricts(self) -> bool:
        """True when the intent narrows the dates searched."""
        return self.published_after is not None or self.published_before is not None


def _month(year: int, month: int) -> tuple[date, date]:
    """The first and last day of the month."""
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True)
class _Named:
    """A day, month or year named in a question: where, and the days it spans."""

    start: int
    end: int
    first: date
    last: date
    period: bool  # a month or a year, not a day

    def of_events(self, question: str) -> bool:
        """True for a month or year not said of the publication ("published in March")."""
        return self.period and _PUBLISHED.search(question[: self.start]) is None


def _matches(question: str, reference: date | None) -> list[_Named]:
    """Every absolute day, month or year named in the question, in order."""
    found: list[_Named] = []

    def free(start: int, end: int) -> bool:
        return all(end <= n.start or start >= n.end for n in found)

    for pattern in (_DAY_MONTH_YEAR, _MONTH_DAY_YEAR, _ISO):
        for match in pattern.finditer(question):
            month_text = match.group("month").casefold().rstrip(".")
            month = int(month_text) if month_text.isdigit() else _MONTHS[month_text]
            try:
                day = date(int(match.group("year")), month, int(match.group("day")))
            except ValueError:
                continue
            if free(match.start(), match.end()):
                # A day named by one outlet may be the next or previous day in another's time zone.
                found.append(_Named(match.start(), match.end(), day - _SLACK, day + _SLACK, period=False))
    for match in _MONTH_YEAR.finditer(question):
        year, month = int(match.group("year")), _MONTHS[match.group("month").casefold().rstrip(".")]
        if free(match.start(), match.end()):
            found.append(_Named(match.start(), match.end(), *_month(year, month), period=True))
    if reference is not None:
        for match in _MONTH_ONLY.finditer(question):
            month = _MONTHS[match.group("month").casefold().rstrip(".")]
            # "in May" means the last May up to the reference date.
            year = reference.year if month <= reference.month else reference.year - 1
            start = match.start("month")
            if free(start, match.end()):
                found.append(_Named(start, match.end(), *_month(year, month), period=True))
    for match in _YEAR_ONLY.finditer(question):
        year = int(match.group("year"))
        if free(match.start("year"), match.end()):
            year_range = (date(year, 1, 1), date(year, 12, 31))
            found.append(_Named(match.start("year"), match.end(), *year_range, period=True))
    return sorted(found, key=lambda n: n.start)


def _bounded(question: str, named: _Named) -> tuple[date | None, date | None]:
    """The named date's range, opened on one side when it follows since/after or before/until.

    A day keeps its slack at the strict bounds: "after 16 November" starts on the 16th, since a
    report of the 17th may be dated the 16th elsewhere; "after November" starts on 1 December.
    """
    bound = _BOUND.search(question[: named.start])
    if bound is None:
        return named.first, named.last
    word = bound.group(1).casefold()
    if word in {"since", "from"}:
        return named.first, None
    if word == "after":
        return (named.last + timedelta(days=1) if named.period else named.first + _SLACK), None
    if word == "before":
        return None, (named.first - timedelta(days=1) if named.period else named.last - _SLACK)
    return None, named.last


def _absolute(question: str, reference: date | None) -> tuple[date | None, date | None, str] | None:
    """The range the named dates span; one date after since/before opens the range on one side, and
    a month or year of events (``_Named.of_events``) leaves it open after its first day."""
    found = _matches(question, reference)
    if not found:
        return None
    expression = "; ".join(question[n.start : n.end] for n in found)
    open_ended = any(n.of_events(question) for n in found)
    if len(found) == 1:
        named = found[0]
        low, high = _bounded(question, named)
        if (low, high) == (named.first, named.last) and open_ended:
            high = None
        return low, high, expression
    return min(n.first for n in found), None if open_ended else max(n.last for n in found), expression


def _relative(question: str, reference: date) -> tuple[date, date, str] | None:
    """A range relative to the reference date ("last week", "past 3 days", "this month", "today")."""
    match = _RELATIVE.search(question)
    if match is None:
        return None
    if match.group("today"):
        return reference, reference, match.group(0)
    if match.group("yesterday"):
        day = _days_before(reference, 1)
        return day, day, match.group(0)
    if match.group("this"):
        unit = match.group("thisunit").casefold()
        start = {
            "week": reference - timedelta(days=reference.weekday()),
            "month": reference.replace(day=1),
            "year": reference.replace(month=1, day=1),
        }[unit]
        return start, reference, match.group(0)
    count_text = (match.group("count") or "1").casefold()
    count = int(count_text) if count_text.isdigit() else _COUNTS[count_text]
    unit = match.group("unit").casefold().rstrip("s")
    return _days_before(reference, count * _UNIT_DAYS[unit]), reference, match.group(0)


def _days_before(reference: date, days: int) -> date:
    """The date that many days before the reference, or the first representable one ("past 10000000 days")."""
    return reference - timedelta(days=days) if days < (reference - date.min).days else date.min


def needs_reference(question: str) -> bool:
    """True when the question holds an expression only a reference date can resolve."""
    return bool(_RELATIVE.search(question) or _MONTH_ONLY.search(question))


def _range(question: str, reference: date | None) -> tuple[date | None, date | None, str] | None:
    """The dates the question names, else the relative range it names (with a reference date)."""
    found = _absolute(question, reference)
    if found is None and reference is not None:
        found = _relative(question, reference)
    return found


def parse_time(question: str, reference: date | None, reports: Sequence[str] = ()) -> TimeIntent:
    """The time intent of a question; relative expressions need the reference date.

    ``reports``: the parts of a question joined from several reports (its clauses naming an outlet,
    service.query_analysis). A date then restricts the answer only when each part names one: in
    "the Fortune article on October 4 and the TechCrunch article on the trial", the date is the
    Fortune article's, and the TechCrunch one may be of any day.
    """
    newest = _NEWEST.search(question)
    found = _range(question, reference)
    if found is not None and len(reports) > 1 and any(_range(r, reference) is None for r in reports):
        found = None
    if found is None:
        return TimeIntent(newest_first=newest is not None, expression=newest.group(0) if newest else "")
    low, high, expression = found
    return TimeIntent(low, high, newest is not None, expression)


def apply_intent(filters: Filters | None, intent: TimeIntent) -> Filters:
    """The request's filters narrowed by the intent's dates (the narrower bound of each side wins)."""
    base = filters or Filters()
    after = max((d for d in (base.published_after, intent.published_after) if d), default=None)
    before = min((d for d in (base.published_before, intent.published_before) if d), default=None)
    return replace(base, published_after=after, published_before=before)
