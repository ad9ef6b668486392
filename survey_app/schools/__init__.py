"""Schools and their pupils: the partnership's schools, each school's roll, a pupil's
record, sharing, leavers and the roster import."""

from . import import_routes, jobs, pupil_routes  # noqa: F401  (their pages join the blueprint; its jobs the queue)
from .routes import bp

__all__ = ["bp"]
