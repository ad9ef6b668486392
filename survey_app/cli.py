"""The command line: `flask --app survey_app COMMAND`. Each area brings its own commands
(its commands.py); this module only registers them."""

from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    """Add every area's commands to `flask --app survey_app`."""
    from .accounts.commands import COMMANDS as account_commands
    from .authority.commands import COMMANDS as authority_commands
    from .cohort.commands import COMMANDS as cohort_commands
    from .data.commands import COMMANDS as data_commands
    from .demo.commands import COMMANDS as demo_commands
    from .instruments.commands import COMMANDS as instrument_commands
    from .jobs.commands import COMMANDS as job_commands
    from .reviews.commands import COMMANDS as review_commands
    from .rounds.commands import COMMANDS as round_commands
    from .schools.commands import COMMANDS as school_commands
    from .tracking.commands import COMMANDS as tracking_commands

    for command in (*instrument_commands, *demo_commands, *account_commands, *school_commands,
                    *round_commands, *data_commands, *cohort_commands, *job_commands,
                    *tracking_commands, *review_commands, *authority_commands):
        app.cli.add_command(command)
