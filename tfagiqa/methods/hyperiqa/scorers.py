"""The ``hyperiqa`` scorer for the model catalogue: one 224 crop in [0, 255] → quality; 25 fixed crops at export.

Official HyperIQA tests on 25 *random* 224 crops (a different score on every run). Here the scorer takes one
crop (ImageNet normalisation inside) and the catalogue's view policy makes the crops: the shorter side resized
to 512, then the 5×5 grid of ``tfagiqa.data.pipeline.fixed_crop_offsets`` (corners included), score = mean.
So a score is a pure function of the image. (Training resizes to 512×512 as SPEC §3.2 proposes for AGIQA;
for square images, all of the AGIQA sets' usual case, the two agree.)

``build(weights)``: None = the official sizes, randomly initialised, no I/O; a path = the hyperiqa preset written by
``tfagiqa convert hyperiqa`` (its ``model.keras``: normalised crop → score; or that file, or a folder the converter
wrote before presets) or a complete scorer saved as ``.keras``.
"""

from __future__ import annotations

from tfagiqa.catalogue import ModelEntry
from tfagiqa.presets import resolve

CROP = 224
TEST_CROPS = 25
RESIZE_TO = 512  # SPEC §3.2: Resize(512) then 224 crops (the BID setting, proposed for AGIQA)
VIEWS = {"crop": "fixed_crops", "n_crops": TEST_CROPS, "resize_to": RESIZE_TO}
KINDS = ("hyperiqa", "scorer")
WEIGHTS_HELP = ("None (random initialisation, official sizes, no I/O), or the hyperiqa preset DIR (or DIR/model.keras) "
                "written by tfagiqa convert hyperiqa, or a complete hyperiqa scorer saved as .keras")


def scoring_model(crop_model, outputs: tuple[str, ...] = ("quality",), normalise: bool = True):
    """{images [N, S, S, 3] in [0, 255]} → {output: [N]}: ImageNet normalisation, then ``crop_model``.

    ``crop_model`` maps a crop (input ``image`` or a single tensor) to scores [N] or [N, len(outputs)].
    """
    import keras

    from tfagiqa.layers.normalisation import ImageNetNormalize

    shape = crop_model.input_shape["image"] if isinstance(crop_model.input_shape, dict) else crop_model.input_shape
    images = keras.Input(shape[1:], name="images")
    x = ImageNetNormalize(name="imagenet_normalisation")(images) if normalise else images
    scores = crop_model({"image": x} if isinstance(crop_model.input, dict) else x)
    if len(scores.shape) == 1:
        scores = keras.layers.Reshape((1,), name="score_column")(scores)
    named = {name: keras.layers.Reshape((), name=name)(scores[:, i:i + 1]) for i, name in enumerate(outputs)}
    return keras.Model({"images": images}, named, name="hyperiqa_scorer")


def build_hyperiqa(weights: str | None = None):
    """The catalogue builder: official-size random network, or a hyperiqa preset (:func:`tfagiqa.presets.resolve`)
    whose model is a converted crop network (wrapped here) or a complete scorer."""
    from tfagiqa.methods.hyperiqa import model as hypernet

    resolved = resolve(weights, kind=KINDS, what="hyperiqa")
    if resolved.random:
        return scoring_model(hypernet.hypernet_model(hypernet.HYPERIQA, normalise=False, name="hyperiqa"))
    model = resolved.preset.load("model")
    if isinstance(model.input, dict) and "images" in model.input:  # already a complete scorer
        return model
    return scoring_model(model)


HYPERIQA = ModelEntry(
    name="hyperiqa", paper="hypernet", needs_prompt=False, outputs=("quality",), input_size=CROP,
    score_range=(0.0, 100.0), label_scale="the MOS scale of the training set (official KonIQ checkpoint: about 0–100)",
    build=build_hyperiqa, weights_help=WEIGHTS_HELP, views=dict(VIEWS), kinds=KINDS,
    description="HyperIQA (Su et al. 2020): mean score of 25 fixed 224 crops (5×5 grid) after resizing the "
                "shorter side to 512",
)
ENTRIES = (HYPERIQA,)
