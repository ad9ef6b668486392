"""Questionnaires: instrument files loaded and checked (loading.py) into frozen
definitions (definition.py), and stored as versions that answers point at (store.py).

Core: no Flask and no area imports.
"""

from .definition import (
    MAX_FACTORS,
    Band,
    Factor,
    Questionnaire,
    QuestionnaireError,
    ScaleOption,
    Statement,
    content_hash,
)
from .loading import load_directory, load_questionnaire, parse_definition

__all__ = [
    "MAX_FACTORS",
    "Band",
    "Factor",
    "Questionnaire",
    "QuestionnaireError",
    "ScaleOption",
    "Statement",
    "content_hash",
    "load_directory",
    "load_questionnaire",
    "parse_definition",
]
