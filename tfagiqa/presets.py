"""One weights format and one resolver: every pretrained or trained model the package reads or writes is a *preset*.

A preset is a folder, as keras-hub presets are::

    DIR/config.json            what it is and where it came from
    DIR/<role>.keras           whole models (loaded with keras.saving.load_model), and/or
    DIR/<role>.weights.h5      weights of a network rebuilt from the preset's architecture
    DIR/<asset>/               tokenizer files and the like

``config.json`` holds ``format`` (``"tfagiqa-preset"``) and ``format_version``; ``kind`` (what it is:
:data:`tfagiqa.preset_kinds.KINDS`); ``method``; ``architecture`` (the configuration needed to rebuild it);
``files`` (role → file name); ``assets`` (name → file or folder); ``extra`` (other entries written with it: the
configuration files older readers expect, a SavedModel); ``source`` (where the weights came from: the
original files and their sha256, the command that made it, the package version and git commit; for a trained
model the run's data kind, weights label, profile, experiment and split). ``docs/weights.md`` describes each field.

:func:`save_preset` writes one atomically, :func:`load_preset` reads one, and :func:`resolve` turns any
``--weights`` value or ``create_scorer(weights=...)`` argument into a :class:`Resolved`: random initialisation,
ImageNet weights, or a preset of an accepted kind. The inputs accepted before presets existed (the folders the
converters wrote, run outputs, torchvision ``.pth``, Keras ``.h5``, Hugging Face and keras-hub folders) are read
by adapters (:mod:`tfagiqa.legacy_weights`) as in-memory presets, with the labels result rows recorded for them.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shlex
import shutil
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfagiqa.errors import WeightsError
from tfagiqa.preset_kinds import Kind, kind as kind_info

FORMAT, FORMAT_VERSION, PRESET_FILE = "tfagiqa-preset", 1, "config.json"
RANDOM = "random"
KERAS_SUFFIX, WEIGHTS_SUFFIX = ".keras", ".weights.h5"


@dataclass(frozen=True)
class Weights:
    """A network stored as weights only (``<role>.weights.h5``), for :func:`save_preset`'s ``files``: the preset's
    architecture rebuilds it (much smaller files and no custom classes where a Keras config would need them)."""

    model: Any


@dataclass(frozen=True)
class Preset:
    """A preset folder as read by :func:`load_preset` (``legacy``: an older layout read by an adapter)."""

    folder: Path
    kind: str
    method: str | None = None
    architecture: Mapping[str, Any] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)
    assets: Mapping[str, str] = field(default_factory=dict)
    source: Mapping[str, Any] = field(default_factory=dict)
    extra: tuple[str, ...] = ()
    legacy: bool = False

    def path(self, role: str) -> Path:
        """The file of ``role`` (or the asset of that name); a WeightsError when the preset has none."""
        name = self.files.get(role) or self.assets.get(role)
        if name is None:
            raise WeightsError(f"the {self.kind} preset at {self.folder} has no {role!r} (it has "
                               f"{', '.join([*self.files, *self.assets]) or 'no files'}); "
                               f"{kind_info(self.kind).make}")
        return self.folder / name

    def load(self, role: str = "model", compile: bool = False):
        """The whole Keras model stored under ``role`` (``.keras``); scoring needs no optimiser, so by default it is
        not compiled. A WeightsError names the file and how to make it again when it cannot be read."""
        import keras

        file = self.path(role)
        if not file.name.endswith(KERAS_SUFFIX):
            raise WeightsError(f"{file} holds weights only; build the {self.kind} network from the preset's "
                               "architecture and load them into it")
        try:
            return keras.saving.load_model(file, compile=compile)
        except Exception as exc:  # Keras raises ValueError, OSError, zipfile and deserialisation errors
            raise WeightsError(f"cannot load {file} ({_first_line(exc)}); write it again: "
                               f"{kind_info(self.kind).make}") from exc


@dataclass(frozen=True)
class Resolved:
    """What a ``weights`` argument resolved to, and the ``label`` every result row records for it.

    ``preset`` None and ``imagenet`` None: random initialisation (label ``random``). ``imagenet``: a
    Keras-applications backbone's ImageNet file in Keras' cache (or where Keras downloads it); ``fallback`` says
    that random initialisation follows, loudly, when it cannot be had (``auto``) instead of an error.
    """

    label: str
    preset: Preset | None = None
    imagenet: Path | None = None
    fallback: bool = False

    @property
    def random(self) -> bool:
        return self.preset is None and self.imagenet is None

    @property
    def kind(self) -> str | None:
        return self.preset.kind if self.preset is not None else None


def save_preset(folder: str | os.PathLike, *, kind: str, files: Mapping[str, Any],
                architecture: Mapping[str, Any] | None = None, source: Mapping[str, Any] | None = None,
                assets: Mapping[str, Any] | None = None, method: str | None = None,
                extra: Mapping[str, Callable[[Path], object]] | None = None) -> Preset:
    """Write a preset folder atomically (complete, or not at all) and return it as read back.

    ``files``: role → a Keras model (saved whole as ``<role>.keras``), :class:`Weights` (``<role>.weights.h5``) or
    the path of an existing file (copied under its name). ``assets``: name → an object with ``save(path)`` (a
    tokenizer) or an existing file or folder (copied). ``extra``: name → ``writer(path)`` for further entries that
    are not weights (the config files older readers expect, a SavedModel). An existing folder is replaced only if
    it holds nothing but what this preset writes or the preset it replaces lists.
    """
    from tfagiqa.atomic import atomic_folder
    from tfagiqa.results import build_stamp

    method = method or kind_info(kind).method
    names = {role: _file_name(role, content) for role, content in files.items()}
    asset_names = {name: Path(content).name if isinstance(content, (str, os.PathLike)) else name
                   for name, content in (assets or {}).items()}
    owns = {PRESET_FILE, *names.values(), *asset_names.values(), *(extra or {}), *_listed(Path(folder))}
    with atomic_folder(folder, owns) as temporary:
        for role, content in files.items():
            _write(content, temporary / names[role], weights_only=isinstance(content, Weights))
        for name, content in (assets or {}).items():
            _write(content, temporary / asset_names[name], weights_only=False)
        for name, writer in (extra or {}).items():
            writer(temporary / name)
        record = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind, "method": method,
                  "architecture": _json_ready(architecture or {}), "files": names, "assets": asset_names,
                  "extra": sorted(extra or {}), "source": _json_ready({**build_stamp(), **(source or {})})}
        (temporary / PRESET_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return load_preset(folder)


def load_preset(folder: str | os.PathLike, kind: str | Sequence[str] | None = None) -> Preset:
    """The preset in ``folder`` (a WeightsError naming the file and what to do when it is missing or damaged).

    With ``kind`` (one or several accepted kinds) it must be of one of them, and the inputs those kinds accepted
    before presets (a converter's older folder, a ``.keras`` / ``.h5`` / ``.pth`` file, a Hugging Face folder)
    are read too, by the kinds' adapters, as in-memory presets (``legacy=True``).
    """
    path = Path(folder)
    kinds = _kinds(kind) if kind is not None else ()
    if is_preset(path):
        preset = _read(path / PRESET_FILE)
        if kinds and preset.kind not in {k.name for k in kinds}:
            raise WeightsError(f"{path} is a {preset.kind} preset ({kind_info(preset.kind).what}); this needs "
                               f"{_accepted(kinds)}. {_how_to_make(kinds)}")
        return preset
    if not path.exists():
        raise WeightsError(f"{path} does not exist; this needs {_accepted(kinds) if kinds else 'a preset folder'}. "
                           f"{_how_to_make(kinds) if kinds else ''}".rstrip())
    for info in kinds:
        preset = _adapter(info)(path, info.name) if info.adapter else None
        if preset is not None:
            return preset
    if not kinds:
        raise WeightsError(f"{path} has no tfagiqa {PRESET_FILE}: it is not a preset. Presets are written by tfagiqa convert "
                           "and by the run scripts (<out>/models/<name>/).")
    raise WeightsError(f"{path} is neither a preset (no tfagiqa {PRESET_FILE}) nor an older layout of "
                       f"{_accepted(kinds)}. {_how_to_make(kinds)}")


def is_preset(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder whose ``config.json`` declares a tfagiqa preset (``"format": "tfagiqa-preset"``;
    a Hugging Face or keras-hub ``config.json`` does not). A ``config.json`` that is not JSON counts, so that
    reading it reports the damage instead of an unrecognised folder."""
    file = Path(path) / PRESET_FILE
    if not file.is_file():
        return False
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return True
    return isinstance(record, dict) and record.get("format") == FORMAT


def resolve(spec: str | os.PathLike | None, *, kind: str | Sequence[str], search: Sequence[str | os.PathLike] = (),
            label: str = "{path}", what: str | None = None) -> Resolved:
    """Resolve a ``weights`` value for a model that accepts presets of ``kind`` (one or several).

    * ``None`` / ``"none"``: random initialisation, nothing read (label ``random``);
    * ``"auto"``: the kinds' default places (their environment variable, their ``./weights/...`` folders, then
      ``search``; for ImageNet backbones the ImageNet file), else random initialisation with a loud warning;
    * ``"imagenet"`` (ImageNet backbones only): the ImageNet file, in Keras' cache (Keras may download it there)
      or torch's hub cache (and ``search``), else a WeightsError naming the file and the folders;
    * ``"keras-hub:REF"`` (kinds with that scheme): a keras-hub preset folder or name (label: the value as given);
    * a path: a preset folder of an accepted kind, or an input those kinds accepted before presets.

    ``label`` formats the label of a found preset from ``{path}`` (the path, normalised) and ``{spec}`` (as
    given); ``what`` names the model in messages.
    """
    kinds = _kinds(kind)
    name = what or kinds[0].name
    text = RANDOM if spec is None else str(spec).strip()
    if text in ("none", RANDOM, ""):
        return Resolved(RANDOM)
    if text in ("auto", "imagenet") and any(k.home for k in kinds):
        return _imagenet(kinds, search, name, required=text == "imagenet")
    if text == "imagenet":
        raise WeightsError(f"{name}: 'imagenet' is for ImageNet backbones; {name} takes {_accepted(kinds)}. "
                           f"{_how_to_make(kinds)}")
    if text == "auto":
        return _auto(kinds, search, label, name)
    for info in kinds:
        if info.scheme and text.startswith(info.scheme):
            reference = text[len(info.scheme):]
            return Resolved(text, Preset(Path(reference), info.name, info.method, source={"keras_hub": reference},
                                         legacy=True))
    if any(text.startswith(scheme) for scheme in _schemes()):
        raise WeightsError(f"{name}: {text} is a keras-hub preset; {name} takes {_accepted(kinds)}. "
                           f"{_how_to_make(kinds)}")
    try:
        preset = load_preset(text, [k.name for k in kinds])
    except WeightsError as exc:
        raise WeightsError(f"{name}: {exc}") from exc
    return Resolved(label.format(path=Path(text), spec=text), preset)


def conversion_source(converter: str, args: Any, **originals: str | os.PathLike | None) -> dict:
    """``source`` of a converted preset: the ``tfagiqa convert`` command and each original file's name and sha256
    (``originals``: role → path)."""
    command = ["tfagiqa", "convert", converter]
    for key, value in vars(args).items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        command += [flag] if value is True else [flag, str(value)]
    files = {role: {"file": Path(path).name, "sha256": sha256(path)} for role, path in originals.items() if path}
    return {"command": shlex.join(command), "originals": files}


def save_converted_scorer(args: Any, kind: str, model, network: Mapping[str, Any]) -> Path:
    """Write the preset of a converted whole scorer (images in [0, 255] → scores): ``model.keras`` and, unless
    ``args.no_savedmodel``, its scoring SavedModel; ``args`` are the converter's (``torch``, ``out``); print what
    was written. ``network`` is the configuration read from the checkpoint."""
    from tfagiqa.export import export_savedmodel

    out = Path(args.out)
    size = model.input["images"].shape[1]

    def savedmodel(path: Path) -> None:
        export_savedmodel(model, path, {"model": kind, "source": str(args.torch)})

    save_preset(out, kind=kind, files={"model": model}, architecture={"network": dict(network), "input_size": size},
                source=conversion_source(kind, args, torch=args.torch),
                extra={} if args.no_savedmodel else {"savedmodel": savedmodel})
    print(f"wrote {out / 'model.keras'} (images {size}² in [0, 255] → quality; {kind} preset {out})")
    if not args.no_savedmodel:
        print(f"wrote {out / 'savedmodel'} (image resized to {size}²)")
    return out


def sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file (read in 1 MiB blocks), or of every file under a folder in name order."""
    digest = hashlib.sha256()
    path = Path(path)
    for file in sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]:
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


# --- reading ------------------------------------------------------------------------------------------------------

def _read(file: Path) -> Preset:
    """A preset's config.json and its folder, checked field by field (:func:`is_preset` has checked its format)."""
    again = ("write the preset again with the command recorded in its source, or with the tfagiqa convert / run "
             "script that made it")
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{file} cannot be read as JSON ({_first_line(exc)}): the preset is damaged; {again}") \
            from exc
    version = record.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise WeightsError(f"{file} has format_version {version!r}; this tfagiqa reads up to {FORMAT_VERSION}: "
                           "upgrade tfagiqa, or write the preset again with this version")
    problems = [f"{key} is not {want}" for key, want, ok in (
        ("kind", "a name", isinstance(record.get("kind"), str) and record.get("kind")),
        ("files", "a mapping of role to file name", _names(record.get("files", {}))),
        ("assets", "a mapping of name to file or folder", _names(record.get("assets", {}))),
        ("extra", "a list of names", isinstance(record.get("extra", []), list)
         and all(isinstance(name, str) for name in record.get("extra", []))),
        ("architecture", "a mapping", isinstance(record.get("architecture", {}), dict)),
        ("source", "a mapping", isinstance(record.get("source", {}), dict))) if not ok]
    if problems:
        raise WeightsError(f"{file}: {'; '.join(problems)}; {again}")
    folder = file.parent
    missing = [name for name in [*record.get("files", {}).values(), *record.get("assets", {}).values()]
               if not (folder / name).exists()]
    if missing:
        raise WeightsError(f"{file} lists {', '.join(missing)}, missing from {folder}: the preset is incomplete; "
                           f"{again}")
    return Preset(folder, record["kind"], record.get("method"), record.get("architecture", {}),
                  record.get("files", {}), record.get("assets", {}), record.get("source", {}),
                  tuple(record.get("extra", [])))


def _listed(folder: Path) -> set[str]:
    """The entries an existing preset in ``folder`` lists (none when there is none, or it cannot be read)."""
    try:
        preset = _read(folder / PRESET_FILE) if is_preset(folder) else None
    except WeightsError:
        return set()
    return {*preset.files.values(), *preset.assets.values(), *preset.extra} if preset else set()


def _names(value: object) -> bool:
    """A mapping of names to relative paths inside the folder."""
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) and v and not Path(v).is_absolute() and ".." not in Path(v).parts
        for k, v in value.items())


def _adapter(info: Kind) -> Callable[[Path, str], Preset | None]:
    module, _, function = info.adapter.partition(":")
    return getattr(importlib.import_module(module), function)


# --- resolving ----------------------------------------------------------------------------------------------------

def _kinds(kind: str | Sequence[str]) -> tuple[Kind, ...]:
    names = (kind,) if isinstance(kind, str) else tuple(kind)
    if not names:
        raise ValueError("at least one accepted kind is needed")
    return tuple(kind_info(name) for name in names)


def _schemes() -> set[str]:
    """The prefixes that name another library's presets (``keras-hub:``)."""
    from tfagiqa.preset_kinds import KINDS

    return {info.scheme for info in KINDS.values() if info.scheme}


def _accepted(kinds: Sequence[Kind]) -> str:
    return " or ".join(f"{k.name} ({k.what})" for k in kinds)


def _how_to_make(kinds: Sequence[Kind]) -> str:
    return " ".join(f"To make a {k.name}: {k.make}." for k in kinds)


def _auto(kinds: Sequence[Kind], search: Sequence[str | os.PathLike], label: str, name: str) -> Resolved:
    """The first default place holding a preset of an accepted kind, else random initialisation, loudly."""
    places = [p for k in kinds for p in ([os.environ.get(k.env)] if k.env else []) + list(k.folders) if p]
    places += [str(p) for p in search]
    for place in places:
        if Path(place).exists():
            try:
                return Resolved(label.format(path=Path(place), spec=place), load_preset(place, [k.name for k in kinds]))
            except WeightsError:
                continue  # something else lies there: look further
    envs = [f"${k.env}" for k in kinds if k.env]
    looked = ", ".join([*envs, *(str(p) for k in kinds for p in k.folders), *(str(p) for p in search)]) or "nowhere"
    warnings.warn(f"\n{'!' * 78}\n{name}: no {_accepted(kinds)} found (looked in: {looked}); using RANDOM "
                  f"initialisation (recorded as weights=random).\n{_how_to_make(kinds)}\n{'!' * 78}",
                  RuntimeWarning, stacklevel=3)
    return Resolved(RANDOM)


def _imagenet(kinds: Sequence[Kind], search: Sequence[str | os.PathLike], name: str, required: bool) -> Resolved:
    """An ImageNet backbone's file: Keras' cache (Keras downloads it there when it can) or torch's hub cache."""
    info = next(k for k in kinds if k.home)
    if info.home == "keras":
        cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
        return Resolved("imagenet", imagenet=cache / info.imagenet if info.imagenet else cache, fallback=not required)
    torch_home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch"))
    folders = [torch_home / "hub" / "checkpoints", *(Path(p) for p in search)]
    for folder in folders:
        if (folder / info.imagenet).is_file():
            return Resolved("imagenet", Preset(folder, info.name, info.method, files={"weights": info.imagenet},
                                               source={"imagenet": info.imagenet}, legacy=True))
    where = " or ".join(str(f) for f in folders)
    if required:
        raise WeightsError(f"{name}: the ImageNet weights {info.imagenet} are not in {where}. {info.make}")
    warnings.warn(f"\n{'!' * 78}\n{name}: no ImageNet weights ({info.imagenet} is not in {where}); using RANDOM "
                  f"initialisation (recorded as weights=random).\n{info.make}\n{'!' * 78}", RuntimeWarning,
                  stacklevel=3)
    return Resolved(RANDOM)


# --- writing ------------------------------------------------------------------------------------------------------

def _file_name(role: str, content: Any) -> str:
    if isinstance(content, (str, os.PathLike)):
        return Path(content).name
    return f"{role}{WEIGHTS_SUFFIX if isinstance(content, Weights) else KERAS_SUFFIX}"


def _write(content: Any, target: Path, weights_only: bool) -> None:
    """Save a model (whole or its weights), an object with ``save(path)``, or copy an existing file or folder."""
    if isinstance(content, (str, os.PathLike)):
        source = Path(content)
        if not source.exists():
            raise WeightsError(f"cannot put {source} into a preset: it does not exist")
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    elif weights_only:
        content.model.save_weights(target)
    else:
        content.save(target)


def _json_ready(value: Any) -> Any:
    """Mappings, sequences and scalars as JSON takes them (tuples → lists, paths and other objects → strings)."""
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
