"""What a questionnaire is, as plain frozen data: scale, bands, factors, statements.

Made by loading.py from a file, or by store.py from a stored QuestionnaireVersion.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..models.responses import FACTOR_SLOTS

MIN_STATEMENTS_PER_FACTOR = 3
# The cohort tables keep one set of columns per factor position (models.ResponseScores).
MAX_FACTORS = FACTOR_SLOTS
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
ITEM_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
FACTOR_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
MODES = ("single", "page")
# Per factor: at most this many invitation questions and family ideas.
MAX_FACTOR_PROMPTS = 3


class QuestionnaireError(ValueError):
    """A questionnaire file that cannot be used; `errors` lists every problem found."""

    def __init__(self, source: str, errors: list[str]):
        self.source = source
        self.errors = errors
        super().__init__("\n".join(f"{source}: {e}" for e in errors))


@dataclass(frozen=True)
class ScaleOption:
    value: int
    label: str


@dataclass(frozen=True)
class Band:
    key: str
    label: str
    description: str = ""


@dataclass(frozen=True)
class Factor:
    key: str
    name: str
    description: str
    cutoffs: tuple[float, ...]
    ideas: tuple[str, ...] = ()
    reference_mean: float | None = None
    reference_sd: float | None = None
    reference_alpha: float | None = None
    # The pupil's and the family's words for this factor (all optional): what the pupil
    # feels good about ("You feel you can learn new things."), questions that invite them
    # to think, and for families what the child feels good about, what they are working
    # on and how families can help at home.
    strength: str = ""
    invitations: tuple[str, ...] = ()
    family_strength: str = ""
    family_focus: str = ""
    family_help: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statement:
    id: str
    factor: str
    text: str
    reversed: bool = False
    easy: str | None = None
    pair: str | None = None


@dataclass(frozen=True)
class Questionnaire:
    """A validated questionnaire; `definition` is the JSON-able form that is stored."""

    key: str
    version: str
    title: str
    age_min: int
    age_max: int
    default_mode: str
    page_size: int
    min_seconds_per_statement: float
    introduction: str
    closing: str
    scale: tuple[ScaleOption, ...]
    bands: tuple[Band, ...]
    factors: tuple[Factor, ...]
    statements: tuple[Statement, ...]
    definition: dict[str, Any] = field(repr=False, compare=False)
    content_hash: str = ""
    # The optional free-text question at the end of a round that asks for pupil voice.
    voice_question: str = ""
    # The language the texts above are in (translations.localised swaps them), and the
    # checked translations by language code (translations.with_translations).
    language: str = "en"
    direction: str = "ltr"
    translations: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def scale_min(self) -> int:
        return min(o.value for o in self.scale)

    @property
    def scale_max(self) -> int:
        return max(o.value for o in self.scale)

    @property
    def scale_values(self) -> frozenset[int]:
        return frozenset(o.value for o in self.scale)

    @property
    def statement_ids(self) -> frozenset[str]:
        return frozenset(s.id for s in self.statements)

    def statements_of(self, factor_key: str) -> list[Statement]:
        """Return the statements of one factor, in presentation order."""
        return [s for s in self.statements if s.factor == factor_key]

    def summary(self) -> str:
        """Return a one-line description for the CLI and logs."""
        return (
            f"{self.key} v{self.version} '{self.title}': {len(self.statements)} statements, "
            f"{len(self.factors)} factors, {len(self.scale)}-point scale, "
            f"{len(self.bands)} bands, ages {self.age_min}-{self.age_max}"
        )


def content_hash(definition: dict[str, Any]) -> str:
    """Return the SHA-256 of a definition's canonical JSON form."""
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
