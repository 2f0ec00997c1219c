"""Adapters: the weights inputs accepted before presets, read as in-memory presets (``Preset.legacy``).

Each adapter is named by a kind's ``adapter`` (:mod:`tfagiqa.preset_kinds`) and called by
:func:`tfagiqa.presets.load_preset` as ``adapter(path, kind)``: a :class:`~tfagiqa.presets.Preset` with the roles,
assets and architecture a preset of that kind would have, or None when ``path`` is not such an input. The file
names below are the layouts earlier versions wrote; they stay readable whatever the converters write now.
"""

from __future__ import annotations

import json
from pathlib import Path

from tfagiqa.errors import WeightsError
from tfagiqa.preset_kinds import kind as kind_info
from tfagiqa.presets import Preset

MODEL_FILE = "model.keras"
CLIP_FILES, CLIP_CONFIG = ("image_encoder.keras", "text_encoder.keras"), "clip_config.json"
SWINV2_FILE, SWINV2_CONFIG = "swinv2.weights.h5", "swinv2_config.json"
HPS_FILE, HPS_CONFIG = "clip.weights.h5", "hps.json"
CLIPIQA_CONFIG = "clipiqa.json"
PICKSCORE_DIR, PICKSCORE_WEIGHTS = "PickScore_v1", ("model.safetensors", "pytorch_model.bin")
TOKENIZER_DIR = "tokenizer"


def _preset(folder: Path, kind: str, **fields) -> Preset:
    return Preset(folder, kind, kind_info(kind).method, legacy=True, **fields)


def keras_model(path: Path, kind: str) -> Preset | None:
    """A whole model saved as ``.keras`` (a run's ``models/X.keras``, a scorer), or a folder holding ``model.keras``
    (``tfagiqa convert hyperiqa | imagereward | clipiqa+`` before presets)."""
    file = path / MODEL_FILE if path.is_dir() else path
    if file.suffix != ".keras" or not file.is_file():
        return None
    return _preset(file.parent, kind, files={"model": file.name}, source={"file": str(file)})


def keras_h5(path: Path, kind: str) -> Preset | None:
    """A Keras weights file (``.h5``) of a Keras-applications backbone."""
    if not (path.is_file() and path.suffix == ".h5"):
        return None
    return _preset(path.parent, kind, files={"weights": path.name}, source={"file": str(path)})


def torch_file(path: Path, kind: str) -> Preset | None:
    """A torch checkpoint file (torchvision's ``resnet50-19c8e357.pth``), read by the converters' torch reader."""
    if not path.is_file():
        return None
    return _preset(path.parent, kind, files={"weights": path.name}, source={"file": str(path)})


def clip_folder(path: Path, kind: str) -> Preset | None:
    """``tfagiqa convert clip``'s folder: both encoders, ``clip_config.json`` and (with ``--bpe``) ``tokenizer/``."""
    config_file = path / CLIP_CONFIG
    if not config_file.is_file():
        return None
    missing = [name for name in CLIP_FILES if not (path / name).is_file()]
    if missing:
        raise WeightsError(f"{path} lacks {missing}: run `tfagiqa convert clip --torch RN50.pt --out {path}` again. "
                           f"{kind_info(kind).make}")
    config = _json(config_file)
    return _preset(path, kind, files={name.removesuffix(".keras"): name for name in CLIP_FILES},
                   assets={"tokenizer": TOKENIZER_DIR} if (path / TOKENIZER_DIR).is_dir() else {},
                   architecture={k: v for k, v in config.items() if k != "tokenizer"})


def swinv2_folder(path: Path, kind: str) -> Preset | None:
    """``tfagiqa convert swinv2``'s folder: ``swinv2.weights.h5`` and ``swinv2_config.json``."""
    if not (path / SWINV2_FILE).is_file():
        return None
    config = path / SWINV2_CONFIG
    return _preset(path, kind, files={"swinv2": SWINV2_FILE}, architecture=_json(config) if config.is_file() else {})


def pickscore_folder(path: Path, kind: str) -> Preset | None:
    """PickScore_v1 as Hugging Face stores it (``config.json``, weights, ``vocab.json``, ``merges.txt``), or a
    folder holding it as ``PickScore_v1/`` (SF-IQA's ``--weights`` folder)."""
    folder = path / PICKSCORE_DIR if (path / PICKSCORE_DIR).is_dir() else path
    config = folder / "config.json"
    if not (folder.is_dir() and config.is_file()):
        return None
    architecture = _json(config)
    if "vision_config" not in architecture or "text_config" not in architecture:
        return None
    weights = [name for name in PICKSCORE_WEIGHTS if (folder / name).is_file()]
    assets = {name.split(".")[0]: name for name in ("vocab.json", "merges.txt") if (folder / name).is_file()}
    return _preset(folder, kind, files={"weights": weights[0]} if weights else {}, architecture=architecture,
                   assets=assets)


def hps_folder(path: Path, kind: str) -> Preset | None:
    """``tfagiqa convert hps``'s folder: ``clip.weights.h5``, ``hps.json`` (version, CLIP configuration, source)
    and ``tokenizer/``."""
    record_file = path / HPS_CONFIG
    if not record_file.is_file():
        return None
    missing = [name for name in (HPS_FILE, TOKENIZER_DIR) if not (path / name).exists()]
    if missing:
        raise WeightsError(f"{path} lacks {', '.join(missing)}: convert it again. {kind_info(kind).make}")
    record = _json(record_file)
    return _preset(path, kind, files={"clip": HPS_FILE}, assets={"tokenizer": TOKENIZER_DIR},
                   architecture={"version": record.get("version"), "config": record.get("config", {})},
                   source={"originals": {"torch": {"file": record.get("source")}}})


def clipiqa_plus_folder(path: Path, kind: str) -> Preset | None:
    """``tfagiqa convert clipiqa+``'s folder (``model.keras`` + ``clipiqa.json``) or its ``model.keras``."""
    preset = keras_model(path, kind)
    record_file = preset.folder / CLIPIQA_CONFIG if preset is not None else None
    if record_file is None or not record_file.is_file():
        return preset
    record = _json(record_file)
    sources = {k: record.pop(k) for k in ("context", "clip") if k in record}
    return _preset(preset.folder, kind, files=preset.files, architecture=record, source=sources)


def _json(file: Path) -> dict:
    try:
        value = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{file} cannot be read as JSON ({type(exc).__name__}: {exc}); the folder is damaged: "
                           "convert it again") from exc
    if not isinstance(value, dict):
        raise WeightsError(f"{file} does not hold a JSON object; the folder is damaged: convert it again")
    return value
