"""``tfagiqa convert NAME --torch CKPT --out DIR``: official PyTorch checkpoints → Keras models.

The converter modules (and so Keras and TensorFlow) are imported only when a conversion runs, which keeps
``tfagiqa --help`` fast; ``tfagiqa convert NAME --help`` shows that converter's own options.
"""

from __future__ import annotations

import argparse
import importlib

from tfagiqa.methods import converters


def register(sub) -> None:
    """Add ``convert NAME [options]``; NAME's options are parsed by its module once it is imported."""
    known = converters()
    parser = sub.add_parser("convert", help="convert an official PyTorch checkpoint to Keras",
                            description="Converters: " + ", ".join(known))
    parser.add_argument("converter", choices=sorted(known), metavar="NAME", help=", ".join(sorted(known)))
    parser.add_argument("options", nargs=argparse.REMAINDER, help="the converter's options (NAME --help lists them)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Import the chosen converter, parse its options and run it."""
    module = importlib.import_module(converters()[args.converter])
    parser = argparse.ArgumentParser(prog=f"tfagiqa convert {args.converter}", description=module.HELP)
    module.add_arguments(parser)
    return module.run(parser.parse_args(args.options))
