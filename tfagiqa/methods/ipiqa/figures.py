"""IP-IQA's Fig. 1 (a ResNet-50 IQA model's scores beside the MOS) and Fig. 3 (attention maps of the
cross-modality attention pool), drawn from trained models.

    python experiments/make_figures.py --paper ipiqa      # figures/ipiqa_fig1.png, figures/ipiqa_fig3.png

Models: the ones ``experiments/run_ipiqa.py`` saves under ``<out>/models/`` (default
``results/reproduced/ipiqa/models/``): the IP-IQA scorer ``ipiqa_<dataset>_scorer.keras`` (or one written by
``tfagiqa convert ipiqa``) and a ResNet-50 baseline's model, ``resnet50_<dataset>.keras`` (Table 1's "ResNet50")
or else ``resnet50-imagenet_<dataset>.keras``. AGIQA-1K is used when its models are there (the paper's Fig. 1 is
on AGIQA-1K), else AGIQA-3K. A model that is not there is replaced by a tiny one (the smoke profile's sizes,
random initialisation) trained for one epoch on a small synthetic stand-in, and the figure's title says
SYNTHETIC and RANDOM. The example images come from the dataset under the data root (the synthetic stand-in when
the real one is absent, or always when a model had to be replaced); every title names where its images and each
model come from (data kind and weights of the model's result rows in ``results``).

* Fig. 1: among up to ``POOL`` images (a fixed sample), the four that the ResNet-50 overrates most (prediction −
  MOS), as the paper's examples, each with its MOS, the ResNet-50's and IP-IQA's prediction.
* Fig. 3: for two of them, the cross-modal pool's attention of the prompt's [QA] query over the image's g × g
  feature locations (:func:`attention_maps`), upsampled bilinearly onto the image: the mean over the heads and the
  three most peaked heads. The paper shows single heads attending to words of the prompt ("aircraft", "city");
  the pool has one query, the [QA] token, so here the heads are what differs.

Each PNG holds its title in its ``Title`` metadata too.
"""

from __future__ import annotations

import os
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from tfagiqa.backbones.clip_text import BPETokenizer, HashTokenizer
from tfagiqa.data import READERS, load_dataset, resolve_dataset_dir, schema
from tfagiqa.figures import save

DEFAULT_MODELS = Path("results/reproduced/ipiqa/models")
DATASETS = ("agiqa1k", "agiqa3k")
BASELINES = ("resnet50", "resnet50-imagenet")
POOL = 32  # images scored to pick Fig. 1's examples
EXAMPLES = 4
ATTENTION_EXAMPLES = 2
TOP_HEADS = 3
FALLBACK_IMAGES = 48
FALLBACK_EPOCHS = 1
FALLBACK = "SYNTHETIC data, RANDOM init: a tiny smoke-profile model trained {epochs} epoch(s) here"


@dataclass
class Scorer:
    """A model that scores [N, S, S, 3] images in [0, 255] (and prompts), and where it comes from."""

    model: keras.Model
    name: str
    label: str

    @property
    def size(self) -> int:
        return int(self.model.input["images"].shape[1])

    def scores(self, images: np.ndarray, prompts: list[str]) -> np.ndarray:
        """[N] scores: the first output (AGIQA-1K's MOS, AGIQA-3K's quality)."""
        import tensorflow as tf

        inputs = {"images": tf.constant(images, tf.float32)}
        if "prompt" in self.model.input:
            inputs["prompt"] = tf.constant(prompts)
        out = self.model(inputs, training=False)
        first = out[next(iter(out))] if isinstance(out, dict) else out[:, 0]
        return np.asarray(first, "float32").reshape(-1)


def attention_weights(scorer: keras.Model, images: np.ndarray, prompts: list[str]) -> np.ndarray:
    """[N, heads, 1 + g²]: the cross-modal pool's attention of each prompt's [QA] query over the mean token and the
    g × g locations of its image (images [N, S, S, 3] in [0, 255] at the scorer's size)."""
    import tensorflow as tf

    model = ipiqa_network(scorer)
    pool = model.get_layer("cross_modal_pool")
    probe = keras.Model(model.input, pool.input)
    tokenizer = next(layer for layer in scorer.layers if isinstance(layer, (HashTokenizer, BPETokenizer)))
    inputs = {"images": tf.constant(images, tf.float32), "token_ids": tokenizer(tf.constant(prompts))}
    return np.asarray(pool.attention(probe(inputs)), "float64")


def attention_maps(scorer: keras.Model, images: np.ndarray, prompts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """([N, heads, g, g] attention over the locations, renormalised without the mean token so each map sums to 1;
    [N, heads] the mean token's share that was left out)."""
    weights = attention_weights(scorer, images, prompts)
    grid = int(round(np.sqrt(weights.shape[-1] - 1)))
    spatial = weights[..., 1:]
    maps = spatial / spatial.sum(-1, keepdims=True)
    return maps.reshape(*weights.shape[:2], grid, grid), weights[..., 0]


def ipiqa_network(scorer: keras.Model) -> keras.Model:
    """The IP-IQA network inside a catalogue scorer (the layer holding the cross-modal pool)."""
    for layer in scorer.layers:
        if isinstance(layer, keras.Model) and any(sub.name == "cross_modal_pool" for sub in layer.layers):
            return layer
    raise ValueError(f"{scorer.name} holds no IP-IQA network with a cross-modal attention pool")


def provenance(results: pd.DataFrame, experiment: str, dataset: str) -> str:
    """"<data> data, weights=<weights>" of the model's latest result row, or that no row says so."""
    if results is None or results.empty or not {"experiment", "dataset", "data", "weights"} <= set(results):
        return "no result rows: training data and weights unknown"
    rows = results[(results["experiment"].astype(str) == experiment) & (results["dataset"].astype(str) == dataset)]
    if rows.empty:
        return "no result rows: training data and weights unknown"
    row = rows.iloc[-1]
    return f"{row['data']} data, weights={row['weights']}"


def saved_models(models_dir: Path, results: pd.DataFrame) -> tuple[str, Scorer | None, Scorer | None]:
    """(dataset, IP-IQA scorer or None, ResNet-50 baseline or None) found in ``models_dir``."""
    found = {}
    for dataset in DATASETS:
        ipiqa_file = models_dir / f"ipiqa_{dataset}_scorer.keras"
        ipiqa = Scorer(keras.saving.load_model(ipiqa_file), "IP-IQA",
                       f"{ipiqa_file.name}; {provenance(results, 'ipiqa', dataset)}") if ipiqa_file.is_file() else None
        baseline = None
        for name in BASELINES:
            path = models_dir / f"{name}_{dataset}.keras"
            if path.is_file():
                baseline = Scorer(keras.saving.load_model(path), "ResNet-50",
                                  f"{path.name}; {provenance(results, name, dataset)}")
                break
        found[dataset] = (ipiqa, baseline)
        if ipiqa and baseline:
            return dataset, ipiqa, baseline
    dataset = next((d for d in DATASETS if any(found[d])), DATASETS[0])
    return (dataset, *found[dataset])


def train_fallback(dataset: str, which: str, data_root: Path) -> Scorer:
    """A tiny IP-IQA (``which="ipiqa"``) or ResNet-50 (``"resnet50"``) trained briefly on a small synthetic
    stand-in written under ``data_root``."""
    from tfagiqa.methods.baselines.models import resnet50_regressor
    from tfagiqa.methods.ipiqa import model as ipiqa
    from tfagiqa.methods.ipiqa import protocol

    df = READERS[dataset](resolve_dataset_dir(dataset, data_root, "always", n=FALLBACK_IMAGES))
    profile = protocol.PROFILES["smoke"].but(epochs=FALLBACK_EPOCHS)
    labels = protocol.LABELS[dataset]
    keras.utils.set_random_seed(0)

    def fit(network: keras.Model, lookup) -> keras.Model:
        # a few steps: eager execution is faster than tracing the training graph
        network.compile(optimizer=protocol.optimizer(profile), loss="mean_squared_error", run_eagerly=True)
        network.fit(protocol.dataset(df, labels, profile, lookup, train=True, seed=0), epochs=profile.epochs,
                    shuffle=False, verbose=0)
        return network

    label = FALLBACK.format(epochs=profile.epochs)
    if which == "resnet50":
        return Scorer(fit(resnet50_regressor(len(labels), profile.image_size, None, tiny=True).model, None),
                      "ResNet-50", label)
    start = protocol.resolve_clip("none", profile)
    config = ipiqa.IPIQAConfig(outputs=labels, image_size=profile.image_size, vision=start.vision, text=start.text)
    network = fit(ipiqa.build_ipiqa(config), protocol.prompt_lookup(df[schema.PROMPT], start.tokenize))
    return Scorer(ipiqa.scoring_model(network, labels, start.tokenizer), "IP-IQA", label)


def load_images(paths: list[str], size: int) -> np.ndarray:
    """[N, size, size, 3] float32 RGB in [0, 255], resized bicubically (as IP-IQA's processors resize)."""
    return np.stack([np.asarray(Image.open(p).convert("RGB").resize((size, size), Image.BICUBIC), "float32")
                     for p in paths])


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.fill(line, width) for line in text.splitlines())


def _figure(width: float, height: float) -> Figure:
    """A matplotlib figure on the Agg canvas (no display needed)."""
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def figure_1(rows: pd.DataFrame, baseline: Scorer, ipiqa: Scorer, label_column: str, source: str) -> tuple[Figure, str]:
    """Fig. 1: the examples with their MOS and both models' predictions (``rows`` already chosen)."""
    images = load_images(rows[schema.IMAGE].tolist(), baseline.size)
    prompts = rows[schema.PROMPT].astype(str).tolist()
    ours = ipiqa.scores(load_images(rows[schema.IMAGE].tolist(), ipiqa.size), prompts)
    theirs = baseline.scores(images, prompts)
    title = (f"IP-IQA Fig. 1: ResNet-50 scores beside the MOS ({label_column}); the {len(rows)} images it overrates "
             f"most of {POOL} scored\nimages: {source}\nResNet-50: {baseline.label}\nIP-IQA: {ipiqa.label}")
    fig = _figure(3.2 * len(rows), 5.2)
    for i, (image, prompt, mos, base, full) in enumerate(zip(images, prompts, rows[label_column], theirs, ours)):
        ax = fig.add_subplot(1, len(rows), i + 1)
        ax.imshow(image.astype("uint8"))
        ax.set_axis_off()
        ax.set_title(f"{_wrap(prompt[:90], 34)}\nMOS {mos:.2f} | ResNet-50 {base:.2f} | IP-IQA {full:.2f}", fontsize=7)
    fig.suptitle(_wrap(title, 150), fontsize=8)
    fig.tight_layout()
    return fig, title


def figure_3(rows: pd.DataFrame, ipiqa: Scorer, source: str) -> tuple[Figure, str]:
    """Fig. 3: per image, the input, the head-averaged map and the most peaked heads' maps over the image."""
    import tensorflow as tf

    images = load_images(rows[schema.IMAGE].tolist(), ipiqa.size)
    prompts = rows[schema.PROMPT].astype(str).tolist()
    maps, mean_share = attention_maps(ipiqa.model, images, prompts)
    grid = maps.shape[-1]
    title = (f"IP-IQA Fig. 3: attention of the [QA] query over the {grid}×{grid} image locations in the "
             f"cross-modality attention pool (upsampled; each map sums to 1 without the mean token)\n"
             f"images: {source}\nIP-IQA: {ipiqa.label}")
    columns = 2 + TOP_HEADS
    fig = _figure(2.6 * columns, 2.9 * len(rows) + 0.9)
    for r, (image, prompt, per_head, share) in enumerate(zip(images, prompts, maps, mean_share)):
        heads = np.argsort(-per_head.reshape(len(per_head), -1).max(-1))[:TOP_HEADS]
        panels = [("input", None), (f"mean of {len(per_head)} heads", per_head.mean(0))]
        panels += [(f"head {h} (mean token {share[h]:.2f})", per_head[h]) for h in heads]
        for c, (name, attention) in enumerate(panels):
            ax = fig.add_subplot(len(rows), columns, r * columns + c + 1)
            ax.imshow(image.astype("uint8"))
            if attention is not None:
                up = np.asarray(tf.image.resize(attention[..., None], image.shape[:2], "bilinear"))[..., 0]
                ax.imshow(up, cmap="jet", alpha=0.5)
            ax.set_axis_off()
            ax.set_title(_wrap(prompt[:80], 40) if c == 0 else name, fontsize=7)
    fig.suptitle(_wrap(title, 150), fontsize=8)
    fig.tight_layout()
    return fig, title


def choose_examples(df: pd.DataFrame, baseline: Scorer, label_column: str) -> pd.DataFrame:
    """The ``EXAMPLES`` images of a fixed ``POOL``-image sample the baseline overrates most (prediction − MOS)."""
    pool = df.sample(min(POOL, len(df)), random_state=0)
    images = load_images(pool[schema.IMAGE].tolist(), baseline.size)
    excess = baseline.scores(images, pool[schema.PROMPT].astype(str).tolist()) - pool[label_column].to_numpy()
    return pool.iloc[np.argsort(-excess)[:EXAMPLES]]


def make_figures(results: pd.DataFrame, out_dir: str | os.PathLike, paper_csv: str | os.PathLike | None = None, *,
                 models_dir: str | os.PathLike | None = None, data_root: str | os.PathLike | None = None) -> list[Path]:
    """Write ``ipiqa_fig1.png`` and ``ipiqa_fig3.png`` into ``out_dir``; returns their paths.

    ``results``: IP-IQA result rows (they name each model's data and weights); ``paper_csv`` is not read (these
    figures show no reported numbers; the parameter is the figure modules' common signature).
    """
    out_dir = Path(out_dir)
    dataset, ipiqa, baseline = saved_models(Path(models_dir or DEFAULT_MODELS), results)
    with tempfile.TemporaryDirectory() as scratch:
        if ipiqa is None or baseline is None:
            ipiqa = ipiqa or train_fallback(dataset, "ipiqa", Path(scratch))
            baseline = baseline or train_fallback(dataset, "resnet50", Path(scratch))
            df = READERS[dataset](resolve_dataset_dir(dataset, scratch, "always", n=FALLBACK_IMAGES))
            source = f"SYNTHETIC {dataset} stand-in ({len(df)} images made for this figure)"
        else:
            df = load_dataset(dataset, data_root, synthetic="auto")
            source = f"{df.attrs['data'].upper()} {dataset} ({df.attrs['root']})"
        label_column = schema.OVERALL if schema.OVERALL in df else schema.QUALITY
        rows = choose_examples(df, baseline, label_column)
        written = []
        for name, (fig, title) in (("ipiqa_fig1.png", figure_1(rows, baseline, ipiqa, label_column, source)),
                                   ("ipiqa_fig3.png", figure_3(rows.iloc[:ATTENTION_EXAMPLES], ipiqa, source))):
            written.append(save(fig, out_dir / name, format="png", metadata={"Title": title}))
    return written
