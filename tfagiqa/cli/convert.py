"""``tfagiqa convert NAME --torch CKPT --out DIR``: official PyTorch checkpoints → Keras models."""

from __future__ import annotations

import importlib
import importlib.util

from tfagiqa.converters import CONVERTERS


def register(sub) -> None:
    """Add ``convert`` with one subcommand per converter module present."""
    parser = sub.add_parser("convert", help="convert an official PyTorch checkpoint to Keras")
    sub_parsers = parser.add_subparsers(dest="converter", required=True, metavar="NAME")
    for name, module_name in CONVERTERS.items():
        if importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        p = sub_parsers.add_parser(name, help=module.HELP)
        module.add_arguments(p)
        p.set_defaults(run=module.run)
