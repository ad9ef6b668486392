"""Data protection: the audit log, subject access, erasure, retention, backups and the research export."""

from . import jobs  # noqa: F401  (retention and backups join the job queue)
from .routes import bp

__all__ = ["bp"]
