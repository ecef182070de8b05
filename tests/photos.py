"""Realistic pictures of MNIST digits, made for the tests of examples/predict.py: a clean
scan (dark ink on white paper, PNG) and a phone-like photo of the same digit (off-white
paper, light falling off across the sheet, a soft shadow over a corner, sensor noise,
JPEG, optionally stored sideways with an EXIF orientation). Written with NumPy and
Pillow only, independently of the reader they test."""

import io

import numpy as np
from PIL import Image, ImageFilter
from numpy.lib.stride_tricks import sliding_window_view

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


# ---- Drawings in a paint program and harder photos (issue 29) ----------------------------
PAPERS = {"white": (0.95, 0.94, 0.92), "yellow": (0.98, 0.90, 0.35),
          "pink": (0.95, 0.75, 0.80), "blue": (0.70, 0.85, 0.95), "green": (0.75, 0.92, 0.70)}
INKS = {"black": (0.10, 0.10, 0.12), "blue": (0.15, 0.20, 0.70), "red": (0.75, 0.10, 0.10),
        "teal": (0.0, 0.50, 0.50), "green": (0.10, 0.45, 0.15)}
BRUSHES = {"thin": (1, 2), "medium": (1 / 14, 1 / 10), "thick": (1 / 8, 1 / 6)}  # px or digit


def thin(shape):
    """The skeleton (H, W) of bool of the shape (H, W) of bool: Zhang and Suen's thinning
    (1984), which peels the shape's border pixels that are not needed to keep it in one
    piece, from the south-east and then from the north-west, until none is left to
    peel; what remains is a line one pixel wide along the middle of each stroke."""
    a = shape.copy()
    h, w = a.shape
    while True:
        changed = False
        for first in (True, False):
            p = np.pad(a, 1)
            # the 8 neighbours P2..P9 clockwise from north, as in the paper
            n = [p[r:r + h, c:c + w] for r, c in
                 ((0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0), (0, 0))]
            count = sum(m.astype(int) for m in n)
            turns = sum((~n[k] & n[(k + 1) % 8]).astype(int) for k in range(8))
            if first:
                side = ~(n[0] & n[2] & n[4]) & ~(n[2] & n[4] & n[6])
            else:
                side = ~(n[0] & n[2] & n[6]) & ~(n[0] & n[4] & n[6])
            peel = a & (count >= 2) & (count <= 6) & (turns == 1) & side
            a &= ~peel
            changed |= bool(peel.any())
        if not changed:
            return a


def centre_line(digit, side):
    """The centre line (side, side) of bool of the MNIST digit (28, 28) enlarged to a
    square of `side` pixels: the digit enlarged smoothly (bicubic, in floating point),
    its pixels of half its greatest ink or more, thinned to a line one pixel wide."""
    image = Image.fromarray(digit.astype(np.float32)).resize((side, side),
                                                            Image.Resampling.BICUBIC)
    big = np.asarray(image)
    return thin(big >= 0.5 * big.max())


def brush(line, width):
    """line (H, W) of bool painted with a square brush `width` pixels wide: (H, W)."""
    a = line.astype(np.float32)
    for axis in (0, 1):
        a = np.pad(a, [(width // 2, (width - 1) // 2) if k == axis else (0, 0)
                       for k in (0, 1)])
        a = sliding_window_view(a, width, axis=axis).max(axis=-1)
    return a


def drawing(digit, rng, stroke, canvas):
    """A drawing of the digit (28, 28) in a paint program, as PNG bytes: its centre line
    painted with a brush of `stroke` width ("thin": 1-2 pixels; "medium", "thick": a
    share of the digit's size) on a `canvas` ("small": 56-100 pixels; "large":
    300-600), the digit filling 55-95 % of it (80-95 % if thick); black on white or
    white on black."""
    side = int(rng.integers(56, 101) if canvas == "small" else rng.integers(300, 601))
    size = int(side * rng.uniform(0.8 if stroke == "thick" else 0.55, 0.95))
    low, high = BRUSHES[stroke]
    width = int(rng.integers(low, high + 1)) if stroke == "thin" else \
        max(1, round(size * rng.uniform(low, high)))
    line = np.zeros((side, side), bool)
    top, left = rng.integers(0, side - size + 1, 2)
    line[top:top + size, left:left + size] = centre_line(digit, size)
    alpha = brush(line, width)[..., None]
    ink, paper = (INKS["black"], (1, 1, 1)) if rng.random() < 0.5 else ((1, 1, 1), (0, 0, 0))
    pixels = np.float32(paper) + (np.float32(ink) - np.float32(paper)) * alpha
    return encode(pixels, "png")


def texture(rng, size, scale, amount):
    """Smooth random blotches (H, W) = `size`, about `scale` pixels across, of standard
    deviation `amount`: a paper's or a desk's grain."""
    small = rng.standard_normal((max(2, size[0] // scale), max(2, size[1] // scale)))
    big = Image.fromarray(small.astype(np.float32)).resize(size[::-1],
                                                           Image.Resampling.BICUBIC)
    return amount * np.asarray(big) / max(np.std(big), 1e-6)


def hard_photo(digit, rng, kind, size=(900, 1200)):
    """A phone-like photo (JPEG bytes) of the digit (28, 28) of one `kind`:
    "coloured": coloured paper with grain, coloured ink, a soft shadow;
    "sheet": the sheet fills 60-100 % of the frame's width, on a darker grained desk;
    "tight": cropped close to the digit (0-5 % margins), coloured paper with grain.
    Light falls off across the picture and the sensor adds noise, as in photo()."""
    height, width = size
    paper = np.float32(PAPERS[rng.choice(list(PAPERS))]) * np.float32(rng.uniform(0.85, 1))
    pen = np.float32(INKS[rng.choice(list(INKS))])
    if kind == "tight":
        side = int(height / rng.uniform(1.0, 1.1))
        offset = ((height - side) // 2, (width - side) // 2)
        alpha = ink_alpha(digit, size, side, offset)
        rows, cols = np.nonzero(alpha > 0.1)                  # crop to the ink, 0-5 %
        m = int(rng.uniform(0, 0.05) * height)
        alpha = alpha[max(0, rows.min() - m):rows.max() + m + 1,
                      max(0, cols.min() - m):cols.max() + m + 1]
        size = alpha.shape
        height, width = size
    else:
        sheet = rng.uniform(0.6, 1) if kind == "sheet" else 1
        sw = int(width * sheet)
        sh = min(height, int(sw * height / width))             # the frame's shape
        top, left = int(rng.uniform(0, height - sh + 1)), int(rng.uniform(0, width - sw + 1))
        side = int(sh * rng.uniform(0.6, 0.85))
        offset = (top + int(rng.uniform(0, sh - side)), left + int(rng.uniform(0, sw - side)))
        alpha = ink_alpha(digit, size, side, offset)
    grain = texture(rng, size, 40, 0.03 if kind != "sheet" else 0.015)[..., None]
    pixels = (paper + grain) + (pen - paper - grain) * alpha[..., None]
    if kind == "sheet":
        desk = np.float32(rng.choice([(0.45, 0.30, 0.18), (0.35, 0.35, 0.37),
                                      (0.15, 0.15, 0.15), (0.60, 0.50, 0.40)]))
        on_sheet = np.zeros(size, bool)
        on_sheet[top:top + sh, left:left + sw] = True
        desk = desk + texture(rng, size, 15, 0.05)[..., None]
        pixels = np.where(on_sheet[..., None], pixels, desk)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32) / max(size)
    angle = rng.uniform(0, 2 * np.pi)
    slope = np.cos(angle) * rows + np.sin(angle) * cols
    light = 1 - 0.3 * (slope - slope.min()) / max(slope.max() - slope.min(), 1e-6)
    if kind == "coloured":
        corner = rng.integers(0, 2, 2) * np.array(size) / max(size)
        distance = np.hypot(rows - corner[0], cols - corner[1])
        light *= 1 - 0.4 / (1 + np.exp((distance - rng.uniform(0.3, 0.5)) / 0.03))
    pixels = pixels * light[..., None]
    pixels += 0.02 * rng.standard_normal(pixels.shape, np.float32)
    return encode(pixels, "jpeg")


def shipped_examples(folder):
    """Write the pictures shipped in examples/digits/ (four MNIST test digits of the
    tune half, each read right): a thin and a thick paint drawing, a photo with the
    sheet not filling the frame and one on coloured paper. Returns their paths."""
    from pathlib import Path
    import mnist_ffnn
    images, labels = mnist_ffnn.load_mnist()[2:]
    made = {"thin-drawing-of-a-{}.png": lambda d, rng: drawing(d, rng, "thin", "large"),
            "thick-drawing-of-a-{}.png": lambda d, rng: drawing(d, rng, "thick", "small"),
            "sheet-photo-of-a-{}.jpg": lambda d, rng: hard_photo(d, rng, "sheet", (450, 600)),
            "coloured-photo-of-a-{}.jpg": lambda d, rng: hard_photo(d, rng, "coloured",
                                                                    (450, 600))}
    paths = []
    for (name, make), (k, seed) in zip(made.items(), ((1, 1), (3, 3), (4, 1), (7, 7))):
        path = Path(folder) / name.format(labels[k])           # a 2, a 0, a 4, a 9
        path.write_bytes(make(images[k], np.random.default_rng(seed)))
        paths.append(path)
    return paths


if __name__ == "__main__":                  # python tests/photos.py examples/digits
    import sys
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    print(*shipped_examples(sys.argv[1]), sep="\n")
