"""The ``tfagiqa`` command: subcommands are registered by modules of this package and imported lazily,
so ``tfagiqa --help`` answers without loading TensorFlow.

A TfagiqaError, or an OSError of the system (a folder that cannot be created, a full disk, no permission),
ends in one ``tfagiqa: error:`` line and exit code 2, not a traceback; a DataWarning (a file read, but not as
written) is one ``tfagiqa: warning:`` line. Argument errors are argparse's usage message and exit code 2."""

from __future__ import annotations

import argparse
import sys
import warnings

from tfagiqa.version import __version__
from tfagiqa.cli import benchmark, convert, datasets, export, score
from tfagiqa.errors import DataWarning, TfagiqaError

COMMANDS = (datasets, convert, export, score, benchmark)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, one subparser per command module."""
    parser = argparse.ArgumentParser(
        prog="tfagiqa", description="AI-generated image quality assessment in Keras: data, training, export, scoring."
    )
    parser.add_argument("--version", action="version", version=f"tfagiqa {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("always", DataWarning)
        warnings.showwarning = _one_line_data_warnings(warnings.showwarning)
        try:
            return int(args.run(args) or 0)
        except TfagiqaError as exc:
            print(f"tfagiqa: error: {exc}", file=sys.stderr)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename is not None else ""
            print(f"tfagiqa: error: {where}{exc.strerror or exc}", file=sys.stderr)
        except KeyboardInterrupt:
            print("tfagiqa: interrupted", file=sys.stderr)
            return 130
    return 2


def _one_line_data_warnings(show_other):
    """A ``warnings.showwarning`` that prints DataWarnings as one ``tfagiqa: warning:`` line, others as before."""
    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if issubclass(category, DataWarning):
            print(f"tfagiqa: warning: {message}", file=sys.stderr)
        else:
            show_other(message, category, filename, lineno, file, line)

    return show


if __name__ == "__main__":
    sys.exit(main())
