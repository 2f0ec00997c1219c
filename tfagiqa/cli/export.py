"""``tfagiqa export --model NAME|KERAS_FILE [--weights W] --out DIR``: a SavedModel for TF Serving.

The SavedModel decodes image bytes and resizes (fixed views) inside its graph, tokenises prompts inside its
graph, and has the signatures ``serving_default`` (image_bytes [+ prompt]), ``score_images`` (uint8 images
[+ prompt]) and ``score_views``; ``DIR/tfagiqa.json`` records the catalogue metadata, where the weights came
from and the seed of a catalogue model's random initialisation (``--seed``, default 0), so the same command
exports the same model. DIR is written atomically: an existing SavedModel there is replaced only when the new
one is complete. It loads with plain ``tf.saved_model.load`` without tfagiqa installed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tfagiqa.catalogue import DEFAULT_SEED
from tfagiqa.errors import TfagiqaError


def register(sub) -> None:
    """Add the ``export`` command."""
    p = sub.add_parser("export", help="export a scorer as a SavedModel (decoding and tokenisation inside)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True,
                   help="a catalogue name (python -c 'import tfagiqa; print(tfagiqa.list_models())'), a scoring .keras "
                        "file or a preset folder holding one")
    p.add_argument("--weights", default=None,
                   help="weights for a catalogue name: none (default: random initialisation) or what the model accepts")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help=f"seed of a catalogue model's random initialisation (default {DEFAULT_SEED}; recorded in "
                        "tfagiqa.json as init_seed)")
    p.add_argument("--out", required=True, help="the SavedModel folder to write (replaced atomically if it exists)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Build or load the scorer, export it, and say what was written."""
    from tfagiqa.export import ViewPolicy, export_savedmodel

    model, metadata, policy = resolve(args.model, args.weights, args.seed)
    out = export_savedmodel(model, args.out, metadata, ViewPolicy.from_dict(policy))
    print(f"wrote SavedModel {out} (signatures serving_default, score_images, score_views; "
          f"outputs {', '.join(metadata['outputs'])}; weights={metadata['weights']})")
    if metadata["weights"] == "random":
        print("RANDOM weights: the exported scores test the code path; they do not measure quality.")
    return 0


def resolve(name: str, weights: str | None, seed: int = DEFAULT_SEED) -> tuple:
    """(scoring Keras model, metadata for tfagiqa.json, view policy dict) for a catalogue name, a .keras file or a
    preset folder holding a scoring model.keras."""
    from tfagiqa.presets import is_preset

    weights = None if weights in (None, "none") else weights
    path = Path(name)
    if path.suffix == ".keras" or is_preset(path):
        if weights is not None:
            raise TfagiqaError("--weights applies to catalogue names; a .keras file or preset carries its own weights")
        from tfagiqa.export import describe, load_scoring_model

        model = load_scoring_model(path)
        return model, {"name": path.stem, "weights": str(path), **describe(model)}, {}
    from tfagiqa.catalogue import create_scorer, get_entry, provenance

    entry = get_entry(name)
    metadata = {**entry.metadata(), **provenance(entry, weights, seed)}
    return create_scorer(name, weights, seed), metadata, entry.views
