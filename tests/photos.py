"""Realistic pictures of MNIST digits, made for the tests of examples/predict.py: a clean
scan (dark ink on white paper, PNG) and a phone-like photo of the same digit (off-white
paper, light falling off across the sheet, a soft shadow over a corner, sensor noise,
JPEG, optionally stored sideways with an EXIF orientation). Written with NumPy and
Pillow only, independently of the reader they test."""

import io

import numpy as np
from PIL import Image

EXIF_ORIENTATION = 0x0112     # the EXIF tag; 6: "turn the stored picture 90° clockwise"


def ink_alpha(digit, size, side, offset):
    """The ink's opacity (H, W) = `size`, in [0, 1]: the MNIST digit (28, 28) of uint8
    enlarged smoothly (bicubic) to a square of `side` pixels, its corner at `offset`
    (top, left)."""
    height, width, top, left = *size, *offset
    big = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
    alpha = np.zeros((height, width), np.float32)
    alpha[top:top + side, left:left + side] = np.asarray(big, np.float32)[:height - top,
                                                                         :width - left]
    return alpha / 255


def encode(pixels, kind, orientation=None):
    """The bytes of an image file of pixels (H, W) or (H, W, 3) in [0, 1]: "png" or "jpeg"
    (quality 85); with `orientation` 6, the pixels are stored turned a quarter to the
    left and the EXIF orientation says how to turn them back."""
    image = Image.fromarray(np.round(255 * np.clip(pixels, 0, 1)).astype(np.uint8))
    exif = Image.Exif()
    if orientation == 6:
        image = image.transpose(Image.Transpose.ROTATE_90)
        exif[EXIF_ORIENTATION] = 6
    buffer = io.BytesIO()
    image.save(buffer, kind, quality=85, exif=exif)
    return buffer.getvalue()


def scan(digit, side=560):
    """A clean scan of the digit (28, 28): dark grey ink on white, `side` pixels square,
    as PNG bytes."""
    alpha = ink_alpha(digit, (side, side), side, (0, 0))
    return encode(1 - 0.85 * alpha, "png")


def photo(digit, rng, size=(1200, 1600), orientation=None, ink=True):
    """A phone-like photo (JPEG bytes) of the digit (28, 28) written on a sheet that fills
    the picture, `size` (H, W): the digit at a random place, about two thirds of the
    height tall; warm off-white paper; the light falling off by up to 40 % across the
    sheet in a random direction; a soft shadow over a random corner, halving the light;
    sensor noise (standard deviation 3 %). ink=False: a blank sheet."""
    height, width = size
    side = int(height * rng.uniform(0.8, 0.95))
    offset = (int(rng.uniform(0, height - side)), int(rng.uniform(0, width - side)))
    alpha = ink_alpha(digit, size, side, offset)[..., None] * ink
    paper = np.float32([0.95, 0.92, 0.84]) * np.float32(rng.uniform(0.85, 1))
    pen = np.float32([0.10, 0.10, 0.18])
    pixels = paper + (pen - paper) * alpha                      # (H, W, 3)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32) / max(size)
    angle = rng.uniform(0, 2 * np.pi)
    slope = np.cos(angle) * rows + np.sin(angle) * cols
    light = 1 - 0.4 * (slope - slope.min()) / (slope.max() - slope.min())
    corner_row, corner_col = rng.integers(0, 2, 2) * np.array(size) / max(size)
    distance = np.hypot(rows - corner_row, cols - corner_col)
    shadow = 1 / (1 + np.exp((distance - rng.uniform(0.3, 0.5)) / 0.03))   # soft edge
    pixels *= (light * (1 - 0.5 * shadow))[..., None]
    pixels += 0.03 * rng.standard_normal(pixels.shape, np.float32)
    return encode(pixels, "jpeg", orientation)
