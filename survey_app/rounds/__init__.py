"""Survey rounds: setting them up, codes and slips, live completion, paper answers, round statistics."""

from . import code_routes, language_routes, live, paper_routes, research  # noqa: F401  (their pages join the blueprint)
from .routes import bp

__all__ = ["bp"]
