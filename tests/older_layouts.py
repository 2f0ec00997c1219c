"""The folders ``tfagiqa convert`` wrote before presets, made from today's presets, to check that the resolver
still reads them: the same files without ``config.json``, plus the configuration file each converter wrote then
(its contents as that converter wrote them)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tfagiqa.presets import PRESET_FILE, load_preset


def older_layout(folder: Path, dest: Path) -> Path:
    """A copy of the converted preset ``folder`` at ``dest`` in its kind's layout before presets."""
    preset = load_preset(folder)
    shutil.copytree(folder, dest, ignore=shutil.ignore_patterns(PRESET_FILE))
    architecture, originals = dict(preset.architecture), preset.source.get("originals", {})
    older = {
        "clip-rn50": ("clip_config.json", {**architecture, **({"tokenizer": "tokenizer"} if preset.assets else {})}),
        "swinv2": ("swinv2_config.json", architecture),
        "hps": ("hps.json", {**architecture, "source": originals.get("torch", {}).get("file")}),
        "clipiqa+": ("clipiqa.json", {**architecture, "context": originals.get("torch", {}).get("file"),
                                      "clip": originals.get("clip", {}).get("file")}),
    }.get(preset.kind)
    if older is not None:
        (dest / older[0]).write_text(json.dumps(older[1], indent=2) + "\n")
    return dest
