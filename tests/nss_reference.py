"""Independent numpy/scipy re-implementations of the reference NSS code (LIVE's MATLAB BRISQUE and NIQE, LIVE's C++
BRISQUE), written statement by statement from the reference algorithms for the parity tests of
:mod:`tfagiqa.layers.nss`, :mod:`tfagiqa.methods.brisque.model` and :mod:`tfagiqa.methods.niqe.model`.

They share nothing with the package: the filters are scipy.ndimage correlations, the resizes are MATLAB's
``contributions`` and OpenCV's per-pixel cubic written out, the shape fits scan the whole 9801-entry table.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndimage
from scipy.special import gamma

GRID = np.round(0.2 + 0.001 * np.arange(9801), 3)  # 0.2:0.001:10
MATLAB_RGB2GRAY = (0.298936021293775, 0.587043074451121, 0.114020904255103)  # MATLAB's rgb2gray weights


def grey(image: np.ndarray, weights=MATLAB_RGB2GRAY, rounded: bool = True) -> np.ndarray:
    value = image[..., 0] * weights[0] + image[..., 1] * weights[1] + image[..., 2] * weights[2]
    return np.floor(value + 0.5) if rounded else value


def gaussian_7x7() -> np.ndarray:
    """fspecial('gaussian', 7, 7/6) / sum."""
    y, x = np.mgrid[-3:4, -3:4]
    w = np.exp(-(x**2 + y**2) / (2 * (7 / 6) ** 2))
    return w / w.sum()


def mscn(img: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """mode: 'constant' (filter2 'same') or 'nearest' (imfilter 'replicate')."""
    w = gaussian_7x7()
    mu = ndimage.correlate(img, w, mode=mode, cval=0.0)
    sigma = np.sqrt(np.abs(ndimage.correlate(img * img, w, mode=mode, cval=0.0) - mu * mu))
    return (img - mu) / (sigma + 1), sigma


def keys_cubic(t: np.ndarray, a: float) -> np.ndarray:
    t = np.abs(t)
    return np.where(t <= 1, (a + 2) * t**3 - (a + 3) * t**2 + 1,
                    np.where(t <= 2, a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a, 0.0))


def matlab_imresize_half(img: np.ndarray) -> np.ndarray:
    """imresize(img, 0.5) with MATLAB's defaults (bicubic, antialiasing), from its contributions() algorithm."""
    for axis in (0, 1):
        n = img.shape[axis]
        m = int(np.ceil(n * 0.5))
        u = np.arange(1, m + 1)
        x = u / 0.5 + 0.5 * (1 - 1 / 0.5)
        left = np.floor(x - 4)  # kernel width 4 / scale = 8
        indices = left[:, None] + np.arange(10)[None]  # P = ceil(8) + 2 taps from left
        weights = 0.5 * keys_cubic(0.5 * (x[:, None] - indices), -0.5)
        weights /= weights.sum(1, keepdims=True)
        aux = np.r_[np.arange(1, n + 1), np.arange(n, 0, -1)]
        indices = aux[np.mod(indices.astype(int) - 1, len(aux))] - 1
        img = np.moveaxis(np.einsum("mk,mk...->m...", weights, np.moveaxis(img, axis, 0)[indices]), 0, axis)
    return img


def opencv_cubic_half(img: np.ndarray) -> np.ndarray:
    """cv2.resize(img, (w // 2, h // 2), interpolation=INTER_CUBIC), from OpenCV's coordinate rule."""
    for axis in (0, 1):
        n = img.shape[axis]
        m = n // 2
        position = (np.arange(m) + 0.5) * n / m - 0.5
        base = np.floor(position)
        indices = np.clip(base[:, None] + np.arange(-1, 3)[None], 0, n - 1).astype(int)
        weights = keys_cubic(position[:, None] - (base[:, None] + np.arange(-1, 3)[None]), -0.75)
        img = np.moveaxis(np.einsum("mk,mk...->m...", weights, np.moveaxis(img, axis, 0)[indices]), 0, axis)
    return img


def ggd_shape(vec: np.ndarray) -> tuple[float, float]:
    """estimateggdparam.m: (shape, σ = √mean(x²))."""
    table = gamma(1 / GRID) * gamma(3 / GRID) / gamma(2 / GRID) ** 2
    sigma_sq = np.mean(vec**2)
    rho = sigma_sq / np.mean(np.abs(vec)) ** 2
    return GRID[np.argmin(np.abs(rho - table))], np.sqrt(sigma_sq)


def aggd(vec: np.ndarray) -> tuple[float, float, float]:
    """estimateaggdparam.m: (shape, left std, right std)."""
    table = gamma(2 / GRID) ** 2 / (gamma(1 / GRID) * gamma(3 / GRID))
    left = np.sqrt(np.mean(vec[vec < 0] ** 2))
    right = np.sqrt(np.mean(vec[vec > 0] ** 2))
    g = left / right
    r_hat = np.mean(np.abs(vec)) ** 2 / np.mean(vec**2)
    r_norm = r_hat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    return GRID[np.argmin((table - r_norm) ** 2)], left, right


def circular_products(m: np.ndarray) -> list[np.ndarray]:
    """circshift by [0 1], [1 0], [1 1], [-1 1] (brisque_feature.m's order)."""
    return [m * np.roll(m, shift, axis=(0, 1)) for shift in ((0, 1), (1, 0), (1, 1), (-1, 1))]


def zero_fill_products(m: np.ndarray) -> list[np.ndarray]:
    """LIVE's C++ release: shifted(i, j) = m(i + di, j + dj), 0 outside."""
    out = []
    for di, dj in ((0, 1), (1, 0), (1, 1), (-1, 1)):
        padded = np.pad(m, 1)
        out.append(m * padded[1 + di:1 + di + m.shape[0], 1 + dj:1 + dj + m.shape[1]])
    return out


def brisque_matlab(image: np.ndarray) -> np.ndarray:
    """brisquescore.m's features: rgb2gray, then brisque_feature.m."""
    img = grey(image)
    feat = []
    for _ in range(2):
        m, _ = mscn(img, "constant")
        alpha, std = ggd_shape(m.ravel())
        feat += [alpha, std**2]
        for pair in circular_products(m):
            a, left, right = aggd(pair.ravel())
            const = np.sqrt(gamma(1 / a)) / np.sqrt(gamma(3 / a))
            feat += [a, (right - left) * (gamma(2 / a) / gamma(1 / a)) * const, left**2, right**2]
        img = matlab_imresize_half(img)
    return np.array(feat)


def brisque_live_cpp(image: np.ndarray) -> np.ndarray:
    """LIVE's C++ release (OpenCV contrib's port): BT.601 grey, replicated edges, AGGD of the MSCN, zero-filled
    neighbours, each scale resized from the original by INTER_CUBIC."""
    original = grey(image, (0.299, 0.587, 0.114))
    feat = []
    for img in (original, opencv_cubic_half(original)):
        m, _ = mscn(img, "nearest")
        a, left, right = aggd(m.ravel())
        feat += [a, (left**2 + right**2) / 2]
        for pair in zero_fill_products(m):
            a, left, right = aggd(pair.ravel())
            const = np.sqrt(gamma(1 / a)) / np.sqrt(gamma(3 / a))
            feat += [a, (right - left) * (gamma(2 / a) / gamma(1 / a)) * const, left**2, right**2]
    return np.array(feat)


def niqe_patch_feature(structdis: np.ndarray) -> np.ndarray:
    """computefeature.m (NIQE): 18 features of one MSCN patch."""
    a, left, right = aggd(structdis.ravel())
    ratio = np.sqrt(gamma(1 / a) / gamma(3 / a))
    feat = [a, (left * ratio + right * ratio) / 2]
    for shift in ((0, 1), (1, 0), (1, 1), (1, -1)):
        pair = structdis * np.roll(structdis, shift, axis=(0, 1))
        a, left, right = aggd(pair.ravel())
        ratio = np.sqrt(gamma(1 / a) / gamma(3 / a))
        bl, br = left * ratio, right * ratio
        feat += [a, (br - bl) * (gamma(2 / a) / gamma(1 / a)), bl, br]
    return np.array(feat)


def niqe_features(image: np.ndarray, patch: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """computequality.m's patch features [P, 36] (row-major patches) and the sharpness of each patch."""
    img = grey(image)
    rows, cols = img.shape[0] // patch, img.shape[1] // patch
    img = img[:rows * patch, :cols * patch]
    scales = []
    for scale in (1, 2):
        size = patch // scale
        m, sigma = mscn(img, "nearest")
        scales.append(np.array([niqe_patch_feature(m[r * size:(r + 1) * size, c * size:(c + 1) * size])
                                for r in range(rows) for c in range(cols)]))
        if scale == 1:
            sharpness = np.array([sigma[r * size:(r + 1) * size, c * size:(c + 1) * size].mean()
                                  for r in range(rows) for c in range(cols)])
        img = matlab_imresize_half(img)
    return np.hstack(scales), sharpness


def natural_field(seed: int, size: int) -> np.ndarray:
    """A natural-looking grey image (1/f amplitude spectrum, as natural scenes have), H×W×3 in [0, 255]."""
    rng = np.random.default_rng(seed)
    ky, kx = np.fft.fftfreq(size)[:, None], np.fft.fftfreq(size)[None]
    k = np.hypot(kx, ky)
    k[0, 0] = 1.0
    img = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(size, size))) / k))
    img = np.clip((img - img.mean()) / img.std() * 40 + 128, 0, 255)
    return np.repeat(img[..., None], 3, axis=-1)
