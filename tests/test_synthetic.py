"""The synthetic stand-ins: exact real layouts, determinism, MOS that follows the latent truth, safe writing."""

from __future__ import annotations

import json
import os
import re
import zipfile

import numpy as np
import pandas as pd
import pytest
import scipy.io
from PIL import Image
from scipy.stats import spearmanr

from tfagiqa.data import registry, schema
from tfagiqa.data import synthetic as syn
from tfagiqa.data.standins import agiqa1k as standin_1k
from tfagiqa.data.standins import aigciqa2023 as standin_2023
from tfagiqa.data.standins import render, scene
from tfagiqa.errors import DataError

N = 48
LAYOUTS = registry.names(registry.AIGC)  # the NR-IQA stand-ins: tests/test_standins.py
SIZE = 64
REAL_3K_VARIANTS = {
    "AttnGAN_normal", "glide_normal", "sd1.5_normal", "sd1.5_lowstep", "sd1.5_highcorr", "sd1.5_lowcorr",
    "xl2.2_normal", "DALLE2_normal", "midjourney_normal", "midjourney_lowstep",
}
REAL_3K_STYLES = {"anime style", "sci-fi style", "baroque style", "abstract style", "realistic style"}
REAL_2023_CATEGORIES = {
    "Basic", "Simple Detail", "Complex", "Fine-grained Detail", "Imagination", "Style & Format",
    "Writing & Symbols", "Quantity", "Perspective", "Linguistic Structures",
}
REAL_20K_GENERATORS = {
    "DALLE2", "DALLE3", "Dream", "IF", "LCM_Pixart", "LCM_SD1.5", "LCM_SDXL", "MJ", "Pixart", "Playground",
    "SD1.4", "SD1.5", "SDXL", "SDXL_Turbo", "SSD1B",
}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict:
    """Every layout written once at n=48 (shared by the read-only checks)."""
    root = tmp_path_factory.mktemp("synthetic")
    return {layout: syn.write_synthetic(layout, root / registry.get(layout).folder, n=N, seed=3, image_size=SIZE)
            for layout in LAYOUTS}


def truth(folder) -> pd.DataFrame:
    """The latent truth table, indexed by the label file's image name."""
    return pd.read_csv(folder / syn.TRUTH_FILE).set_index("name")


def check_images(folder, relative_paths, fmt: str) -> None:
    """Every listed image exists, decodes, has the requested size and format."""
    for path in relative_paths:
        with Image.open(folder / path) as image:
            assert image.format == fmt
            assert image.size == (SIZE, SIZE)
            assert image.mode == "RGB"


def label_files(folder) -> dict:
    """Bytes of every non-image file of a dataset folder, by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix not in (".jpg", ".png")}


def image_pixels(folder) -> dict:
    """Decoded pixels of every image of a dataset folder, by relative path."""
    return {str(p.relative_to(folder)): np.asarray(Image.open(p)) for p in sorted(folder.rglob("*"))
            if p.suffix in (".jpg", ".png")}


# ------------------------------------------------------------------------------------------------ layouts


def test_agiqa1k_layout(written):
    folder = written["agiqa1k"]
    book = pd.ExcelFile(folder / "AIGC_MOS_Zscore.xlsx")
    assert book.sheet_names == ["Sheet1"]
    table = book.parse("Sheet1")
    assert list(table.columns) == ["Image", "Prompt", "MOS"]
    assert table["MOS"].dtype == np.float64 and table["MOS"].between(0, 5).all()
    assert len(table) == N and table["Image"].is_unique
    pattern = re.compile(r"^(deepai|dreamStudio)_(\d+)_(\d+)_([01])_([01])\.jpg$")
    groups = {}
    for name, prompt in zip(table["Image"], table["Prompt"]):
        generator, main, second, place, style = pattern.fullmatch(name).groups()
        main, second = int(main), int(second)
        words = prompt.split(", ")
        assert words[2] == ("city", "wild")[int(place)] and words[3] == ("anime style", "realistic style")[int(style)]
        if generator == "dreamStudio":
            assert main <= 8 and second <= 9
            main, second = (main + 1 if main > 5 else main), second + 5
        assert (words[0], words[1]) == (standin_1k.MAIN_WORDS[main], standin_1k.SECOND_WORDS[second])
        groups.setdefault(f"{main}_{second}", set()).add(generator)
    assert {"deepai", "dreamStudio"} in groups.values()
    assert sorted(p.name for p in (folder / "images").iterdir()) == sorted(table["Image"])
    check_images(folder, [f"images/{n}" for n in table["Image"]], "JPEG")


def test_agiqa3k_layout(written):
    folder = written["agiqa3k"]
    table = pd.read_csv(folder / "data.csv")
    assert list(table.columns) == ["name", "prompt", "adj1", "adj2", "style", "mos_quality", "std_quality",
                                   "mos_align", "std_align"]
    for column in ("mos_quality", "std_quality", "mos_align", "std_align"):
        assert table[column].dtype == np.float64
    assert table[["mos_quality", "mos_align"]].stack().between(0, 5).all()
    assert (table[["std_quality", "std_align"]] > 0).all().all()
    assert table["name"].str.fullmatch(r"^[A-Za-z0-9.]+_[a-z]+_\d{3}\.jpg$").all()
    assert set(table["name"].str.rsplit("_", n=1).str[0]) == REAL_3K_VARIANTS
    for _, row in table.iterrows():
        optional = [row[c] for c in ("adj1", "adj2", "style") if isinstance(row[c], str)]
        assert row["prompt"].count(",") == len(optional)
        assert row["prompt"].split(", ")[1:] == optional
    by_prompt = table.groupby(table["name"].str[-7:-4])["prompt"].nunique()
    assert (by_prompt == 1).all() and table.groupby("prompt")["name"].apply(lambda s: s.str[-7:].nunique()).eq(1).all()
    assert sorted(p.name for p in (folder / "images").iterdir()) == sorted(table["name"])
    check_images(folder, [f"images/{n}" for n in table["name"]], "JPEG")


def test_agiqa3k_covers_every_subset(written):
    table = pd.read_csv(written["agiqa3k"] / "data.csv")
    lengths = table[["adj1", "adj2", "style"]].notna().sum(axis=1)
    assert set(lengths) == {0, 1, 2, 3}
    assert set(table["style"].dropna()) == REAL_3K_STYLES and table["style"].isna().any()
    assert set(table["adj1"].dropna()) <= {a for c in scene.ADJECTIVE_CATEGORIES for a in c}
    models = table["name"].str.split("_").str[0].map(schema.harmonise_generator)
    assert set(models.map(schema.T2I_GROUPS)) == {"bad", "medium", "good"}


def test_aigciqa2023_layout(written):
    folder = written["aigciqa2023"]
    prompts = pd.read_excel(folder / "AIGCIQA2023_Prompts.xlsx", header=None)
    n_prompts = round(N / 24)
    assert prompts.shape == (n_prompts, 3)
    assert set(prompts[0]) <= REAL_2023_CATEGORIES
    n = 24 * n_prompts
    for k in (1, 2, 3):
        mos = scipy.io.loadmat(folder / "DATA" / "MOS" / f"mosz{k}.mat")["MOSz"]
        std = scipy.io.loadmat(folder / "DATA" / "STD" / f"SD{k}.mat")["SD"]
        assert mos.shape == std.shape == (n, 1) and mos.dtype == std.dtype == np.float64
        assert 0 <= mos.min() and mos.max() <= 100 and 40 < mos.mean() < 60 and (std > 0).all()
    files = sorted((folder / "Image" / "allimg").iterdir(), key=lambda p: int(p.stem))
    assert [p.name for p in files] == [f"{i}.png" for i in range(n)]
    check_images(folder, [f"Image/allimg/{p.name}" for p in files], "PNG")
    table = truth(folder)
    per_generator = n_prompts * 4
    for i in range(n):
        row = table.loc[f"{i}.png"]
        assert row["generator"] == list(standin_2023.GENERATORS)[i // per_generator]
        assert row["prompt"] == prompts.iloc[(i % per_generator) // 4, 2]


def test_aigciqa2023_pop_art_prompt_sits_where_dlsr_expects_it():
    rows = standin_2023.prompts(100, np.random.default_rng(0))
    assert rows[51][0] == "Style & Format" and rows[51][2].endswith("pop art style")
    assert [r[0] for r in rows[::10]] == list(standin_2023.CATEGORIES)


def test_aigiqa20k_layout(written):
    folder = written["aigiqa20k"]
    sheets = {s: pd.read_excel(folder / f"info_{s}.xlsx") for s in ("train", "val", "test")}
    assert list(sheets["train"].columns) == ["name", "prompt", "mos"]
    assert list(sheets["val"].columns) == list(sheets["test"].columns) == ["name", "prompt"]
    assert sheets["train"]["mos"].dtype == np.float64 and sheets["train"]["mos"].between(0, 5).all()
    names = pd.concat([s["name"] for s in sheets.values()])
    assert names.is_unique
    generators = names.str.extract(r"^(.+)_(\d{4})\.png$")[0]
    assert set(generators) == REAL_20K_GENERATORS
    sizes = {s: len(t) for s, t in sheets.items()}
    assert sizes["train"] / len(names) == pytest.approx(0.7, abs=0.05)
    assert sizes["test"] / len(names) == pytest.approx(0.2, abs=0.05)
    for split, table in sheets.items():
        assert sorted(p.name for p in (folder / split).iterdir()) == sorted(table["name"])
        check_images(folder, [f"{split}/{n}" for n in table["name"]], "PNG")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_marker_and_truth_table(written, layout):
    folder = written[layout]
    marker = json.loads((folder / syn.MARKER).read_text())
    assert marker == {"layout": layout, "n": N, "seed": 3, "image_size": SIZE, "version": syn.VERSION, "note": syn.NOTE}
    assert syn.is_synthetic(folder)
    table = pd.read_csv(folder / syn.TRUTH_FILE)
    assert table[["quality", "alignment", "authenticity"]].stack().between(0, 1).all()
    assert all((folder / p).is_file() for p in table["path"])
    # every rated image is in the truth table (PKU-I2IQA's image prompts are inputs, not rated)
    images = [p for p in folder.rglob("*") if p.suffix in (".jpg", ".png") and "Image_prompt" not in p.parts]
    assert len(images) == len(table) == table["name"].nunique()
    assert not [p for p in folder.parent.iterdir() if ".partial-" in p.name]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_package_readers_read_the_stand_in(written, layout):
    from tfagiqa.data import READERS

    kwargs = {"splits": ("train", "val", "test")} if layout == "aigiqa20k" else {}
    df = READERS[layout](written[layout], **kwargs)
    assert df.attrs["data"] == "synthetic" and len(df) == len(truth(written[layout]))
    assert not df.attrs["skipped"]


# ------------------------------------------------------------------------------------------------ latent truth


def test_mos_follows_latent_truth(written):
    def srcc(a, b):
        return spearmanr(a, b)[0]

    table, t = pd.read_csv(written["agiqa3k"] / "data.csv"), truth(written["agiqa3k"])
    assert srcc(table["mos_quality"], t.loc[table["name"], "quality"]) > 0.8
    assert srcc(table["mos_align"], t.loc[table["name"], "alignment"]) > 0.8
    assert srcc(table["mos_quality"], t.loc[table["name"], "alignment"]) < srcc(table["mos_quality"], t.loc[table["name"], "quality"])

    mat = written["aigciqa2023"] / "DATA" / "MOS"
    t = truth(written["aigciqa2023"]).loc[[f"{i}.png" for i in range(24 * round(N / 24))]]
    for k, latent in ((1, "quality"), (2, "authenticity"), (3, "alignment")):
        assert srcc(scipy.io.loadmat(mat / f"mosz{k}.mat")["MOSz"].ravel(), t[latent]) > 0.8

    sheets = [(written["agiqa1k"] / "AIGC_MOS_Zscore.xlsx", "Image", "MOS"),
              (written["aigiqa20k"] / "info_train.xlsx", "name", "mos")]
    for path, name, mos in sheets:
        table, t = pd.read_excel(path), truth(path.parent).loc[pd.read_excel(path)[name]]
        assert srcc(table[mos], 0.6 * t["quality"] + 0.4 * t["alignment"]) > 0.8


def test_better_generators_score_higher(tmp_path):
    folder = syn.write_synthetic("agiqa3k", tmp_path / "AGIQA-3K", n=200, image_size=SIZE)
    table = pd.read_csv(folder / "data.csv")
    groups = table["name"].str.split("_").str[0].map(schema.harmonise_generator).map(schema.T2I_GROUPS)
    means = table.groupby(groups)["mos_quality"].mean()
    assert means["bad"] < means["medium"] < means["good"]


def test_distortions_rise_as_quality_falls(written):
    t = truth(written["agiqa3k"])
    assert spearmanr(t["quality"], t["blur_radius"])[0] < -0.8
    assert spearmanr(t["quality"], t["noise_sigma"])[0] < -0.8
    assert spearmanr(t["quality"], t["jpeg_quality"])[0] > 0.8
    clean = render.render(scene.Spec((scene.Thing(2, "red", "star"),), "plain", (), None), SIZE, np.random.default_rng(0))
    errors = []
    for quality in (0.9, 0.5, 0.1):
        degraded, _ = render.distort(clean, quality, np.random.default_rng(0))
        errors.append(np.mean((np.asarray(degraded, float) - np.asarray(clean, float)) ** 2))
    assert errors[0] < errors[1] < errors[2]


def test_alignment_counts_what_was_left_out(written):
    t = truth(written["agiqa3k"])
    assert (t.loc[t["alignment"] == 1.0, "missing"].isna()).all()
    assert t.loc[t["alignment"] < 1.0, "missing"].notna().all()
    assert t["alignment"].min() < 0.5 < t["alignment"].max()


# ------------------------------------------------------------------------------------------------ determinism


@pytest.mark.parametrize("layout", LAYOUTS)
def test_same_seed_same_bytes_different_seed_different_data(tmp_path, layout):
    first = syn.write_synthetic(layout, tmp_path / "a" / registry.get(layout).folder, n=N, seed=1, image_size=SIZE)
    again = syn.write_synthetic(layout, tmp_path / "b" / registry.get(layout).folder, n=N, seed=1, image_size=SIZE)
    other = syn.write_synthetic(layout, tmp_path / "c" / registry.get(layout).folder, n=N, seed=2, image_size=SIZE)
    assert label_files(first) == label_files(again)
    pixels, pixels_again = image_pixels(first), image_pixels(again)
    assert pixels.keys() == pixels_again.keys() and all(np.array_equal(pixels[k], pixels_again[k]) for k in pixels)
    changed = [k for k, v in label_files(other).items() if k != syn.MARKER and label_files(first).get(k) != v]
    assert changed
    other_pixels = image_pixels(other)
    assert any(k not in other_pixels or not np.array_equal(v, other_pixels[k]) for k, v in pixels.items())


def test_label_files_carry_no_write_time(written):
    workbook = written["agiqa1k"] / "AIGC_MOS_Zscore.xlsx"
    with zipfile.ZipFile(workbook) as archive:
        assert {entry.date_time for entry in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert re.findall(r"<dcterms:(?:created|modified)[^>]*>([^<]*)<", core) == ["2024-01-01T00:00:00Z"] * 2
    header = (written["aigciqa2023"] / "DATA" / "MOS" / "mosz1.mat").read_bytes()[:116]
    assert header.startswith(b"MATLAB 5.0 MAT-file") and b"Created on" not in header


# ------------------------------------------------------------------------------------------------ safe writing


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    saved = []

    def failing_save(image, path, jpeg_quality):
        if len(saved) == 5:
            raise OSError("disk full")
        saved.append(path)
        image.save(path, format="JPEG", quality=jpeg_quality)

    monkeypatch.setattr(render, "save_image", failing_save)
    with pytest.raises(OSError, match="disk full"):
        syn.write_synthetic("agiqa3k", tmp_path / "AGIQA-3K", n=N, image_size=SIZE)
    assert len(saved) == 5 and saved[0].is_relative_to(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_writer_that_loses_the_race_keeps_the_winners_identical_copy(tmp_path, monkeypatch):
    target = tmp_path / "AGIQA-1K"
    write_layout = syn._write_layout

    def racing(layout, folder, params):
        monkeypatch.setattr(syn, "_write_layout", write_layout)
        syn.write_synthetic(layout, target, params["n"], params["seed"], params["image_size"])
        write_layout(layout, folder, params)

    monkeypatch.setattr(syn, "_write_layout", racing)
    assert syn.write_synthetic("agiqa1k", target, n=N, image_size=SIZE) == target
    assert [p.name for p in tmp_path.iterdir()] == ["AGIQA-1K"] and syn.is_synthetic(target)


def test_write_refuses_a_non_empty_folder_and_reuses_an_identical_one(tmp_path):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="not empty"):
        syn.write_synthetic("agiqa1k", occupied, n=N, image_size=SIZE)
    assert [p.name for p in occupied.iterdir()] == ["notes.txt"]

    empty = tmp_path / "empty"
    empty.mkdir()
    assert syn.write_synthetic("agiqa1k", empty, n=N, image_size=SIZE) == empty and syn.is_synthetic(empty)
    stamp = (empty / "AIGC_MOS_Zscore.xlsx").stat().st_mtime_ns
    assert syn.write_synthetic("agiqa1k", empty, n=N, image_size=SIZE) == empty
    assert (empty / "AIGC_MOS_Zscore.xlsx").stat().st_mtime_ns == stamp
    with pytest.raises(DataError):
        syn.write_synthetic("agiqa1k", empty, n=N, seed=9, image_size=SIZE)


def test_ensure_reuses_then_regenerates_on_new_seed(tmp_path):
    folder = syn.ensure_synthetic("agiqa3k", tmp_path, n=N)
    assert folder == tmp_path / "AGIQA-3K" and syn.is_synthetic(folder)
    files = [folder / "data.csv", folder / syn.MARKER, folder / "images" / "AttnGAN_normal_000.jpg"]
    stamps = [os.stat(p).st_mtime_ns for p in files]
    assert syn.ensure_synthetic("agiqa3k", tmp_path, n=N) == folder
    assert [os.stat(p).st_mtime_ns for p in files] == stamps
    assert syn.ensure_synthetic("agiqa3k", tmp_path, n=N, seed=5) == folder
    assert json.loads((folder / syn.MARKER).read_text())["seed"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["AGIQA-3K"]


def test_ensure_default_n_matches_marker(tmp_path):
    folder = syn.ensure_synthetic("aigciqa2023", tmp_path, image_size=32)
    assert json.loads((folder / syn.MARKER).read_text())["n"] == registry.get("aigciqa2023").standin.default_n
    stamp = (folder / syn.MARKER).stat().st_mtime_ns
    syn.ensure_synthetic("aigciqa2023", tmp_path, n=registry.get("aigciqa2023").standin.default_n, image_size=32)
    assert (folder / syn.MARKER).stat().st_mtime_ns == stamp


def test_ensure_never_overwrites_a_real_dataset(tmp_path):
    real = tmp_path / "AGIQA-3K"
    real.mkdir()
    (real / "data.csv").write_text("name,prompt\n")
    with pytest.raises(DataError):
        syn.ensure_synthetic("agiqa3k", tmp_path, n=N)
    assert (real / "data.csv").read_text() == "name,prompt\n" and not syn.is_synthetic(real)


@pytest.mark.parametrize("layout, n, seed", [("agiqa2k", 10, 0), ("agiqa1k", 0, 0), ("agiqa1k", 5000, 0), ("agiqa1k", 10, -1)])
def test_bad_requests_are_explained(tmp_path, layout, n, seed):
    with pytest.raises(DataError):
        syn.write_synthetic(layout, tmp_path / "x", n=n, seed=seed)
    assert not (tmp_path / "x").exists()
