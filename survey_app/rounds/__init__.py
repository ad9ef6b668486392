"""Survey rounds: setting them up, codes and slips, live completion, paper answers, round statistics."""

from . import (  # noqa: F401  (their pages join the blueprint; its jobs the queue)
    code_routes,
    jobs,
    language_routes,
    live,
    paper_routes,
    research,
)
from .routes import bp

__all__ = ["bp"]
