"""tensorflow-datasets builders for the four benchmarks, fed by the package's own readers.

The archives cannot be downloaded automatically, so each builder reads the dataset folder the user placed as
the manual download directory (the layout of datasets/README.md). After ``import tfagiqa.data.tfds_builders``::

    tfds.load("agiqa3k", data_dir=..., download_and_prepare_kwargs={
        "download_config": tfds.download.DownloadConfig(manual_dir="datasets/AGIQA-3K")})
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from tfagiqa.data import DIRNAMES, READERS, schema
from tfagiqa.data.images import load_image

LABELS = {
    "agiqa1k": (schema.OVERALL,),
    "agiqa3k": (schema.QUALITY, schema.ALIGNMENT),
    "aigciqa2023": (schema.QUALITY, schema.AUTHENTICITY, schema.ALIGNMENT),
    "aigiqa20k": (schema.OVERALL,),
}


class _AgiqaBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """One benchmark: every labelled image with its prompt, generator, group and MOS labels, as split ``train``."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release through tfagiqa's readers."}
    DATASET = ""

    @property
    def MANUAL_DOWNLOAD_INSTRUCTIONS(self) -> str:  # noqa: N802 (tfds' name)
        return (f"Download {DIRNAMES[self.DATASET]} (see tfagiqa's datasets/README.md for the source and layout) "
                "and pass its folder as the manual download directory.")

    def _info(self) -> tfds.core.DatasetInfo:
        text = {c: tfds.features.Text() for c in (schema.NAME, schema.PROMPT, schema.GENERATOR, schema.GROUP)}
        labels = {c: tfds.features.Scalar(np.float32) for c in LABELS[self.DATASET]}
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({"image": tfds.features.Image(shape=(None, None, 3)), **text, **labels}),
            description=f"{DIRNAMES[self.DATASET]} read by tfagiqa (labels as in tfagiqa.data.schema).")

    def _split_generators(self, dl_manager):
        df = READERS[self.DATASET](dl_manager.manual_dir)
        return {"train": self._generate_examples(df)}

    def _generate_examples(self, df):
        for row in df.to_dict("records"):
            yield row[schema.NAME], {
                "image": load_image(row[schema.IMAGE]),
                **{c: str(row[c]) for c in (schema.NAME, schema.PROMPT, schema.GENERATOR, schema.GROUP)},
                **{c: np.float32(row[c]) for c in LABELS[self.DATASET]},
            }


class Agiqa1k(_AgiqaBuilder):
    """AGIQA-1K."""

    DATASET = "agiqa1k"


class Agiqa3k(_AgiqaBuilder):
    """AGIQA-3K."""

    DATASET = "agiqa3k"


class Aigciqa2023(_AgiqaBuilder):
    """AIGCIQA2023."""

    DATASET = "aigciqa2023"


class Aigiqa20k(_AgiqaBuilder):
    """AIGIQA-20K (the 14,000 labelled training images)."""

    DATASET = "aigiqa20k"
