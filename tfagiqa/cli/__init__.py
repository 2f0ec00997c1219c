"""The ``tfagiqa`` command: subcommands are registered by modules of this package and imported lazily,
so ``tfagiqa --help`` answers without loading TensorFlow. A TfagiqaError ends in one clear line, not a traceback."""

from __future__ import annotations

import argparse
import sys

from tfagiqa import __version__
from tfagiqa.cli import convert, datasets, export, score
from tfagiqa.errors import TfagiqaError

COMMANDS = (datasets, convert, export, score)


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
    try:
        return int(args.run(args) or 0)
    except TfagiqaError as exc:
        print(f"tfagiqa: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tfagiqa: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
