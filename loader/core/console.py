"""The one way usage-loader makes a rich Console, for everything it prints (the commands' tables
and footers in `loader/cli.py`, the run report's tables, the pipeline summary).

On a terminal: rich's colours, styles and progress bar (rich's own rules: `NO_COLOR`, a dumb
terminal), tables at the terminal's width. Piped to
a file or a log (not a terminal): plain text, not one ANSI escape code whatever `FORCE_COLOR` or
`TTY_COMPATIBLE` say, and lines as long as their content, so that a table never cuts or wraps an
External ID, a reason or an amount.
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console

# Wide enough for any line the loader prints: tables are as wide as their content, never wider.
PLAIN_WIDTH = 1_000_000


def is_terminal(*, stderr: bool = False) -> bool:
    """Whether stdout (or stderr) is a terminal, where colours and a progress bar belong."""
    stream: TextIO = sys.stderr if stderr else sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def make_console(*, stderr: bool = False, soft_wrap: bool = False) -> Console:
    """A console on stdout (or stderr): rich on a terminal, plain and whole text elsewhere.

    `soft_wrap` leaves long lines of text to the terminal to wrap (a message, not a table).
    """
    if is_terminal(stderr=stderr):
        return Console(stderr=stderr, highlight=False, soft_wrap=soft_wrap)
    return Console(
        stderr=stderr,
        force_terminal=False,
        force_interactive=False,
        color_system=None,
        highlight=False,
        emoji=False,
        width=PLAIN_WIDTH,
        soft_wrap=True,
    )
