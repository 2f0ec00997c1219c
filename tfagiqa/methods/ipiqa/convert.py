"""A checkpoint of the official IP-IQA trainer (github.com/Coobiw/IP-IQA, ``ipiqa/models/ipiqa.py``) → the scorer
``experiments/run_ipiqa.py`` writes, so that a model trained with the official code scores and exports here.

    tfagiqa convert ipiqa --torch output/agiqa3k/ipiqa/checkpoint_best.pth --clip RN50.pt \\
        --bpe bpe_simple_vocab_16e6.txt.gz --out DIR

writes ``DIR/ipiqa_<dataset>_scorer.keras`` ({"images" [N, S, S, 3] in [0, 255], "prompt" [N]} → one score per
output, CLIP's BPE inside), which the catalogue entries ``ipiqa-agiqa1k`` / ``ipiqa-agiqa3k`` load as their
weights. The dataset is read from the head (1 output: AGIQA-1K's MOS, 2: AGIQA-3K's quality and alignment).

The official module's parameters and where they go (sizes are read from the shapes):

* ``resnet50.*`` (CLIP's ModifiedResNet without its pool) → the image trunk; ``attnpool.*`` (CLIP's pool, its
  positional table interpolated to the input's grid) → the visual pool; the resolution is 32 × that grid;
* ``wte.weight`` (the token table, whose EOT row is the code's [QA] token), ``txt_pos``, ``txt_model.resblocks.*``,
  ``ln_final.*``, ``text_projection`` → the text encoder (the model is built with ``qa_token="code"``, the code's
  reading of [QA]; ``"frozen"`` when the checkpoint has no ``wte``: trained without ``qa_token``);
* ``txt_attnpool.positional_embedding`` and ``txt_attnpool.cross_attn.{q,k,v,out}_proj`` → the cross-modal pool;
* ``head.dense`` / ``head.out_proj`` (``use_mlp_head``) or ``head`` (a Linear) → the head.

The trainer saves only parameters that require gradients (``trainer.py`` ``_save_checkpoint``): with the official
``freeze_text`` the text transformer and ``ln_final`` (and without ``qa_token`` the token table) are not in the
file; they are CLIP's, unchanged, and are read from the CLIP checkpoint the run started from (``--clip``,
``RN50.pt``). Every tensor of the file must find its place, and every weight of the model a tensor.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import keras
import numpy as np

from tfagiqa.backbones.clip_convert import (configs_from_state, load_attention_pool, load_image_weights,
                                            load_text_weights, read_state_dict, take)
from tfagiqa.errors import WeightsError

HELP = "official IP-IQA trainer checkpoint (checkpoint_*.pth) → ipiqa_<dataset>_scorer.keras for the catalogue"
HINT = ("Pass a checkpoint written by the official IP-IQA trainer (github.com/Coobiw/IP-IQA, "
        "output/<dataset>/ipiqa/checkpoint_best.pth); no trained IP-IQA weights are published.")
CLIP_HINT = ("pass the CLIP checkpoint the run started from with --clip RN50.pt (the URL is in openai/CLIP "
             "clip/clip.py, _MODELS['RN50']; the official configs read cache/ckpt/clip/openai/resnet/RN50.pt)")
DATASETS = {1: "agiqa1k", 2: "agiqa3k"}
# official name prefix → CLIP's (clip_convert's) names
RENAMES = (("resnet50.", "visual."), ("attnpool.", "visual.attnpool."), ("wte.weight", "token_embedding.weight"),
           ("txt_pos", "positional_embedding"), ("txt_model.", "transformer."))
TEXT_TOWER = ("token_embedding.weight", "positional_embedding", "transformer.", "ln_final.", "text_projection")
CROSS_POOL = "txt_attnpool"
IGNORED = ("num_batches_tracked",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--torch", required=True, help="the official trainer's checkpoint (checkpoint_best.pth)")
    parser.add_argument("--clip", default=None,
                        help="the CLIP RN50 checkpoint the run started from (RN50.pt), for the tensors the trainer "
                             "leaves out when they are frozen (the text transformer, ln_final)")
    parser.add_argument("--bpe", required=True, help="bpe_simple_vocab_16e6.txt.gz (CLIP's BPE, in the IP-IQA "
                                                     "repository's clip/ folder)")
    parser.add_argument("--dataset", default=None, choices=sorted(DATASETS.values()),
                        help="the dataset it was trained on (default: from the head, 1 output 1K, 2 outputs 3K)")
    parser.add_argument("--out", required=True, help="output folder")


def clip_layout(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The official ``IPIQA`` tensors under CLIP's names (the cross-modal pool and the head keep theirs)."""
    out = {}
    for key, value in state.items():
        for official, clip in RENAMES:
            if key.startswith(official):
                key = clip + key[len(official):]
                break
        out[key] = value
    return out


def merge_clip(state: dict[str, np.ndarray], clip_state: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    """The checkpoint's tensors, the CLIP tensors it lacks filled in from ``clip_state`` (CLIP's text tower only:
    the trainer always saves the image side, which is fine-tuned)."""
    missing = [k for k in clip_state or {} if k.startswith(TEXT_TOWER) and k not in state]
    if clip_state is None:
        absent = [k for k in ("ln_final.weight", "transformer.resblocks.0.ln_1.weight", "token_embedding.weight")
                  if k not in state]
        if absent:
            raise WeightsError(f"the checkpoint lacks {absent}, which the official trainer leaves out when they are "
                               f"frozen: {CLIP_HINT}")
        return state
    return {**state, **{k: clip_state[k] for k in missing}}


def head_kind(state: dict[str, np.ndarray]) -> tuple[str, int]:
    """(``mlp`` or ``linear``, number of outputs) from the head's tensors."""
    if "head.out_proj.weight" in state:
        return "mlp", state["head.out_proj.weight"].shape[0]
    if "head.weight" in state:
        return "linear", state["head.weight"].shape[0]
    raise WeightsError("the checkpoint has no head (head.out_proj.weight or head.weight): it was trained without "
                       f"output_dim, or it is not an IP-IQA checkpoint. {HINT}")


def model_config(state: dict[str, np.ndarray], dataset: str | None, trained_tokens: bool):
    """(IPIQAConfig, dataset) of a merged checkpoint."""
    from tfagiqa.methods.ipiqa.model import IPIQAConfig
    from tfagiqa.methods.ipiqa.scorers import OUTPUTS

    if "visual.layer1.0.conv1.weight" not in state or f"{CROSS_POOL}.positional_embedding" not in state:
        raise WeightsError(f"not an IP-IQA checkpoint (no resnet50.layer1.0.conv1.weight or {CROSS_POOL}.*). {HINT}")
    vision, text = configs_from_state(state)
    head, outputs = head_kind(state)
    dataset = dataset or DATASETS.get(outputs)
    if dataset is None or len(OUTPUTS[dataset]) != outputs:
        raise WeightsError(f"the checkpoint's head gives {outputs} score(s); ipiqa-agiqa1k takes 1, ipiqa-agiqa3k 2")
    config = IPIQAConfig(outputs=OUTPUTS[dataset], image_size=vision.image_size, vision=vision, text=text, head=head,
                         qa_token="code", use_qa=trained_tokens)
    return config, dataset


def load_cross_modal_pool(layer, state: dict[str, np.ndarray]) -> None:
    """``txt_attnpool.*`` → the cross-modal pool (Linear weights transposed)."""
    layer.positional_embedding.assign(take(state, f"{CROSS_POOL}.positional_embedding"))
    for name in ("q", "k", "v", "out"):
        getattr(layer, f"{name}_kernel").assign(take(state, f"{CROSS_POOL}.cross_attn.{name}_proj.weight").T)
        getattr(layer, f"{name}_bias").assign(take(state, f"{CROSS_POOL}.cross_attn.{name}_proj.bias"))


def load_head(model: keras.Model, state: dict[str, np.ndarray], head: str) -> None:
    """``head.dense`` + ``head.out_proj`` (MLP) or ``head`` (Linear) → ``head_dense`` / ``head_out``."""
    pairs = (("head_dense", "head.dense"), ("head_out", "head.out_proj")) if head == "mlp" else (("head_out", "head"),)
    for layer, prefix in pairs:
        model.get_layer(layer).set_weights([take(state, f"{prefix}.weight").T, take(state, f"{prefix}.bias")])


def check_no_leftovers(state: dict[str, np.ndarray]) -> None:
    """Every checkpoint tensor has a place in the model (a tensor of another architecture is an error, not
    silently dropped); the loaders raise for every weight of the model that finds no tensor."""
    known = ("visual.", "token_embedding.weight", "positional_embedding", "transformer.", "ln_final.",
             "text_projection", f"{CROSS_POOL}.", "head.")
    left = sorted(k for k in state if not k.startswith(known) and not k.endswith(IGNORED))
    if left:
        raise WeightsError(f"{len(left)} checkpoint tensor(s) have no place in IP-IQA, e.g. {left[:5]}. {HINT}")


def convert_state(state: dict[str, np.ndarray], clip_state: dict[str, np.ndarray] | None = None,
                  dataset: str | None = None) -> tuple[keras.Model, str]:
    """(IP-IQA model with the checkpoint's weights, dataset) from the official state dict (and the base CLIP's)."""
    from tfagiqa.methods.ipiqa.model import build_ipiqa

    renamed = clip_layout(state)
    check_no_leftovers(renamed)
    merged = merge_clip(renamed, clip_state)
    config, dataset = model_config(merged, dataset, trained_tokens="token_embedding.weight" in renamed)
    model = build_ipiqa(config)
    load_image_weights(model.get_layer("image_trunk"), merged)
    load_attention_pool(model.get_layer("visual_pool"), merged, "visual.attnpool")
    load_text_weights(model.get_layer("text_encoder"), merged)
    load_cross_modal_pool(model.get_layer("cross_modal_pool"), merged)
    load_head(model, merged, config.head)
    return model, dataset


def convert(checkpoint: str | Path, bpe: str | Path, clip: str | Path | None = None,
            dataset: str | None = None) -> tuple[keras.Model, str]:
    """(the catalogue scorer of an official checkpoint, its dataset)."""
    from tfagiqa.backbones.clip_text import BPETokenizer
    from tfagiqa.methods.ipiqa.model import scoring_model
    from tfagiqa.methods.ipiqa.scorers import OUTPUTS
    from tfagiqa.torch_state import read_torch_state

    state = read_torch_state(checkpoint, HINT)
    model, dataset = convert_state(state, read_state_dict(clip) if clip else None, dataset)
    embedding = model.get_layer("text_encoder").get_layer("embedding")
    tokenizer = BPETokenizer.from_bpe(bpe, embedding.context_length)
    if len(tokenizer.vocabulary) != embedding.vocab_size:
        raise WeightsError(f"{bpe} has {len(tokenizer.vocabulary)} tokens, the checkpoint's token table "
                           f"{embedding.vocab_size}: not the BPE CLIP was trained with")
    return scoring_model(model, OUTPUTS[dataset], tokenizer, name=f"ipiqa_{dataset}_scorer"), dataset


def run(args: argparse.Namespace) -> int:
    """Convert and save the scorer atomically; say what was written."""
    from tfagiqa.atomic import atomic_path

    scorer, dataset = convert(args.torch, args.bpe, args.clip, args.dataset)
    path = Path(args.out) / f"ipiqa_{dataset}_scorer.keras"
    with atomic_path(path) as temporary:
        scorer.save(temporary)
    size = scorer.input["images"].shape[1]
    print(f"wrote {path} ({dataset}: {size} px images + prompts → {', '.join(scorer.output)}); "
          f"score it with the catalogue entry ipiqa-{dataset} (weights {path})")
    return 0
