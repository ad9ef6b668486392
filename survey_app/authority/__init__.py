"""The authority (or trust) view: every school beside the others, aggregates only; and
the administrator's pages that set an authority up."""

from .admin_routes import bp as admin_bp
from .routes import bp

__all__ = ["admin_bp", "bp"]
