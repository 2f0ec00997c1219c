"""Property-based tests (hypothesis) of every function that takes a user's file or value.

The property: a result, or a TfagiqaError whose message names the file (and the row or element where one is
to blame); never another exception. Example counts follow the hypothesis profile (conftest.py): few by default,
many with ``--hypothesis-profile=thorough``.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import scipy.io
import tensorflow as tf
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from robustness_corpus import examples
from tfagiqa.cli import main
from tfagiqa.data import READERS, labels
from tfagiqa.data.images import decode_image_bytes, load_image
from tfagiqa.data.nriqa import read_kadid10k, read_koniq10k, read_livec
from tfagiqa.data.pipeline import make_dataset, surface_data_errors
from tfagiqa.errors import DataError, TfagiqaError

COLUMNS_3K = ["name", "prompt", "adj1", "adj2", "style", "mos_quality", "std_quality", "mos_align", "std_align"]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1", "utf-16-le"]
FORMATS = ["PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF"]
pytestmark = pytest.mark.filterwarnings("ignore::tfagiqa.errors.DataWarning")  # label files in cp1252 etc.
SHEET_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=16)  # what openpyxl can store

numbers_as_text = st.sampled_from(["", " ", "high", "3,5", "N/A", "nan", "inf", "-inf", "1e400", " 2.5 ", "NA", "0x1"])
label_cells = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers(-99, 99).map(str),
                        numbers_as_text, st.text(max_size=8))
sheet_label_cells = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-99, 99), st.none(),
                              numbers_as_text, SHEET_TEXT)


def names(pattern: str, other: st.SearchStrategy[str] = st.text(max_size=12)) -> st.SearchStrategy[str]:
    """Names the reader accepts, or anything else."""
    return st.one_of(st.from_regex(pattern, fullmatch=True), other)


def blames_the_file(error: Exception, path: Path) -> bool:
    """The message names the file (by path or name)."""
    return str(path) in str(error) or path.name in str(error)


def refuses_properly(error: TfagiqaError, path: Path) -> None:
    """A refusal names the file, and a list of bad rows names each row."""
    assert blames_the_file(error, path), str(error)
    if "bad row(s)" in str(error):
        assert re.search(r"row \d+", str(error)), str(error)


def serialise_csv(rows: list[list[str]], quoted: bool, encoding: str) -> bytes:
    """CSV bytes: properly quoted, or naively joined (commas and quotes in cells then make ragged rows)."""
    if quoted:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        text = buffer.getvalue()
    else:
        text = "".join(",".join(r) + "\n" for r in rows)
    return text.encode(encoding, errors="replace")


def write_sheet(path: Path, rows: list[list]) -> None:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)


def sheet_data_rows(rows: list[tuple]) -> int | None:
    """How many rows a spreadsheet reader must account for: those with a value (None when a row holds only
    blank text, which a spreadsheet may store as empty or as text)."""
    blank = [all(c is None or (isinstance(c, str) and not c.strip()) for c in r) for r in rows]
    if any(b and any(isinstance(c, str) for c in r) for b, r in zip(blank, rows)):
        return None
    return blank.count(False)


def check_reader(read, path: Path, data_rows: int | None):
    """Run a reader: a frame (every data row kept or listed as skipped), or a TfagiqaError naming the file."""
    try:
        df = read()
    except TfagiqaError as error:
        refuses_properly(error, path)
        return None
    if data_rows is not None and "skipped" in df.attrs:
        assert len(df) + len(df.attrs["skipped"]) == data_rows
    return df


# --- label files of the four layouts ---------------------------------------------------------------------------

@examples(2)
@given(rows=st.lists(st.tuples(names(r"(AttnGAN|glide|sd1\.5)_normal_\d{3}\.jpg"), st.text(max_size=20),
                               *[st.one_of(st.just(""), st.text(max_size=6))] * 3, *[label_cells] * 4), max_size=6),
       header=st.sampled_from(["intact", "renamed", "dropped", "duplicated"]), quoted=st.booleans(),
       encoding=st.sampled_from(ENCODINGS), on_error=st.sampled_from(["raise", "skip"]), tail=st.binary(max_size=4))
def test_agiqa3k_reader(rows, header, quoted, encoding, on_error, tail):
    columns = list(COLUMNS_3K)
    if header == "renamed":
        columns[5] = "quality"
    elif header == "dropped":
        columns.pop(7)
    elif header == "duplicated":
        columns[8] = "mos_align"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "data.csv")
        path.write_bytes(serialise_csv([columns, *[list(r) for r in rows]], quoted, encoding) + tail)
        intact = header == "intact" and quoted and not tail and encoding in ("utf-8", "utf-8-sig", "utf-16")
        data_rows = sum(any(c.strip() for c in r) for r in rows) if intact else None
        check_reader(lambda: READERS["agiqa3k"](folder, require_images=False, on_error=on_error), path, data_rows)


@examples(2)
@given(layout=st.sampled_from(["agiqa1k", "aigiqa20k"]), data=st.data(), on_error=st.sampled_from(["raise", "skip"]),
       drop_column=st.booleans(), empty_first_sheet=st.booleans())
def test_spreadsheet_readers(layout, data, on_error, drop_column, empty_first_sheet):
    if layout == "agiqa1k":
        columns, file = ["Image", "Prompt", "MOS"], "AIGC_MOS_Zscore.xlsx"
        name = names(r"(deepai|dreamStudio)_\d_\d_[01]_[01]\.jpg", SHEET_TEXT)
    else:
        columns, file = ["name", "prompt", "mos"], "info_train.xlsx"
        name = names(r"(SDXL|DALLE3|MJ)_\d{4}\.png", SHEET_TEXT)
    rows = data.draw(st.lists(st.tuples(st.one_of(name, st.integers(-10**6, 10**6), st.none()), SHEET_TEXT,
                                        sheet_label_cells), max_size=6))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, file)
        header = columns[:-1] if drop_column else columns
        write_sheet(path, [header, *[list(r)[:len(header)] for r in rows]])
        if empty_first_sheet:
            book = openpyxl.load_workbook(path)
            book.create_sheet("Empty", 0)
            book.save(path)
        data_rows = None if drop_column or empty_first_sheet else sheet_data_rows(rows)
        check_reader(lambda: READERS[layout](folder, require_images=False, on_error=on_error), path, data_rows)


mat_cells = st.one_of(st.floats(), st.text(st.characters(codec="ascii"), max_size=5), st.just(np.zeros((0, 0))))


@examples(2)
@given(cells=st.lists(mat_cells, min_size=24, max_size=24), key=st.sampled_from(["MOSz", "MOSz", "mos"]),
       shape=st.sampled_from([(24, 1), (1, 24), (24,), (2, 12)]), as_cells=st.booleans(),
       on_error=st.sampled_from(["raise", "skip"]))
def test_aigciqa2023_reader(cells, key, shape, as_cells, on_error):
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root)
        (folder / "DATA" / "MOS").mkdir(parents=True)
        (folder / "DATA" / "STD").mkdir()
        for k in (1, 2, 3):
            scipy.io.savemat(folder / "DATA" / "MOS" / f"mosz{k}.mat", {"MOSz": np.full((24, 1), 50.0)})
            scipy.io.savemat(folder / "DATA" / "STD" / f"SD{k}.mat", {"SD": np.full((24, 1), 5.0)})
        if as_cells:
            array = np.empty(24, dtype=object)
            array[:] = cells
        else:
            array = np.array([c if isinstance(c, float) else np.nan for c in cells])
        scipy.io.savemat(folder / "DATA" / "MOS" / "mosz2.mat", {key: array.reshape(shape)})
        write_sheet(folder / "AIGCIQA2023_Prompts.xlsx", [["Basic", "thing", "a red circle"]])
        check_reader(lambda: READERS["aigciqa2023"](folder, require_images=False, on_error=on_error),
                     folder / "DATA" / "MOS" / "mosz2.mat", 24)


@examples(2)
@given(dataset=st.sampled_from(["koniq10k", "kadid10k"]),
       rows=st.lists(st.tuples(names(r"[a-z0-9]{1,8}\.(jpg|png)"), label_cells), max_size=5),
       quoted=st.booleans(), encoding=st.sampled_from(ENCODINGS))
def test_nriqa_csv_readers(dataset, rows, quoted, encoding):
    header, file, images = (["image_name", "MOS"], "koniq10k_scores_and_distributions.csv", "1024x768") \
        if dataset == "koniq10k" else (["dist_img", "ref_img", "dmos"], "dmos.csv", "images")
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root)
        (folder / images).mkdir()
        table = [[name, score] if dataset == "koniq10k" else [name, "I01.png", score] for name, score in rows]
        for name, _ in rows:
            if re.fullmatch(r"[\w.-]+", name) and name not in (".", ".."):
                Image.new("RGB", (4, 4)).save(folder / images / name, format="PNG")
        (folder / file).write_bytes(serialise_csv([header, *table], quoted, encoding))
        read = read_koniq10k if dataset == "koniq10k" else read_kadid10k
        check_reader(lambda: read(folder), folder / file, None)


@examples(1)
@given(names_=st.lists(st.one_of(st.from_regex(r"\w{1,6}\.JPG", fullmatch=True), st.just(""), st.floats()),
                       min_size=7, max_size=10),
       mos=st.lists(st.one_of(st.floats(), st.text(max_size=3)), min_size=7, max_size=10))
def test_livec_reader(names_, mos):
    with tempfile.TemporaryDirectory() as root:
        folder = Path(root)
        (folder / "Data").mkdir()
        (folder / "Images").mkdir()
        name_cells = np.empty((len(names_), 1), dtype=object)
        name_cells[:, 0] = names_
        mos_cells = np.empty((1, len(mos)), dtype=object)
        mos_cells[0, :] = mos
        scipy.io.savemat(folder / "Data" / "AllImages_release.mat", {"AllImages_release": name_cells})
        scipy.io.savemat(folder / "Data" / "AllMOS_release.mat", {"AllMOS_release": mos_cells})
        for name in names_:
            if isinstance(name, str) and name:
                Image.new("RGB", (4, 4)).save(folder / "Images" / name, format="JPEG")
        try:
            read_livec(folder)
        except TfagiqaError as error:
            assert "AllImages_release" in str(error) or "AllMOS_release" in str(error) or str(folder) in str(error)


@examples(3)
@given(data=st.binary(max_size=300))
@example(data=b"\xef\xbb\xbfname\n\xff")
@example(data="name\ncafé\n".encode("utf-16-be"))
def test_label_text_decoding(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "labels.csv")
        path.write_bytes(data)
        try:
            table = labels.read_csv(path)
        except TfagiqaError as error:
            refuses_properly(error, path)
            return
        assert list(table.columns) and len(table) == len(table.attrs["rows"])


@examples(3)
@given(cells=st.lists(st.one_of(label_cells, st.floats(), st.none(), st.booleans(), st.integers()), max_size=8))
def test_label_numbers_and_problems(cells):
    values = labels.numbers(pd.Series(cells, dtype=object))
    assert values.dtype == np.float64 and len(values) == len(cells)
    for cell, value in zip(cells, values):
        if not np.isfinite(value):
            problem = labels.label_problem("quality", "mos", cell, value)
            assert "quality" in problem and "mos" in problem
            if isinstance(cell, str) and cell.strip():
                assert repr(cell.strip()) in problem  # the cell's text is quoted


# --- image decoding: Pillow (files, bytes) and the tf.data pipeline ----------------------------------------------

@st.composite
def encoded_images(draw) -> bytes:
    """Random bytes, or a real image in a random format, optionally cut short or with bytes overwritten."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=200))
    fmt = draw(st.sampled_from(FORMATS))
    mode = draw(st.sampled_from(["RGB", "L", "RGBA", "P"] if fmt != "JPEG" else ["RGB", "L", "CMYK"]))
    size = (draw(st.integers(1, 24)), draw(st.integers(1, 24)))
    buffer = io.BytesIO()
    Image.new(mode, size, draw(st.integers(0, 255)) if mode in ("L", "P") else None).save(buffer, format=fmt)
    data = bytearray(buffer.getvalue())
    damage = draw(st.sampled_from(["none", "cut", "overwrite"]))
    if damage == "cut":
        data = data[:draw(st.integers(0, len(data)))]
    elif damage == "overwrite" and data:
        start = draw(st.integers(0, len(data) - 1))
        patch = draw(st.binary(min_size=1, max_size=8))
        data[start:start + len(patch)] = patch
    return bytes(data)


@examples(4)
@given(data=encoded_images())
def test_pillow_decoding(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "image.png")
        path.write_bytes(data)
        for decode, name in ((lambda: load_image(path), str(path)), (lambda: decode_image_bytes(data, "img7"), "img7")):
            try:
                pixels = decode()
            except DataError as error:
                assert name in str(error)
                continue
            assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3 and pixels.size


@examples(0.5)
@given(files=st.lists(encoded_images(), min_size=1, max_size=3))
def test_pipeline_decoding(files):
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder, f"{i}.img") for i in range(len(files))]
        for path, data in zip(paths, files):
            path.write_bytes(data)
        df = pd.DataFrame({"image": [str(p) for p in paths], "prompt": "p", "quality": 1.0})
        try:
            with surface_data_errors():
                batches = [b.numpy() for b in make_dataset(df, image_size=8, batch_size=2)]
        except DataError as error:
            assert any(str(p) in str(error) for p in paths), str(error)
            return
        assert sum(len(b) for b in batches) == len(files)


# --- Scorer and the SavedModel signatures ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scorers(tiny_savedmodels):
    from tfagiqa.scorer import Scorer

    return {kind: Scorer.load(path) for kind, path in tiny_savedmodels.items()}


@pytest.fixture(scope="module")
def signatures(tiny_savedmodels):
    return {kind: tf.saved_model.load(str(path)).signatures for kind, path in tiny_savedmodels.items()}


image_arrays = st.one_of(
    hnp.arrays(st.sampled_from([np.uint8, np.float32, np.float64, np.int16, np.bool_]),
               hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=9)),
    hnp.arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 3]))),
    hnp.arrays(np.float32, st.tuples(st.integers(1, 9), st.integers(1, 9), st.just(3)),
               elements=st.floats(0, 1, width=32)),
)
image_inputs = st.one_of(image_arrays, st.lists(st.one_of(image_arrays, st.text(max_size=5), st.none()), max_size=3),
                         st.builds(lambda m: Image.new(m, (5, 4)), st.sampled_from(["RGB", "L", "RGBA", "I;16", "F"])))
prompts = st.one_of(st.none(), st.text(max_size=30), st.lists(st.text(max_size=300), max_size=4), st.integers())


@examples(3)
@given(images=image_inputs, prompt=prompts, kind=st.sampled_from(["perception", "alignment"]),
       batch_size=st.sampled_from([1, 2, 32, 0]))
@example(images=np.zeros((0, 8, 8, 3), np.uint8), prompt=None, kind="perception", batch_size=2)
@example(images=np.zeros((5, 7, 3), np.uint8), prompt="\ud800 lone surrogate", kind="alignment", batch_size=2)
@example(images=np.zeros((2, 5, 7, 3), np.uint8), prompt=["é" * 5000, ""], kind="alignment", batch_size=1)
def test_scorer_inputs(scorers, images, prompt, kind, batch_size):
    scorer = scorers[kind]
    try:
        scores = scorer(images, prompts=prompt, batch_size=batch_size)
    except TfagiqaError as error:
        message = str(error)
        if isinstance(images, list) and re.match(r"image \d+: ", message):
            assert int(message.split()[1].rstrip(":")) < len(images)
        return
    (values,) = scores.values()
    assert values.dtype == np.float32 and np.isfinite(values).all()


@examples(3)
@given(elements=st.lists(encoded_images(), max_size=4), prompt=st.one_of(st.binary(max_size=40), st.text(
    max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass"))))
@example(elements=[], prompt=b"")
def test_serving_default_answers_every_element(signatures, elements, prompt):
    for kind, signature in signatures.items():
        extra = {"prompt": tf.constant([prompt] * len(elements), tf.string)} if kind == "alignment" else {}
        out = signature["serving_default"](image_bytes=tf.constant(elements, tf.string), **extra)
        decoded = out.pop("decoded").numpy()
        (scores,) = [v.numpy() for v in out.values()]
        assert scores.shape == decoded.shape == (len(elements),)
        assert set(decoded) <= {0.0, 1.0} and (np.isnan(scores) == (decoded == 0)).all()


def png(height: int, width: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("size", [(1, 1), (1, 3000), (3000, 2), (2048, 2048)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_signatures_take_tiny_and_huge_images(signatures, size):
    data = png(*size)
    for kind, signature in signatures.items():
        extra = {"prompt": tf.constant(["a red picture"])} if kind == "alignment" else {}
        served = signature["serving_default"](image_bytes=tf.constant([data]), **extra)
        assert served.pop("decoded").numpy().tolist() == [1.0]
        pixels = tf.constant(np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))[None])
        direct = signature["score_images"](images=pixels, **extra)
        (a,), (b,) = (list(served.values())[0].numpy(), list(direct.values())[0].numpy())
        assert np.isfinite(a) and a == pytest.approx(b, abs=1e-5)


# --- the command line ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def places(tmp_path_factory, synthetic_root, tiny_savedmodels) -> dict[str, str]:
    """Paths a fuzzed argument may take: real inputs, a text file, nothing, and fresh output places."""
    root = tmp_path_factory.mktemp("cli_fuzz")
    (root / "notes.txt").write_text("hello")
    (root / "images").mkdir()
    Image.new("RGB", (6, 6)).save(root / "images" / "a.png")
    return {"synthetic": str(synthetic_root / "AGIQA-3K"), "root": str(synthetic_root), "text": str(root / "notes.txt"),
            "none": str(root / "missing"), "images": str(root / "images"), "out": str(root / "out"),
            "model": str(tiny_savedmodels["perception"])}


def argv_strategy(places: dict[str, str]) -> st.SearchStrategy[list[str]]:
    place = st.sampled_from(sorted(places)).map(places.get)
    word = st.one_of(place, st.text(max_size=8), st.integers(-3, 50).map(str), st.sampled_from(["nan", "inf", "-1e9", "1e-300"]))
    out = st.integers(0, 10**6).map(lambda i: f"{places['out']}/{i}/x")
    datasets = st.sampled_from(["agiqa1k", "agiqa3k", "aigciqa2023", "aigiqa20k", "bogus"])
    commands = st.one_of(
        st.tuples(st.just("datasets"), st.sampled_from(["check", "summary"]), st.just("--dataset"), datasets,
                  st.just("--data-root"), place, st.sampled_from([[], ["--json"], ["--labels-only", "--skip-bad"]])),
        st.tuples(st.just("datasets"), st.just("synth"), st.just("--layout"), datasets, st.just("--out"), out,
                  st.just("--n"), st.integers(-2, 30).map(str), st.just("--seed"), st.integers(-2, 2).map(str)),
        st.tuples(st.just("datasets"), st.just("to-tfrecord"), st.just("--dataset"), datasets, st.just("--data-root"),
                  place, st.just("--out"), out, st.just("--shard-size"), word),
        st.tuples(st.just("score"), st.just("--model"), st.one_of(place, st.sampled_from(["bogus", "x.keras"])),
                  st.just("--images"), place, st.just("--out"), out, st.just("--batch-size"), word,
                  st.sampled_from([[], ["--format", "json"], ["--prompts", places["text"]], ["--seed", "-4"]])),
        st.tuples(st.just("export"), st.just("--model"), st.sampled_from(["bogus", "x.keras", places["text"]]),
                  st.just("--out"), out),
        st.tuples(st.just("convert"), st.sampled_from(["clip", "hyperiqa", "bogus"]), st.just("--torch"), place,
                  st.just("--out"), out),
        st.lists(word, max_size=4),
    )

    def flatten(parts) -> list[str]:
        return [p for part in parts for p in (part if isinstance(part, list) else [part])]

    return commands.map(flatten)


@examples(3)
@given(data=st.data())
def test_command_line_arguments(places, data, capsys):
    argv = data.draw(argv_strategy(places))
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own answer to a malformed command line (usage or --help)
        assert exit_.code in (0, 2)
        return
    finally:
        captured = capsys.readouterr()
        assert "Traceback" not in captured.out + captured.err
    assert code in (0, 1, 2)
    if code == 2:
        assert captured.err.startswith("tfagiqa: error: "), captured.err
