"""Load and validate questionnaire files (TOML) into plain, frozen definitions.

A definition is checked as a whole and every problem is reported with the file and the
place (`statements[12] (id 's13').factor`), so a researcher can fix a file in one go.
No Flask and no database here: store.py freezes a definition into a QuestionnaireVersion
row.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .definition import (
    FACTOR_PATTERN,
    ID_PATTERN,
    ITEM_PATTERN,
    MAX_FACTOR_PROMPTS,
    MAX_FACTORS,
    MIN_STATEMENTS_PER_FACTOR,
    MODES,
    Band,
    Factor,
    Questionnaire,
    QuestionnaireError,
    ScaleOption,
    Statement,
    content_hash,
)
from .translations import load_translations, with_translations


def load_questionnaire(path: str | Path) -> Questionnaire:
    """Return the validated questionnaire in the TOML file at `path`.

    Refuses (QuestionnaireError naming the file and each place) a file that cannot be
    read, is not valid TOML, or breaks any rule of questionnaires/README.md.
    """
    path = Path(path)
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise QuestionnaireError(source, [f"cannot read the file ({exc.strerror})"]) from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise QuestionnaireError(source, ["the file is not UTF-8 text"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise QuestionnaireError(source, [f"not valid TOML: {exc}"]) from exc
    return parse_definition(data, source)


def load_directory(directory: str | Path) -> list[Questionnaire]:
    """Return every valid questionnaire in `directory` (sorted by file name), each carrying
    its translations from `directory`/translations.

    Refuses (QuestionnaireError) when any file there, translations included, is invalid.
    """
    questionnaires = [load_questionnaire(p) for p in sorted(Path(directory).glob("*.toml"))]
    found = load_translations(directory, questionnaires)
    return [with_translations(q, found.get(q.key, {})) for q in questionnaires]


def parse_definition(data: Any, source: str = "<definition>") -> Questionnaire:
    """Return the questionnaire described by `data` (a parsed TOML or stored JSON dict).

    Refuses (QuestionnaireError) with every problem found.
    """
    errors: list[str] = []
    if not isinstance(data, dict):
        raise QuestionnaireError(source, ["the top level must be a table of settings"])
    check = _Checker(errors)

    key = check.string(data, "id", "id")
    if key and not ID_PATTERN.match(key):
        errors.append("id: use lowercase letters, digits and dashes (e.g. 'pass9-secondary')")
    version = check.string(data, "version", "version")
    title = check.string(data, "title", "title")
    age_min = check.integer(data, "age_min", "age_min", minimum=3, maximum=25)
    age_max = check.integer(data, "age_max", "age_max", minimum=3, maximum=25)
    if age_min is not None and age_max is not None and age_min > age_max:
        errors.append("age_min: must not be above age_max")
    default_mode = data.get("default_mode", "page")
    if default_mode not in MODES:
        errors.append(f"default_mode: must be one of {', '.join(MODES)}, not {default_mode!r}")
    page_size = check.integer(data, "page_size", "page_size", minimum=1, maximum=100, default=10)
    min_seconds = check.number(
        data, "min_seconds_per_statement", "min_seconds_per_statement", default=1.0
    )
    introduction = check.string(data, "introduction", "introduction", default="")
    closing = check.string(data, "closing", "closing", default="")
    voice_question = check.string(data, "voice_question", "voice_question", default="")

    scale = _parse_scale(data.get("scale"), errors)
    bands = _parse_bands(data.get("bands"), errors)
    default_cutoffs = _parse_cutoffs(data.get("cutoffs"), "cutoffs", len(bands), errors)
    factors = _parse_factors(data.get("factors"), default_cutoffs, len(bands), errors)
    statements = _parse_statements(data.get("statements"), factors, errors)
    if scale:
        # A factor's answers are packed into one 63-bit integer for reliability sums
        # (scoring.reliability.encode_items): one digit per statement, in base high - low + 1.
        width = max(o.value for o in scale) - min(o.value for o in scale) + 1
        for f in factors:
            n = sum(1 for s in statements if s.factor == f.key)
            if width ** n >= 2 ** 62:
                errors.append(f"factors (key '{f.key}'): too many statements ({n}) for a "
                              f"scale of {width} points; at most {_most_statements(width)}")

    known = {
        "id", "version", "title", "age_min", "age_max", "default_mode", "page_size",
        "min_seconds_per_statement", "introduction", "closing", "voice_question", "scale", "bands", "cutoffs",
        "factors", "statements",
    }
    for extra in sorted(set(data) - known):
        errors.append(f"{extra}: unknown setting (check the spelling)")

    if errors:
        raise QuestionnaireError(source, errors)
    definition = {
        "id": key,
        "version": version,
        "title": title,
        "age_min": age_min,
        "age_max": age_max,
        "default_mode": default_mode,
        "page_size": page_size,
        "min_seconds_per_statement": min_seconds,
        "introduction": introduction,
        "closing": closing,
        **({"voice_question": voice_question} if voice_question else {}),
        "scale": {"options": [{"value": o.value, "label": o.label} for o in scale]},
        "bands": [vars(b).copy() for b in bands],
        "cutoffs": list(default_cutoffs),
        "factors": [_factor_json(f) for f in factors],
        "statements": [_statement_json(s) for s in statements],
    }
    return Questionnaire(
        key=key,
        version=version,
        title=title,
        age_min=age_min,
        age_max=age_max,
        default_mode=default_mode,
        page_size=page_size,
        min_seconds_per_statement=float(min_seconds),
        introduction=introduction,
        closing=closing,
        scale=tuple(scale),
        bands=tuple(bands),
        factors=tuple(factors),
        statements=tuple(statements),
        definition=definition,
        content_hash=content_hash(definition),
        voice_question=voice_question or "",
    )


def _factor_json(f: Factor) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": f.key,
        "name": f.name,
        "description": f.description,
        "cutoffs": list(f.cutoffs),
        "ideas": list(f.ideas),
    }
    for name in ("reference_mean", "reference_sd", "reference_alpha"):
        if getattr(f, name) is not None:
            out[name] = getattr(f, name)
    # Only what the file gives, so a file without these keys keeps its content hash.
    for name in WORDING_TEXTS:
        if getattr(f, name):
            out[name] = getattr(f, name)
    for name in WORDING_LISTS:
        if getattr(f, name):
            out[name] = list(getattr(f, name))
    return out


WORDING_TEXTS = ("strength", "family_strength", "family_focus")
WORDING_LISTS = ("invitations", "family_help")


def _parse_wording(f: dict, place: str, errors: list[str]) -> dict[str, Any]:
    """Return the factor's optional pupil and family wording, recording each bad value."""
    out: dict[str, Any] = {}
    for name in WORDING_TEXTS:
        value = f.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            errors.append(f"{place}.{name}: must be non-empty text when given")
            continue
        out[name] = value.strip()
    for name in WORDING_LISTS:
        value = f.get(name)
        if value is None:
            continue
        if (not isinstance(value, list) or not value or len(value) > MAX_FACTOR_PROMPTS
                or not all(isinstance(x, str) and x.strip() for x in value)):
            errors.append(f"{place}.{name}: must be a list of 1 to {MAX_FACTOR_PROMPTS} non-empty texts")
            continue
        out[name] = tuple(x.strip() for x in value)
    return out


def _statement_json(s: Statement) -> dict[str, Any]:
    out: dict[str, Any] = {"id": s.id, "factor": s.factor, "text": s.text, "reversed": s.reversed}
    if s.easy:
        out["easy"] = s.easy
    if s.pair:
        out["pair"] = s.pair
    return out


class _Checker:
    """Reads typed values from a table, recording a message for each bad one."""

    def __init__(self, errors: list[str]):
        self.errors = errors

    def string(self, table: dict, name: str, place: str, default: str | None = None):
        value = table.get(name, default)
        if value is None:
            self.errors.append(f"{place}: missing")
            return None
        if not isinstance(value, str) or (default is None and not value.strip()):
            self.errors.append(f"{place}: must be non-empty text")
            return None
        return value.strip()

    def integer(self, table, name, place, minimum=None, maximum=None, default=None):
        value = table.get(name, default)
        if value is None:
            self.errors.append(f"{place}: missing")
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self.errors.append(f"{place}: must be a whole number")
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.errors.append(f"{place}: must be between {minimum} and {maximum}")
            return None
        return value

    def number(self, table, name, place, default=None):
        value = table.get(name, default)
        if value is None:
            self.errors.append(f"{place}: missing")
            return None
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            self.errors.append(f"{place}: must be a number, zero or more")
            return None
        return float(value)


def _parse_scale(raw: Any, errors: list[str]) -> list[ScaleOption]:
    if raw is None:
        errors.append("scale: missing (give [scale] options = [{ value = 4, label = ... }, ...])")
        return []
    options = raw.get("options") if isinstance(raw, dict) else None
    if not isinstance(options, list) or len(options) < 2:
        errors.append("scale.options: needs at least two options")
        return []
    out: list[ScaleOption] = []
    seen: set[int] = set()
    for i, opt in enumerate(options):
        place = f"scale.options[{i}]"
        if not isinstance(opt, dict):
            errors.append(f"{place}: must be a table with value and label")
            continue
        value, label = opt.get("value"), opt.get("label")
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(f"{place}.value: must be a whole number")
            continue
        if not isinstance(label, str) or not label.strip():
            errors.append(f"{place}.label: must be non-empty text")
            continue
        if value in seen:
            errors.append(f"{place}.value: {value} is used twice in the scale")
            continue
        seen.add(value)
        out.append(ScaleOption(value, label.strip()))
    if len(out) >= 2 and max(seen) - min(seen) < 1:
        errors.append("scale.options: values must differ")
    return out


def _parse_bands(raw: Any, errors: list[str]) -> list[Band]:
    if not isinstance(raw, list) or len(raw) < 2:
        errors.append("bands: needs at least two [[bands]] tables, lowest first")
        return []
    out: list[Band] = []
    seen: set[str] = set()
    for i, band in enumerate(raw):
        place = f"bands[{i}]"
        if not isinstance(band, dict):
            errors.append(f"{place}: must be a table with key and label")
            continue
        key, label = band.get("key"), band.get("label")
        if not isinstance(key, str) or not FACTOR_PATTERN.match(key):
            errors.append(f"{place}.key: use lowercase letters, digits and underscores")
            continue
        if key in seen:
            errors.append(f"{place}.key: duplicate band '{key}'")
            continue
        if not isinstance(label, str) or not label.strip():
            errors.append(f"{place}.label: must be non-empty text")
            continue
        seen.add(key)
        out.append(Band(key, label.strip(), str(band.get("description", "")).strip()))
    return out


def _parse_cutoffs(raw: Any, place: str, n_bands: int, errors: list[str]) -> tuple[float, ...]:
    if not isinstance(raw, list) or not all(
        isinstance(c, int | float) and not isinstance(c, bool) for c in raw
    ):
        errors.append(f"{place}: must be a list of numbers (one fewer than the bands)")
        return ()
    cutoffs = tuple(float(c) for c in raw)
    if n_bands and len(cutoffs) != n_bands - 1:
        errors.append(f"{place}: {len(cutoffs)} cut-offs for {n_bands} bands; give {n_bands - 1}")
    if any(c <= 0 or c >= 100 for c in cutoffs):
        errors.append(f"{place}: cut-offs must lie between 0 and 100")
    if any(b <= a for a, b in zip(cutoffs, cutoffs[1:], strict=False)):
        errors.append(f"{place}: cut-offs out of order; they must rise strictly {list(cutoffs)}")
    return cutoffs


def _optional_number(raw: dict, name: str, place: str, errors: list[str]) -> float | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        errors.append(f"{place}.{name}: must be a number, zero or more")
        return None
    return float(value)


def _parse_factors(raw, default_cutoffs, n_bands, errors) -> list[Factor]:
    if not isinstance(raw, list) or not raw:
        errors.append("factors: needs at least one [[factors]] table")
        return []
    if len(raw) > MAX_FACTORS:
        errors.append(f"factors: {len(raw)} factors; a questionnaire has at most {MAX_FACTORS}")
        return []
    out: list[Factor] = []
    seen: set[str] = set()
    for i, f in enumerate(raw):
        place = f"factors[{i}]"
        if not isinstance(f, dict):
            errors.append(f"{place}: must be a table")
            continue
        key = f.get("key")
        if not isinstance(key, str) or not FACTOR_PATTERN.match(key):
            errors.append(f"{place}.key: use lowercase letters, digits and underscores")
            continue
        place = f"{place} (key '{key}')"
        if key in seen:
            errors.append(f"{place}: duplicate factor key '{key}'")
            continue
        seen.add(key)
        name, description = f.get("name"), f.get("description", "")
        if not isinstance(name, str) or not name.strip():
            errors.append(f"{place}.name: must be non-empty text")
            continue
        if not isinstance(description, str):
            errors.append(f"{place}.description: must be text")
            continue
        ideas = f.get("ideas", [])
        if not isinstance(ideas, list) or not all(isinstance(x, str) for x in ideas):
            errors.append(f"{place}.ideas: must be a list of text")
            ideas = []
        cutoffs = (
            _parse_cutoffs(f["cutoffs"], f"{place}.cutoffs", n_bands, errors)
            if "cutoffs" in f
            else default_cutoffs
        )
        alpha = _optional_number(f, "reference_alpha", place, errors)
        if alpha is not None and alpha >= 1:
            errors.append(f"{place}.reference_alpha: must be below 1")
        out.append(
            Factor(
                key=key,
                name=name.strip(),
                description=description.strip(),
                cutoffs=cutoffs,
                ideas=tuple(x.strip() for x in ideas),
                reference_mean=_optional_number(f, "reference_mean", place, errors),
                reference_sd=_optional_number(f, "reference_sd", place, errors),
                reference_alpha=alpha,
                **_parse_wording(f, place, errors),
            )
        )
    return out


def _most_statements(width: int) -> int:
    n = 0
    while width ** (n + 1) < 2 ** 62:
        n += 1
    return n


def _parse_statements(raw, factors: list[Factor], errors: list[str]) -> list[Statement]:
    if not isinstance(raw, list) or not raw:
        errors.append("statements: needs [[statements]] tables")
        return []
    factor_keys = {f.key for f in factors}
    out: list[Statement] = []
    seen: set[str] = set()
    for i, s in enumerate(raw):
        place = f"statements[{i}]"
        if not isinstance(s, dict):
            errors.append(f"{place}: must be a table")
            continue
        sid = s.get("id")
        if not isinstance(sid, str) or not ITEM_PATTERN.match(sid):
            errors.append(f"{place}.id: use letters, digits, '-' or '_' (at most 40)")
            continue
        place = f"{place} (id '{sid}')"
        if sid in seen:
            errors.append(f"{place}: duplicate statement id '{sid}'")
            continue
        seen.add(sid)
        factor, text = s.get("factor"), s.get("text")
        if factor not in factor_keys:
            errors.append(f"{place}.factor: unknown factor {factor!r}")
            continue
        if not isinstance(text, str) or not text.strip():
            errors.append(f"{place}.text: must be non-empty text")
            continue
        reversed_ = s.get("reversed", False)
        if not isinstance(reversed_, bool):
            errors.append(f"{place}.reversed: must be true or false")
            continue
        easy = s.get("easy")
        if easy is not None and (not isinstance(easy, str) or not easy.strip()):
            errors.append(f"{place}.easy: must be non-empty text when given")
            continue
        pair = s.get("pair")
        if pair is not None and not isinstance(pair, str):
            errors.append(f"{place}.pair: must be a statement id")
            continue
        out.append(
            Statement(sid, factor, text.strip(), reversed_, easy.strip() if easy else None, pair)
        )

    by_id = {s.id: s for s in out}
    for s in out:
        if s.pair is None:
            continue
        twin = by_id.get(s.pair)
        place = f"statement '{s.id}'.pair"
        if twin is None:
            errors.append(f"{place}: no statement with id '{s.pair}'")
        elif not s.reversed or twin.reversed:
            errors.append(f"{place}: a pair joins a reversed statement to a non-reversed one")
        elif twin.factor != s.factor:
            errors.append(f"{place}: '{s.pair}' belongs to another factor")
    for f in factors:
        n = sum(1 for s in out if s.factor == f.key)
        if n < MIN_STATEMENTS_PER_FACTOR:
            errors.append(
                f"factors (key '{f.key}'): too few statements ({n}); "
                f"each factor needs at least {MIN_STATEMENTS_PER_FACTOR}"
            )
    return out
