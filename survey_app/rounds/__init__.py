"""Survey rounds: setting them up, codes and slips, live completion, paper answers, round statistics."""

from . import code_routes, jobs, live, paper_routes, research  # noqa: F401  (their pages join the blueprint; its jobs the queue)
from .routes import bp

__all__ = ["bp"]
