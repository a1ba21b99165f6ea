"""How CLI commands end on a hopgraph error: a message on stderr, never a traceback.

Exit 1 when some input failed or was not found, 3 for any other hopgraph error.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from core.errors import HopgraphError, InputError, NotFoundError

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Wrap a command so hopgraph errors become a message and an exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (InputError, NotFoundError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except HopgraphError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(3)

    return wrapper  # type: ignore[return-value]
