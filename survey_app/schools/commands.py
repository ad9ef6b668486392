"""Flask commands of this area (registered by survey_app.cli.register_cli)."""

from __future__ import annotations

COMMANDS: list = []
