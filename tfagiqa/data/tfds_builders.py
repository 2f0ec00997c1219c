"""tensorflow-datasets builders for every registry record with a ``tfds_name``, fed by the package's own readers.

The archives cannot be downloaded automatically, so each builder reads the dataset folder the user placed as
the manual download directory (the layout of datasets/README.md). After ``import tfagiqa.data.tfds_builders``::

    tfds.load("agiqa3k", data_dir=..., download_and_prepare_kwargs={
        "download_config": tfds.download.DownloadConfig(manual_dir="datasets/AGIQA-3K")})

Each builder yields every labelled image with its prompt, generator, group and the record's labels; a label the
record marks optional is NaN where the label file lacks its column.
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from tfagiqa.data import registry, schema
from tfagiqa.data.images import load_image

TEXT = (schema.NAME, schema.PROMPT, schema.GENERATOR, schema.GROUP)


class _AgiqaBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """One registered dataset, as split ``train``; ``DATASET`` is its registry name."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release through tfagiqa's readers."}
    DATASET = ""

    @property
    def MANUAL_DOWNLOAD_INSTRUCTIONS(self) -> str:  # noqa: N802 (tfds' name)
        record = registry.get(self.DATASET)
        return (f"Download {record.title} from {record.source} (see tfagiqa's datasets/README.md for the layout) "
                "and pass its folder as the manual download directory.")

    def _info(self) -> tfds.core.DatasetInfo:
        record = registry.get(self.DATASET)
        text = {c: tfds.features.Text() for c in TEXT}
        labels = {c: tfds.features.Scalar(np.float32) for c in record.label_columns}
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({"image": tfds.features.Image(shape=(None, None, 3)), **text, **labels}),
            description=f"{record.title} read by tfagiqa (labels as in tfagiqa.data.schema).")

    def _split_generators(self, dl_manager):
        df = registry.get(self.DATASET).reader(dl_manager.manual_dir)
        return {"train": self._generate_examples(df)}

    def _generate_examples(self, df):
        labels = registry.get(self.DATASET).label_columns
        for row in df.to_dict("records"):
            yield row[schema.NAME], {
                "image": load_image(row[schema.IMAGE]),
                **{c: str(row[c]) for c in TEXT},
                **{c: np.float32(row.get(c, np.nan)) for c in labels},
            }


def _class_name(tfds_name: str) -> str:
    """``pku_i2iqa`` → ``PkuI2iqa`` (the builder class; tfds knows it by ``tfds_name``)."""
    return "".join(part.capitalize() for part in tfds_name.split("_"))


BUILDERS = {
    record.tfds_name: type(_class_name(record.tfds_name), (_AgiqaBuilder,), {
        "name": record.tfds_name, "DATASET": record.name, "__module__": __name__,
        "__doc__": f"{record.title} ({record.source})."})
    for record in registry.records() if record.tfds_name
}
globals().update({builder.__name__: builder for builder in BUILDERS.values()})  # Agiqa1k, ..., PkuI2iqa
