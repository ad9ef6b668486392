"""A cohort selection: which pupils and which rounds, read from and written to a URL query.

The selection is plain data (ids and codes). `parse_selection` validates raw query values
and reports every problem in words; `pupil_filter` turns a selection into one SQL
condition on Pupil, always inside the staff member's scope.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, and_, exists, false, select, true
from sqlalchemy.orm import aliased

from ..models import Pupil, Response, group_members, pupil_flag_members
from ..questionnaires.translations import CODE_PATTERN, SOURCE_LANGUAGE

SEN_CODES = {"N": "no SEN", "K": "SEN support", "E": "EHC plan"}
YES_NO = {"yes": True, "no": False}
MAX_ROUNDS = 6
MAX_IDS = 200


@dataclass(frozen=True)
class Split:
    """How to split the cohort into two sub-groups: 'group:ID', 'flag:ID', 'fsm', 'eal', 'sen',
    or 'lang:CODE' (the language of administration)."""

    kind: str
    ident: int | str | None = None

    @property
    def code(self) -> str:
        return f"{self.kind}:{self.ident}" if self.ident is not None else self.kind


@dataclass(frozen=True)
class CohortSelection:
    round_ids: tuple[int, ...] = ()
    school_ids: tuple[int, ...] = ()
    group_ids: tuple[int, ...] = ()
    year_groups: tuple[int, ...] = ()
    genders: tuple[str, ...] = ()
    sen: tuple[str, ...] = ()
    fsm: bool | None = None
    eal: bool | None = None
    flag_ids: tuple[int, ...] = ()
    split: Split | None = None
    # Languages of administration: pupils who answered a chosen round in one of them.
    languages: tuple[str, ...] = ()

    def query_items(self) -> list[tuple[str, str]]:
        """Return the selection as (name, value) pairs for a URL query string."""
        items: list[tuple[str, str]] = [("round", str(i)) for i in self.round_ids]
        items += [("school", str(i)) for i in self.school_ids]
        items += [("group", str(i)) for i in self.group_ids]
        items += [("year", str(y)) for y in self.year_groups]
        items += [("gender", g) for g in self.genders]
        items += [("sen", s) for s in self.sen]
        if self.fsm is not None:
            items.append(("fsm", "yes" if self.fsm else "no"))
        if self.eal is not None:
            items.append(("eal", "yes" if self.eal else "no"))
        items += [("flag", str(i)) for i in self.flag_ids]
        items += [("language", code) for code in self.languages]
        if self.split is not None:
            items.append(("split", self.split.code))
        return items

    def query_string(self) -> str:
        return urlencode(self.query_items())

    def without_split(self) -> CohortSelection:
        return replace(self, split=None)


@dataclass
class ParsedSelection:
    selection: CohortSelection
    errors: list[str] = field(default_factory=list)


def _ints(values: list[str], name: str, errors: list[str], low: int = 1, high: int = 2**31 - 1) -> tuple[int, ...]:
    out: list[int] = []
    for raw in values:
        raw = raw.strip()
        if not raw:
            continue
        try:
            value = int(raw)
        except ValueError:
            errors.append(f"\u201c{raw[:40]}\u201d is not a valid {name}.")
            continue
        if not low <= value <= high:
            errors.append(f"{value} is not a valid {name}.")
            continue
        if value not in out:
            out.append(value)
    if len(out) > MAX_IDS:
        errors.append(f"Choose at most {MAX_IDS} values for {name}.")
        out = out[:MAX_IDS]
    return tuple(out)


def _yes_no(values: list[str], name: str, errors: list[str]) -> bool | None:
    chosen = {v.strip().lower() for v in values if v.strip() and v.strip().lower() != "any"}
    if not chosen:
        return None
    if len(chosen) > 1 or not chosen <= YES_NO.keys():
        errors.append(f"{name} must be \u201cyes\u201d, \u201cno\u201d or \u201cany\u201d.")
        return None
    return YES_NO[chosen.pop()]


def _split(raw: str, errors: list[str]) -> Split | None:
    raw = raw.strip().lower()
    if not raw or raw == "none":
        return None
    if raw in ("fsm", "eal", "sen"):
        return Split(raw)
    kind, _, ident = raw.partition(":")
    if kind in ("group", "flag") and ident.isdigit() and 0 < int(ident) < 2**31:
        return Split(kind, int(ident))
    if kind == "lang" and _language_code(ident):
        return Split(kind, _language_code(ident))
    errors.append("The comparison must be a group, a flag, FSM, EAL, SEN or a language.")
    return None


def _language_code(raw: str) -> str | None:
    """Return a language code as responses store it ('cy', 'pa-Guru'), or None."""
    parts = raw.strip().split("-")
    code = "-".join([parts[0].lower(), *(p.title() if len(p) == 4 else p.upper() for p in parts[1:])])
    return code if code == SOURCE_LANGUAGE or CODE_PATTERN.match(code) else None


def _languages(values: list[str], errors: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for raw in values:
        if not raw.strip():
            continue
        code = _language_code(raw)
        if code is None:
            errors.append(f"\u201c{raw[:40]}\u201d is not a language code.")
        elif code not in out:
            out.append(code)
    return tuple(out[:MAX_IDS])


def parse_selection(args: Mapping[str, list[str]]) -> ParsedSelection:
    """Read a selection from query values ({name: [values]}); unknown names are ignored."""
    errors: list[str] = []

    def get(name: str) -> list[str]:
        return list(args.get(name, []))

    rounds = _ints(get("round"), "round", errors)
    if len(rounds) > MAX_ROUNDS:
        errors.append(f"Choose at most {MAX_ROUNDS} rounds.")
        rounds = rounds[:MAX_ROUNDS]
    years = _ints(get("year"), "year group", errors, 0, 14)
    genders = []
    for g in get("gender"):
        g = g.strip()
        if g and len(g) <= 20 and g not in genders:
            genders.append(g)
        elif len(g) > 20:
            errors.append("A gender value is too long.")
    sen = []
    for s in get("sen"):
        s = s.strip().upper()
        if not s:
            continue
        if s not in SEN_CODES:
            errors.append("SEN must be N (none), K (SEN support) or E (EHC plan).")
        elif s not in sen:
            sen.append(s)
    splits = [v for v in get("split") if v.strip()]
    split = _split(splits[0], errors) if splits else None
    selection = CohortSelection(
        round_ids=rounds,
        school_ids=_ints(get("school"), "school", errors),
        group_ids=_ints(get("group"), "group", errors),
        year_groups=years,
        genders=tuple(genders),
        sen=tuple(sen),
        fsm=_yes_no(get("fsm"), "FSM", errors),
        eal=_yes_no(get("eal"), "EAL", errors),
        flag_ids=_ints(get("flag"), "flag", errors),
        split=split,
        languages=_languages(get("language"), errors),
    )
    return ParsedSelection(selection, errors)


def pupil_filter(selection: CohortSelection, scope_condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Return one condition on Pupil: inside the scope and matching every chosen filter.

    Within a filter the values are alternatives (any of these year groups); filters
    combine with AND.
    """
    parts: list[ColumnElement[bool]] = [scope_condition]
    s = selection
    if s.school_ids:
        parts.append(Pupil.school_id.in_(s.school_ids))
    if s.group_ids:
        parts.append(exists(select(group_members.c.pupil_id).where(
            group_members.c.pupil_id == Pupil.id, group_members.c.group_id.in_(s.group_ids))))
    if s.year_groups:
        parts.append(Pupil.year_group.in_(s.year_groups))
    if s.genders:
        parts.append(Pupil.gender.in_(s.genders))
    if s.sen:
        parts.append(Pupil.sen.in_(s.sen))
    if s.fsm is not None:
        parts.append(Pupil.fsm.is_(s.fsm))
    if s.eal is not None:
        parts.append(Pupil.eal.is_(s.eal))
    if s.flag_ids:
        parts.append(exists(select(pupil_flag_members.c.pupil_id).where(
            pupil_flag_members.c.pupil_id == Pupil.id, pupil_flag_members.c.flag_id.in_(s.flag_ids))))
    if s.languages:
        parts.append(answered_in(s.languages, s.round_ids))
    return and_(*parts)


def answered_in(languages: Sequence[str], round_ids: Sequence[int]) -> ColumnElement[bool]:
    """Return the condition on Pupil: answered one of `round_ids` in one of `languages`."""
    given = aliased(Response)  # the outer query may join responses of its own
    return exists(select(given.id).where(
        given.pupil_id == Pupil.id, given.round_id.in_(round_ids),
        given.language.in_(languages)).correlate(Pupil))


def split_condition(split: Split, round_ids: Sequence[int] = ()) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Return (in the sub-group, the rest) conditions on Pupil for a split (a language split
    looks at the responses to `round_ids`)."""
    if split.kind == "group":
        inside: ColumnElement[bool] = exists(select(group_members.c.pupil_id).where(
            group_members.c.pupil_id == Pupil.id, group_members.c.group_id == split.ident))
    elif split.kind == "flag":
        inside = exists(select(pupil_flag_members.c.pupil_id).where(
            pupil_flag_members.c.pupil_id == Pupil.id, pupil_flag_members.c.flag_id == split.ident))
    elif split.kind == "fsm":
        inside = Pupil.fsm.is_(True)
    elif split.kind == "eal":
        inside = Pupil.eal.is_(True)
    elif split.kind == "sen":
        inside = Pupil.sen.in_(("K", "E"))
    elif split.kind == "lang":
        inside = answered_in([str(split.ident)], round_ids)
    else:  # pragma: no cover - parse_selection only makes the kinds above
        return false(), true()
    return inside, ~inside


__all__ = ["CohortSelection", "ParsedSelection", "Split", "parse_selection", "pupil_filter", "split_condition"]
