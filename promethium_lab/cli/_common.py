"""What every ``promethium-lab`` command shares: the error wrapper and the ``KEY=VALUE`` parser.

Every command of a :class:`CliApp` runs inside :func:`handle_errors`, so a command added
later is covered without remembering a decorator:

* a :class:`~promethium_lab.core.errors.PromethiumError` prints ``code: message (hint)``
  and exits with :data:`EXIT_ERROR` (2), as click does for a usage error;
* Ctrl-C exits with :data:`EXIT_INTERRUPTED` (130);
* any other exception is a bug: one line
  ``PL-INTERNAL: <type>: <message> (a bug: the traceback is in <log file>)``, the
  traceback written to ``<data_dir>/logs/cli-<time>-<pid>.log``, exit status
  :data:`EXIT_INTERNAL` (3). With ``--debug`` (or ``PROMETHIUM_DEBUG=1``) the traceback
  is printed instead.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import typer

from promethium_lab.core.errors import ErrorCode, PromethiumError

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "INTERNAL_PREFIX",
    "CliApp",
    "debug_enabled",
    "handle_errors",
    "parse_params",
    "report_internal",
    "set_debug",
]

#: exit status of a typed error (and of click's usage errors)
EXIT_ERROR = 2
#: exit status of an unexpected exception (a bug)
EXIT_INTERNAL = 3
#: exit status after Ctrl-C
EXIT_INTERRUPTED = 130
#: what the one line of an unexpected exception starts with. Not an :class:`ErrorCode`:
#: such an exception has no code; a job that failed that way records ``PL-INT-001``.
INTERNAL_PREFIX = "PL-INTERNAL"

_F = TypeVar("_F", bound=Callable[..., Any])
_debug = False


def _click_exception() -> type[Exception]:
    """Click's ``ClickException`` as typer uses it (its own copy of click since 0.2x)."""
    return next((c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"),
                typer.BadParameter)


#: exceptions click's standalone mode handles itself: exits, aborts, usage errors
_CLICK_HANDLED: tuple[type[BaseException], ...] = (typer.Exit, typer.Abort, _click_exception())


def set_debug(on: bool) -> None:
    """Print tracebacks instead of logging them (the global ``--debug`` option)."""
    global _debug
    _debug = bool(on)


def debug_enabled() -> bool:
    """True with ``--debug`` or ``PROMETHIUM_DEBUG`` set to 1/true/yes/on."""
    env = os.environ.get("PROMETHIUM_DEBUG", "").strip().lower()
    return _debug or env in {"1", "true", "yes", "on"}


def _log_dir() -> Path:
    """``<data_dir>/logs`` (the temporary folder when the config itself is broken)."""
    try:
        from promethium_lab.core.config import get_config

        return get_config().data_dir / "logs"
    except Exception:  # a bad config must not hide the bug being reported
        return Path(tempfile.gettempdir()) / "promethium_lab" / "logs"


def _write_log(exc: BaseException) -> Path:
    """Write the traceback of ``exc`` with the command line to a new log file."""
    from promethium_lab.core.version import __version__

    text = (f"command: {' '.join(sys.argv)}\n"
            f"promethium_lab {__version__}, Python {sys.version.split()[0]}, "
            f"{time.strftime('%Y-%m-%d %H:%M:%S %z')}\n\n"
            + "".join(traceback.format_exception(exc)))
    name = f"cli-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    last: OSError | None = None
    for folder in (_log_dir(), Path(tempfile.gettempdir()) / "promethium_lab" / "logs"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(text)
            return path
        except OSError as err:
            last = err
    raise last or OSError("no folder for the log file")


def report_internal(exc: BaseException) -> None:
    """Report an unexpected exception on stderr: one line and a log file, or (debug) the
    traceback."""
    if debug_enabled():
        typer.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)
        return
    message = " ".join(str(exc).split())
    what = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    try:
        where = f"the traceback is in {_write_log(exc)}"
    except OSError as err:
        where = f"the traceback could not be written ({err}); run again with --debug"
    typer.echo(f"{INTERNAL_PREFIX}: {what} (a bug: {where})", err=True)


def handle_errors(fn: _F) -> _F:
    """Run a command: typed errors as one line (exit 2), Ctrl-C exits 130, anything else
    unexpected as one ``PL-INTERNAL`` line with a log file (exit 3). Click's own exits and
    usage errors pass through untouched."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _CLICK_HANDLED:
            raise  # typer.Exit, usage errors: click prints and exits with their status
        except PromethiumError as err:
            if debug_enabled():
                typer.echo("".join(traceback.format_exception(err)).rstrip(), err=True)
            typer.echo(str(err), err=True)
            raise typer.Exit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:  # a bug: reported, never a raw traceback
            report_internal(exc)
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper  # type: ignore[return-value]


class CliApp(typer.Typer):
    """A ``typer.Typer`` whose commands and callback all run inside :func:`handle_errors`,
    with a last net for anything raised outside them (parameter conversion, typer itself)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[_F], _F]:
        register = super().command(*args, **kwargs)

        def decorator(fn: _F) -> _F:
            register(handle_errors(fn))
            return fn

        return decorator

    def callback(self, *args: Any, **kwargs: Any) -> Callable[[_F], _F]:
        register = super().callback(*args, **kwargs)

        def decorator(fn: _F) -> _F:
            register(handle_errors(fn))
            return fn

        return decorator

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except _CLICK_HANDLED:
            raise  # only outside standalone mode: the caller handles them
        except PromethiumError as err:
            typer.echo(str(err), err=True)
            sys.exit(EXIT_ERROR)
        except Exception as exc:  # never a raw traceback
            report_internal(exc)
            sys.exit(EXIT_INTERNAL)


def parse_params(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings (``--param``) to keyword arguments.

    Keys may use ``-`` for ``_``; values are read as JSON where they parse (numbers,
    ``true``/``false``, lists, ``null``) and kept as strings otherwise.

    Raises
    ------
    PromethiumError
        ``INVALID_PARAMETER`` for an item that is not ``KEY=VALUE`` with a valid name.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise PromethiumError(ErrorCode.INVALID_PARAMETER, f"--param {item!r} is not KEY=VALUE",
                                  hint="write --param key=value, e.g. --param rank=6")
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out
