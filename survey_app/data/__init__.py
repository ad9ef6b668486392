"""Data protection: the audit log, subject access, erasure, retention, backups and the research export."""

from .routes import bp

__all__ = ["bp"]
