"""Groups: programmes and classes, across schools and year groups, their staff and pupils."""

from . import members  # noqa: F401  (their pages join the blueprint)
from .routes import bp

__all__ = ["bp"]
