"""Image normalisation, one layer per convention: CLIP's mean/std and ImageNet's mean/std (with Keras ResNet50's
Caffe-style preprocessing as an option of the latter, which its ImageNet weights were trained with).

Both take RGB pixels in [0, 255] and compute ``(x / 255 − mean) / std``, torchvision's ``ToTensor`` then
``Normalize``, which every official preprocessing of the package's methods ends with (CLIP's ``_transform``,
IP-IQA's processors, the PickScore/HPS processors, timm's for SwinV2, HyperIQA's).

Models saved before the package had one layer per convention refer to the layers by older names
(``tfagiqa>CLIPNormalise`` and ``tfagiqa>ImageNetNormalise``, which SF-IQA and HPS used); those names stay
registered for the same classes so that such ``.keras`` files load unchanged.
"""

from __future__ import annotations

import keras
from keras import ops

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)  # keras.applications.resnet50.preprocess_input ("caffe" mode)


def normalise(images, mean: tuple[float, ...], std: tuple[float, ...]):
    """[0, 255] RGB → ``(x / 255 − mean) / std`` in the images' dtype."""
    mean = ops.convert_to_tensor(mean, dtype=images.dtype)
    std = ops.convert_to_tensor(std, dtype=images.dtype)
    return (images / 255.0 - mean) / std


@keras.saving.register_keras_serializable(package="tfagiqa")
class CLIPNormalize(keras.layers.Layer):
    """[0, 255] RGB → CLIP-normalised, OpenAI CLIP's preprocessing after its resize (and centre crop)."""

    def call(self, images):
        return normalise(images, CLIP_MEAN, CLIP_STD)


@keras.saving.register_keras_serializable(package="tfagiqa")
class ImageNetNormalize(keras.layers.Layer):
    """[0, 255] RGB → ImageNet mean/std normalised (torchvision's, timm's); with ``caffe`` Keras ResNet50's BGR
    mean subtraction instead (``keras.applications.resnet50.preprocess_input``), for its ImageNet weights."""

    def __init__(self, caffe: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.caffe = bool(caffe)

    def call(self, images):
        if self.caffe:
            return images[..., ::-1] - ops.convert_to_tensor(CAFFE_BGR_MEAN, dtype=images.dtype)
        return normalise(images, IMAGENET_MEAN, IMAGENET_STD)

    def get_config(self):
        return {**super().get_config(), "caffe": self.caffe}


LEGACY_NAMES = {"tfagiqa>CLIPNormalise": CLIPNormalize, "tfagiqa>ImageNetNormalise": ImageNetNormalize}
keras.saving.get_custom_objects().update(LEGACY_NAMES)
