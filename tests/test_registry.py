"""The dataset registry: each record agrees with its reader and stand-in, the loaders and the CLI follow it, and
the committed datasets/README.md and docs/datasets.md are what it generates."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tfagiqa.cli import main
from tfagiqa.data import (DIRNAMES, LABEL_FILES, READERS, load_dataset, load_nriqa, locate_dataset, real_dir, registry,
                          registry_docs)
from tfagiqa.data.synthetic import write_synthetic
from tfagiqa.errors import DataError


@pytest.fixture(scope="module")
def standins(tmp_path_factory) -> dict:
    """Every registered layout's stand-in under one synthetic data root, at its smallest useful size."""
    root = tmp_path_factory.mktemp("registry")
    for record in registry.records():
        size = {"image_size": 32} if record.standin.image_size is None else {}
        write_synthetic(record.name, root / "synthetic" / record.folder, n=24 if record.kind == registry.AIGC else 8,
                        **size)
    return {"root": root}


@pytest.mark.parametrize("name", registry.names())
def test_record_agrees_with_its_reader_and_stand_in(standins, name):
    record = registry.get(name)
    folder = locate_dataset(name, standins["root"])
    assert folder == standins["root"] / "synthetic" / record.folder
    assert record.label_file_in(folder) is not None
    assert real_dir(name, standins["root"]) is None  # a stand-in is never the real dataset
    df = record.reader(folder)
    assert df.attrs["data"] == "synthetic" and len(df) > 0 and (df["dataset"] == name).all()
    assert [c for c in df.columns if c in record.label_columns] == list(record.label_columns)
    for label in record.labels:
        assert df[label.column].between(label.low, label.high).all(), (label.column, df[label.column].describe())
    shared_groups = df["group"].nunique() < len(df)
    assert shared_groups == (name not in ("koniq10k", "livec"))  # those two have no reference scenes


def test_aigc_views_follow_the_registry():
    aigc = registry.names(registry.AIGC)
    assert tuple(READERS) == tuple(DIRNAMES) == tuple(LABEL_FILES) == aigc
    assert "pku_i2iqa" in aigc and set(registry.names(registry.NRIQA)) == {"koniq10k", "livec", "live", "kadid10k"}
    assert DIRNAMES["pku_i2iqa"] == "PKU-I2IQA" and LABEL_FILES["pku_i2iqa"] == "I2IQA_annotation.xlsx"


def test_unknown_names_and_wrong_loaders_are_explained(tmp_path):
    with pytest.raises(DataError, match=r"unknown dataset 'agiqa2k'; choose from .*pku_i2iqa"):
        registry.get("agiqa2k")
    with pytest.raises(DataError, match="NR-IQA dataset: read it with tfagiqa.data.load_nriqa"):
        load_dataset("koniq10k", tmp_path)
    with pytest.raises(DataError, match="not an NR-IQA dataset"):
        load_nriqa("agiqa3k", tmp_path)
    with pytest.raises(ValueError, match="kind"):
        registry.records("natural")
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(DataError, match="the data root .*a_file is a file; give the folder that holds the datasets"):
        load_dataset("agiqa3k", tmp_path / "a_file")
    with pytest.raises(DataError, match="synthetic must be auto, always or never, got 'maybe'"):
        load_dataset("agiqa3k", tmp_path, synthetic="maybe")


def test_load_nriqa_resolves_through_the_registry(tmp_path):
    df = load_nriqa("kadid10k", tmp_path, n=8, seed=2)
    assert df.attrs["data"] == "synthetic"
    assert (tmp_path / "synthetic" / "kadid10k" / "dmos.csv").is_file()
    with pytest.raises(DataError, match=r"kadid10k: no real dataset at .*kadid10k \(looked for dmos.csv\)"):
        load_nriqa("kadid10k", tmp_path, synthetic="never")


def test_committed_documents_are_what_the_registry_generates():
    assert registry_docs.stale() == {}, "run `tfagiqa datasets readme` and commit datasets/README.md, docs/datasets.md"
    readme = (registry_docs.CHECKOUT / "datasets" / "README.md").read_text()
    for record in registry.records():
        assert f"({'`'}{record.name}{'`'})" in readme and record.layout in readme
    docs = (registry_docs.CHECKOUT / "docs" / "datasets.md").read_text()
    assert all(f"| `{name}` |" in docs for name in registry.names())


def test_readme_command_checks_and_rewrites_a_stale_copy(tmp_path, capsys):
    for relative in registry_docs.TARGETS:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(registry_docs.CHECKOUT / relative, tmp_path / relative)
    readme = tmp_path / "datasets" / "README.md"
    readme.write_text(readme.read_text().replace("## AGIQA-1K (`agiqa1k`)", "## AGIQA-1K (edited by hand)"))
    assert main(["datasets", "readme", "--check", "--root", str(tmp_path)]) == 1
    assert f"out of date: {readme}" in capsys.readouterr().out
    assert main(["datasets", "readme", "--root", str(tmp_path)]) == 0
    assert readme.read_text() == (registry_docs.CHECKOUT / "datasets" / "README.md").read_text()
    assert main(["datasets", "readme", "--check", "--root", str(tmp_path)]) == 0


def test_fill_refuses_a_document_without_its_markers(tmp_path):
    with pytest.raises(DataError, match="expected one"):
        registry_docs.fill("# no markers\n", "block\n", tmp_path / "README.md")
    text = f"intro\n{registry_docs.BEGIN}\nold\n{registry_docs.END}\noutro\n"
    assert registry_docs.fill(text, "new\n", tmp_path) == f"intro\n{registry_docs.BEGIN}\nnew\n{registry_docs.END}\noutro\n"


def test_synth_takes_every_registered_layout(tmp_path, capsys):
    assert main(["datasets", "synth", "--layout", "live", "--out", str(tmp_path / "LIVE"), "--n", "8"]) == 0
    assert "wrote SYNTHETIC live stand-in" in capsys.readouterr().out
    df = registry.get("live").reader(tmp_path / "LIVE")
    assert len(df) > 8 and np.isfinite(df["quality"]).all()
    with pytest.raises(DataError, match="always 96 px"):
        write_synthetic("live", tmp_path / "other", n=8, image_size=64)
