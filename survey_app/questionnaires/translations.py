"""Translations of a questionnaire's pupil-facing texts, one TOML file per instrument and
language (`questionnaires/translations/<instrument>.<language>.toml`).

A translation is checked against the questionnaire it translates: every statement, every
easy wording and every answer label must be there, and the pupil and family texts the
questionnaire has (its `voice_question`; per factor a `[factors.<key>]` table of
`strength`, `invitations`, `family_strength`, `family_focus`, `family_help`, lists as long
as the English ones), the language code must be a real one
(known to Babel's copy of the Unicode CLDR), the version must be the questionnaire's, and
a `reviewed` translation names its reviewer and the date. `localised()` returns the
questionnaire with the translated texts in place of the English ones; ids, factor keys,
cut-offs and scoring stay as they are, so answers given in any language are scored alike.

Core: no Flask and no area imports.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError

from .definition import Factor, Questionnaire, QuestionnaireError, ScaleOption

SOURCE_LANGUAGE = "en"
STATUSES = ("draft", "reviewed")
DIRECTIONS = ("ltr", "rtl")
# BCP 47 as these files use it: a language, then an optional script and region.
CODE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$")
KNOWN_SETTINGS = {
    "instrument", "instrument_version", "language", "language_name", "direction", "status",
    "reviewer", "reviewed_on", "title", "introduction", "closing", "voice_question", "scale",
    "statements", "easy", "factors",
}
# A factor's pupil and family texts a translation gives: text or list, and what a list holds.
FACTOR_TEXTS = {"strength": None, "invitations": "questions", "family_strength": None,
                "family_focus": None, "family_help": "tips"}
DIRECTORY = "translations"


@dataclass(frozen=True)
class FactorTexts:
    """One factor's pupil and family texts in a translation (those the English has)."""

    strength: str = ""
    invitations: tuple[str, ...] = ()
    family_strength: str = ""
    family_focus: str = ""
    family_help: tuple[str, ...] = ()


@dataclass(frozen=True)
class Translation:
    """One checked translation of one questionnaire version."""

    instrument: str
    instrument_version: str
    language: str
    language_name: str
    direction: str
    status: str
    reviewer: str
    reviewed_on: str
    title: str
    introduction: str
    closing: str
    scale: Mapping[int, str] = field(repr=False)
    statements: Mapping[str, str] = field(repr=False)
    easy: Mapping[str, str] = field(repr=False)
    voice_question: str = ""
    factors: Mapping[str, FactorTexts] = field(default_factory=dict, repr=False)

    @property
    def is_draft(self) -> bool:
        return self.status != "reviewed"

    def summary(self) -> str:
        """Return a one-line description for the CLI."""
        who = f", reviewed by {self.reviewer} on {self.reviewed_on}" if not self.is_draft else ""
        factors = f", pupil and family texts for {len(self.factors)} factors" if self.factors else ""
        return (f"{self.language} {self.language_name} ({self.status}{who}), {self.direction}, "
                f"{len(self.statements)} statements{factors}")


def language_direction(code: str) -> str | None:
    """Return 'ltr' or 'rtl' for a language code Babel knows, or None for an unknown one."""
    try:
        locale = Locale.parse(code, sep="-")
    except (UnknownLocaleError, ValueError, TypeError):
        return None
    return "rtl" if locale.character_order == "right-to-left" else "ltr"


def load_translation(path: str | Path, q: Questionnaire) -> Translation:
    """Return the translation of `q` in the TOML file at `path`.

    Refuses (QuestionnaireError naming the file and each problem) a file that cannot be
    read or parsed, or that does not translate `q` completely and exactly.
    """
    path = Path(path)
    source = str(path)
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise QuestionnaireError(source, [f"cannot read the file ({exc.strerror})"]) from exc
    except UnicodeDecodeError as exc:
        raise QuestionnaireError(source, ["the file is not UTF-8 text"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise QuestionnaireError(source, [f"not valid TOML: {exc}"]) from exc
    expected = path.name.removesuffix(".toml")
    translation = parse_translation(data, q, source)
    if expected != f"{translation.instrument}.{translation.language}":
        raise QuestionnaireError(source, [
            f"file name: call it {translation.instrument}.{translation.language}.toml "
            "(instrument id, a dot, the language code)"])
    return translation


def parse_translation(data: Any, q: Questionnaire, source: str = "<translation>") -> Translation:
    """Return the translation of `q` described by `data` (a parsed TOML dict).

    Refuses (QuestionnaireError) with every problem found: a missing or unknown statement,
    easy wording, answer label, voice question or factor text (or a list of another length
    than the English), an unknown language code, a version other than `q`'s, a
    reviewed translation without reviewer and date, a setting it does not know.
    """
    if not isinstance(data, dict):
        raise QuestionnaireError(source, ["the top level must be a table of settings"])
    errors: list[str] = []

    def text(name: str, required: bool = True) -> str:
        value = data.get(name, None if required else "")
        if value is None:
            errors.append(f"{name}: missing")
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            errors.append(f"{name}: must be non-empty text")
            return ""
        return value.strip()

    instrument = text("instrument")
    if instrument and instrument != q.key:
        errors.append(f"instrument: {instrument!r} is not this questionnaire ({q.key!r})")
    version = text("instrument_version")
    if version and version != q.version:
        errors.append(f"instrument_version: {version!r} does not match the questionnaire's "
                      f"version {q.version!r}; translate the current version")
    language = text("language")
    direction_known = None
    if language:
        direction_known = language_direction(language) if CODE_PATTERN.match(language) else None
        if direction_known is None:
            errors.append(f"language: {language!r} is not a known BCP 47 language code "
                          "(e.g. 'cy', 'ur', 'pa-Guru')")
        elif language == SOURCE_LANGUAGE or language.startswith(SOURCE_LANGUAGE + "-"):
            errors.append("language: English is the questionnaire's own language")
    language_name = text("language_name")
    direction = text("direction")
    if direction and direction not in DIRECTIONS:
        errors.append(f"direction: must be 'ltr' or 'rtl', not {direction!r}")
    elif direction and direction_known and direction != direction_known:
        errors.append(f"direction: {language!r} is written {direction_known}, not {direction}")
    status = text("status")
    if status and status not in STATUSES:
        errors.append(f"status: must be 'draft' or 'reviewed', not {status!r}")
    reviewer = text("reviewer", required=False)
    reviewed_on = text("reviewed_on", required=False)
    if status == "reviewed":
        if not reviewer:
            errors.append("reviewer: a reviewed translation names its reviewer")
        if not reviewed_on:
            errors.append("reviewed_on: a reviewed translation gives the date (YYYY-MM-DD)")
    if reviewed_on:
        try:
            date.fromisoformat(reviewed_on)
        except ValueError:
            errors.append(f"reviewed_on: {reviewed_on!r} is not a date (YYYY-MM-DD)")
    title = text("title")
    introduction = text("introduction", required=bool(q.introduction))
    closing = text("closing", required=bool(q.closing))
    voice_question = text("voice_question", required=bool(q.voice_question))
    if voice_question and not q.voice_question:
        errors.append("voice_question: the questionnaire asks no voice question")

    scale = _table(data, "scale", [str(o.value) for o in q.scale], errors)
    statements = _table(data, "statements", [s.id for s in q.statements], errors)
    easy = _table(data, "easy", [s.id for s in q.statements if s.easy], errors,
                  optional=not any(s.easy for s in q.statements))
    factors = _factor_tables(data.get("factors"), q.factors, errors)
    for extra in sorted(set(data) - KNOWN_SETTINGS):
        errors.append(f"{extra}: unknown setting (check the spelling)")
    if errors:
        raise QuestionnaireError(source, errors)
    return Translation(
        instrument=instrument, instrument_version=version, language=language,
        language_name=language_name, direction=direction, status=status, reviewer=reviewer,
        reviewed_on=reviewed_on, title=title, introduction=introduction, closing=closing,
        scale={int(k): v for k, v in scale.items()}, statements=statements, easy=easy,
        voice_question=voice_question, factors=factors,
    )


def _table(data: dict, name: str, wanted: list[str], errors: list[str],
           optional: bool = False) -> dict[str, str]:
    """Return the [name] table as {key: text}, recording each missing, unknown or empty entry."""
    raw = data.get(name)
    if raw is None and (optional or not wanted):
        return {}
    if not isinstance(raw, dict):
        errors.append(f"[{name}]: missing (give one line per {_what(name)})")
        return {}
    out: dict[str, str] = {}
    for key in wanted:
        value = raw.get(key)
        if value is None:
            errors.append(f"{name}.{key}: missing")
        elif not isinstance(value, str) or not value.strip():
            errors.append(f"{name}.{key}: must be non-empty text")
        else:
            out[key] = value.strip()
    for key in sorted(set(raw) - set(wanted)):
        errors.append(f"{name}.{key}: the questionnaire has no such {_what(name)}")
    return out


def _factor_tables(raw: Any, factors: tuple[Factor, ...], errors: list[str]
                   ) -> dict[str, FactorTexts]:
    """Return {factor key: its translated texts} from the [factors.<key>] tables, recording
    each missing table, missing, empty or unknown text, list of the wrong length and
    unknown factor. A factor whose English has none of the texts needs no table."""
    wanted = {f.key: {name: getattr(f, name) for name in FACTOR_TEXTS if getattr(f, name)}
              for f in factors}
    wanted = {key: texts for key, texts in wanted.items() if texts}
    if raw is None and not wanted:
        return {}
    if not isinstance(raw, dict):
        errors.append("[factors]: missing (give one [factors.<key>] table per factor, "
                      "with its pupil and family texts)")
        return {}
    out: dict[str, FactorTexts] = {}
    for key, english in wanted.items():
        table = raw.get(key)
        if not isinstance(table, dict):
            errors.append(f"[factors.{key}]: missing" if table is None
                          else f"factors.{key}: must be a table of texts")
            continue
        found: dict[str, Any] = {}
        for name, source in english.items():
            value, place = table.get(name), f"factors.{key}.{name}"
            if value is None:
                errors.append(f"{place}: missing")
            elif FACTOR_TEXTS[name] is None:
                if not isinstance(value, str) or not value.strip():
                    errors.append(f"{place}: must be non-empty text")
                else:
                    found[name] = value.strip()
            elif not (isinstance(value, list)
                      and all(isinstance(v, str) and v.strip() for v in value)):
                errors.append(f"{place}: must be a list of non-empty texts")
            elif len(value) != len(source):
                errors.append(f"{place}: give {len(source)} {FACTOR_TEXTS[name]}, "
                              "as the English does")
            else:
                found[name] = tuple(v.strip() for v in value)
        for name in sorted(set(table) - set(english)):
            errors.append(f"factors.{key}.{name}: " + (
                "the questionnaire has no such text for this factor" if name in FACTOR_TEXTS
                else "unknown text (check the spelling)"))
        out[key] = FactorTexts(**found)
    known = {f.key for f in factors}
    for key in sorted(set(raw) - set(wanted)):
        errors.append(f"factors.{key}: " + ("the questionnaire has no such factor"
                                            if key not in known else
                                            "the questionnaire has no texts for this factor"))
    return out


def _what(name: str) -> str:
    return {"scale": "answer value", "statements": "statement",
            "easy": "statement with an easy wording"}[name]


def translation_files(directory: str | Path, instrument: str) -> list[Path]:
    """Return the translation files of `instrument` under `directory`/translations."""
    return sorted((Path(directory) / DIRECTORY).glob(f"{instrument}.*.toml"))


def load_translations(directory: str | Path, questionnaires: Iterable[Questionnaire]
                      ) -> dict[str, dict[str, Translation]]:
    """Return {instrument id: {language: translation}} for the files under
    `directory`/translations (none: empty).

    Refuses (QuestionnaireError, every problem of every file) when any file there is
    invalid or translates no questionnaire of `questionnaires`.
    """
    by_key = {q.key: q for q in questionnaires}
    out: dict[str, dict[str, Translation]] = {}
    errors: list[QuestionnaireError] = []
    for path in sorted((Path(directory) / DIRECTORY).glob("*.toml")):
        q = by_key.get(path.name.split(".", 1)[0])
        if q is None:
            errors.append(QuestionnaireError(str(path), [
                f"no questionnaire {path.name.split('.', 1)[0]!r} in {directory}"]))
            continue
        try:
            tr = load_translation(path, q)
        except QuestionnaireError as exc:
            errors.append(exc)
            continue
        out.setdefault(q.key, {})[tr.language] = tr
    if errors:
        raise QuestionnaireError("translations", [str(e) for e in errors])
    return out


def with_translations(q: Questionnaire, translations: Mapping[str, Translation]) -> Questionnaire:
    """Return `q` carrying its translations (by language code); its hash is unchanged."""
    return dataclasses.replace(q, translations=dict(translations))


def localised(q: Questionnaire, tr: Translation) -> Questionnaire:
    """Return `q` with the pupil-facing texts of `tr` (statements, answers, voice question,
    each factor's pupil and family texts); ids, factor keys and names, cut-offs, scoring
    and the content hash (which names the version answers belong to) stay the same."""
    statements = tuple(
        dataclasses.replace(s, text=tr.statements[s.id],
                            easy=tr.easy.get(s.id) if s.easy else None)
        for s in q.statements
    )
    factors = tuple(_localised_factor(f, tr.factors.get(f.key)) for f in q.factors)
    return dataclasses.replace(
        q, title=tr.title, introduction=tr.introduction or q.introduction,
        closing=tr.closing or q.closing, voice_question=tr.voice_question or q.voice_question,
        factors=factors,
        scale=tuple(ScaleOption(o.value, tr.scale[o.value]) for o in q.scale),
        statements=statements, language=tr.language, direction=tr.direction,
    )


def _localised_factor(f: Factor, texts: FactorTexts | None) -> Factor:
    if texts is None:
        return f
    return dataclasses.replace(f, **{name: getattr(texts, name) for name in FACTOR_TEXTS
                                     if getattr(texts, name)})


_cache: dict[tuple[str, str, str], tuple[tuple, dict[str, Translation]]] = {}


def translations_of(directory: str | Path, q: Questionnaire) -> dict[str, Translation]:
    """Return {language: translation} of `q` from the files under `directory`/translations
    that translate exactly this version; a file that does not (another version, or any
    problem `check-questionnaire` reports) is left out, so a pupil never sees half of one.

    Read again only when a file there changes (cached per process by name and time).
    """
    paths = translation_files(directory, q.key)
    signature = tuple((p.name, p.stat().st_mtime_ns) for p in paths)
    key = (str(directory), q.key, q.content_hash)
    cached = _cache.get(key)
    if cached is not None and cached[0] == signature:
        return cached[1]
    found: dict[str, Translation] = {}
    for path in paths:
        try:
            tr = load_translation(path, q)
        except QuestionnaireError:
            continue
        found[tr.language] = tr
    _cache[key] = (signature, found)
    return found


def usable_languages(found: Mapping[str, Translation], offered: Iterable[str],
                     allow_drafts: bool) -> dict[str, Translation]:
    """Return the translations a round lets pupils use: those it offers, drafts only when
    it allows them (a round that stops allowing drafts stops showing them at once)."""
    return {code: found[code] for code in offered
            if code in found and (allow_drafts or not found[code].is_draft)}


@dataclass(frozen=True)
class LanguageName:
    """A language as a picker shows it: its code, its own name and its direction."""

    code: str
    name: str
    direction: str


_names_cache: dict[str, tuple[tuple, dict[str, LanguageName]]] = {}


def known_languages(directory: str | Path) -> dict[str, LanguageName]:
    """Return every language some translation file under `directory`/translations names
    (a valid code and name), by code: what a pupil may pick before signing in. The round
    decides, once the pupil has signed in, which of them it offers."""
    paths = sorted((Path(directory) / DIRECTORY).glob("*.toml"))
    signature = tuple((p.name, p.stat().st_mtime_ns) for p in paths)
    cached = _names_cache.get(str(directory))
    if cached is not None and cached[0] == signature:
        return cached[1]
    found: dict[str, LanguageName] = {}
    for path in paths:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        code, name = data.get("language"), data.get("language_name")
        if not (isinstance(code, str) and CODE_PATTERN.match(code) and isinstance(name, str)
                and name.strip()):
            continue
        direction = language_direction(code)
        if direction is not None:
            found[code] = LanguageName(code, name.strip(), direction)
    found = dict(sorted(found.items(), key=lambda item: item[1].name.casefold()))
    _names_cache[str(directory)] = (signature, found)
    return found


def language_label(code: str) -> str:
    """Return a language's name in English for staff pages ('Welsh'), or the code itself."""
    try:
        return Locale.parse(code, sep="-").get_display_name("en") or code
    except (UnknownLocaleError, ValueError, TypeError):
        return code
