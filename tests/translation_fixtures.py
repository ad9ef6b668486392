"""Small translation files made from a questionnaire, for tests (each text marked with its
language, so a test can tell which language a page shows)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from survey_app.questionnaires import Questionnaire

ROOT = Path(__file__).resolve().parent.parent

NAMES = {"cy": ("Cymraeg", "ltr"), "ur": ("اردو", "rtl"), "ar": ("العربية", "rtl"),
         "pl": ("polski", "ltr"), "de": ("Deutsch", "ltr")}


def _s(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def translation_toml(q: Questionnaire, lang: str, status: str = "draft", **changes) -> str:
    """Return a complete translation file of `q` whose texts read "<lang>: English".

    `changes` replaces settings (None leaves one out) and table entries; `factors` maps a
    factor key to {text name: value (None leaves it out)}, or to None to leave its table
    out; a key the questionnaire does not have adds that table."""
    language = lang
    name, direction = NAMES.get(language, (language, "ltr"))
    settings = {
        "instrument": q.key, "instrument_version": q.version, "language": language,
        "language_name": name, "direction": direction, "status": status,
        "reviewer": "A. Reviewer" if status == "reviewed" else "",
        "reviewed_on": "2026-12-01" if status == "reviewed" else "",
        "title": f"{language}: {q.title}", "introduction": f"{language}: {q.introduction}",
        "closing": f"{language}: {q.closing}",
        "voice_question": f"{language}: {q.voice_question}" if q.voice_question else None,
    }
    settings.update({k: v for k, v in changes.items() if k in settings})
    lines = [f"{k} = {_s(v)}" for k, v in settings.items() if v is not None]
    tables = {
        "scale": {str(o.value): f"{language}: {o.label}" for o in q.scale},
        "statements": {s.id: f"{language}: {s.text}" for s in q.statements},
        "easy": {s.id: f"{language}: {s.easy}" for s in q.statements if s.easy},
    }
    for table, entries in tables.items():
        entries.update(changes.get(table, {}))
        lines.append(f"[{table}]")
        lines += [f"{_s(k)} = {_s(v)}" for k, v in entries.items() if v is not None]
    factors = changes.get("factors", {})
    for f in q.factors:
        texts = {"strength": f.strength, "invitations": list(f.invitations),
                 "family_strength": f.family_strength, "family_focus": f.family_focus,
                 "family_help": list(f.family_help)}
        texts = {k: [f"{language}: {t}" for t in v] if isinstance(v, list) else f"{language}: {v}"
                 for k, v in texts.items() if v}
        if f.key in factors and factors[f.key] is None:
            continue  # a factor's table left out
        texts.update(factors.get(f.key, {}))
        if not texts:
            continue
        lines.append(f"[factors.{f.key}]")
        lines += [f"{k} = {_s(v)}" for k, v in texts.items() if v is not None]
    for key, texts in factors.items():
        if texts and key not in {f.key for f in q.factors}:
            lines.append(f"[factors.{key}]")
            lines += [f"{k} = {_s(v)}" for k, v in texts.items()]
    return "\n".join(lines) + "\n"


def questionnaire_dir(tmp_path: Path, q: Questionnaire, languages: dict[str, str]) -> Path:
    """Return a copy of questionnaires/ holding translations of `q` ({language: status})."""
    target = tmp_path / "questionnaires"
    target.mkdir()
    for path in (ROOT / "questionnaires").glob("*.toml"):
        shutil.copy(path, target / path.name)
    (target / "translations").mkdir()
    for language, status in languages.items():
        (target / "translations" / f"{q.key}.{language}.toml").write_text(
            translation_toml(q, language, status), encoding="utf-8")
    return target
