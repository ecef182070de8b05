"""examples/fit.py: the ink of one digit made into the network's input as MNIST made its
digits, in NumPy, for examples/reader.py: its stroke brought to MNIST's pen, its box
fitted in 20 x 20 pixels and centred by its mass in 28 x 28, and its slant undone for
a second reading.

    stroke_width      the strokes' mean width
    match_stroke      a hairline or a marker's stroke brought to MNIST's width
    crop              the box of the digit's ink
    fit_and_centre    fitted in 20 x 20, centred by its mass in 28 x 28
    deskew            the box with its slant undone
    straighten        deskew, then crop: the box of the second reading
"""

import numpy as np

from ink import window

MNIST_STROKE = 1.84    # MNIST's median stroke width, in pixels of its 20-pixel box
THICK = 1.5            # strokes wider than this many times MNIST's are narrowed


def stroke_width(ink):
    """The strokes' mean width in pixels, for ink (H, W): twice the inked area over the
    length of its outline (a line L long and s wide has area s L and outline 2 L)."""
    inked = ink > 0.5
    outline = (np.abs(np.diff(inked.astype(int), axis=0)).sum()
               + np.abs(np.diff(inked.astype(int), axis=1)).sum())
    return 2 * inked.sum() / max(outline, 1)


def match_stroke(ink, long_side, thin=0.7, thick=THICK):
    """ink (H, W) with its strokes brought to MNIST's width for a digit `long_side`
    pixels long (MNIST_STROKE in 20): a stroke under `thin` times as wide (a hairline)
    is widened by a maximum over a square, one over `thick` times as wide (a marker
    filling a small picture) narrowed by a minimum, unless that leaves nothing; others
    are left as they are."""
    width, target = stroke_width(ink), MNIST_STROKE * long_side / 20
    if width < thin * target:
        grow = 2 * int(round((target - width) / 2))   # a square k wide adds k - 1 pixels
        return window(ink, grow + 1, np.max)
    if width > thick * target:
        narrowed = window(ink, int(round(width - target)) + 1 | 1, np.min)
        return narrowed if np.any(narrowed >= 0.25) else ink   # a blot would vanish
    return ink


def crop(ink):
    """The box (h, w) of ink (H, W) that holds all its pixels of a quarter or more."""
    rows, cols = np.nonzero(ink >= 0.25)
    return ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]


def area_resize_matrix(n_out, n_in):
    """The (n_out, n_in) matrix R such that R . v resamples v (n_in,) to n_out values,
    each the mean of v over its share of the interval (area resampling)."""
    edges = np.arange(n_out + 1) * (n_in / n_out)        # output cells, in input units
    pixels = np.arange(n_in)
    overlap = (np.minimum(edges[1:, None], pixels + 1)
               - np.maximum(edges[:-1, None], pixels))             # (n_out, n_in)
    return np.clip(overlap, 0, None) * (n_out / n_in)


def fit_and_centre(box):
    """MNIST's own steps on the cropped ink box (h, w): resampled to fit in 20 x 20,
    keeping its aspect ratio, then put in a 28 x 28 field with its centre of mass on
    pixel (14, 14). Returns the input (784,) in [0, 1]."""
    scale = 20 / max(box.shape)
    h, w = max(1, round(box.shape[0] * scale)), max(1, round(box.shape[1] * scale))
    down, across = area_resize_matrix(h, box.shape[0]), area_resize_matrix(w, box.shape[1])
    small = down @ box @ across.T                                    # (h, w)
    small /= small.max()
    rows, cols = np.indices(small.shape)
    top = int(np.clip(round(14 - np.sum(rows * small) / small.sum()), 0, 28 - h))
    left = int(np.clip(round(14 - np.sum(cols * small) / small.sum()), 0, 28 - w))
    field = np.zeros((28, 28))
    field[top:top + h, left:left + w] = small
    return field.ravel()


def deskew(box):
    """box (h, w), with ink, with its slant undone (h, w + 2 pad). The slant is
    s = sum (r - r0)(c - c0) ink / sum (r - r0)^2 ink, how far the ink moves sideways
    per row on average (its moments; r0, c0 its centre of mass). Each row r is slid
    back by s (r - r0): the new column j reads the box at j + s (r - r0), between its
    two neighbours in the row (linear interpolation), so each row keeps its ink."""
    rows, cols = np.indices(box.shape)
    row = rows[:, :1]                                          # (h, 1)
    mass = box.sum()
    r0, c0 = np.sum(rows * box) / mass, np.sum(cols * box) / mass
    spread = np.sum((rows - r0) ** 2 * box)
    slant = np.sum((rows - r0) * (cols - c0) * box) / spread if spread else 0.0
    pad = int(np.ceil(abs(slant) * box.shape[0]))     # a row moves less than s h
    source = np.arange(-pad, box.shape[1] + pad) + slant * (row - r0)   # (h, w + 2 pad)
    left = np.floor(source).astype(int)
    t = source - left
    edged = np.pad(box, ((0, 0), (1, 1)))  # edged[:, c + 1] is box[:, c], 0 either side,
    w = box.shape[1]                       # where every column outside the box is read
    return ((1 - t) * edged[row, np.clip(left + 1, 0, w + 1)]
            + t * edged[row, np.clip(left + 2, 0, w + 1)])


def straighten(box):
    """The box (h', w') of box (h, w) with its slant undone: deskew, then crop; box itself
    if faint ink, split between two columns, leaves no pixel of a quarter to crop."""
    straight = deskew(box)
    return crop(straight) if straight.max() >= 0.25 else box
