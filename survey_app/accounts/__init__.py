"""Staff accounts: signing in and out, passwords and reset links, and the administrators'
pages for accounts and roles. Who may see what (scope.py) and the decorator every staff
page uses (access.py) live here too."""

from . import auth_routes, sso_routes  # noqa: F401  (their pages join the blueprint)
from .routes import bp

__all__ = ["bp"]
