"""examples/reader.py: a picture of one handwritten digit made into the network's inputs
(2, 784), as MNIST's digits were made, step by step in NumPy (Pillow only decodes files).

    read_image        the file's colours (H, W, 3) in [0, 1] (examples/predict.py calls it)

digit_input then runs, in this order, and also says what makes the reading doubtful:

    reduce_size       a large picture averaged down to 256-511 pixels (ink.py)
    find_digit        the ink (H, W) below the paper's level (examples/ink.py), of which
                      choose_digit keeps the largest group near the centre and its kin
    match_stroke      a hairline or a marker's stroke brought to MNIST's width
    crop              the box of the digit's ink
    fit_and_centre    fitted in 20 x 20, centred by its mass in 28 x 28
    straighten        a second reading: the box with its slant undone (deskew),
                      cropped again and fitted as the first (these four in fit.py)
"""

import warnings

import numpy as np

from fit import crop, fit_and_centre, match_stroke, straighten, stroke_width
from ink import (BLOB_SIDE, grey_below_paper, ink_below, label_blobs, paper_level,
                 reduce_size, reduction)

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")   # raster formats only


class ImageError(Exception):
    """A file that cannot be read as a picture (its message says why)."""


def digit_as_text(image):
    """A grey image (28, W) of uint8 as text, without its blank rows: // 26 maps 0-255
    to 0-9, and fancy indexing picks one of ten characters per pixel, twice."""
    picture = np.array(list(" .:-=+*#%@"))[image[image.any(axis=1)] // 26]
    return "\n".join(map("".join, np.repeat(picture, 2, axis=1)))


def read_image(path):
    """The colours (H, W, 3) in [0, 1] of the image file `path`: a raster format, within
    Pillow's own size limit, turned as its EXIF orientation says, any transparent part
    over white; 16-bit grey levels kept as they are. ImageError if Pillow cannot."""
    from PIL import Image, ImageOps                   # Pillow comes with matplotlib
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)   # Pillow's limit
        try:
            with Image.open(path, formats=FORMATS) as image:
                image = ImageOps.exif_transpose(image)
                if image.mode.startswith("I;16") or image.mode == "I":  # 16-bit grey
                    grey = np.asarray(image, dtype=np.float32) / 65535
                    return np.repeat(grey[..., None], 3, axis=2)
                if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                    white = Image.new("RGBA", image.size, "white")
                    image = Image.alpha_composite(white, image.convert("RGBA"))
                return np.asarray(image.convert("RGB"), dtype=np.float32) / 255
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError,
                Image.DecompressionBombWarning) as exc:
            reason = getattr(exc, "strerror", None) or str(exc).rstrip(".")
            raise ImageError(f"cannot be read as an image ({reason})") from None


def choose_digit(ink):
    """The digit among the marks of ink (H, W): the blob of most ink, counted less far
    from the centre and a tenth if it touches the picture's edge (a desk, a shadow),
    with the blobs near its box (a 5's separate bar) but not the specks (under 5 % of
    its ink) nor, if it does not touch the edge itself, the blobs that do. Returns its
    ink (H, W); whether it looks cut off: it touches one side of the picture and not
    the opposite one (a picture cropped to the ink touches both, or none); and how
    many other blobs of 10 % of its ink or more, not touching the edge, were left out."""
    k = reduction(ink.shape, BLOB_SIDE)
    small = reduce_size(ink, BLOB_SIDE, np.max)                # a thin line survives
    labels = label_blobs(small > 0.25)
    rows, cols = np.indices(small.shape)
    h, w = small.shape
    blobs = []
    for name in np.unique(labels[labels >= 0]):                # a handful, or a few dozen
        r, c = rows[labels == name], cols[labels == name]
        box = (r.min(), r.max(), c.min(), c.max())
        sides = np.array([box[0] == 0, box[1] == h - 1, box[2] == 0, box[3] == w - 1])
        mass = small[labels == name].sum()
        far = np.hypot(r.mean() / h - 0.5, c.mean() / w - 0.5) / 0.5   # 0 centre, 1 side
        blobs.append((mass * np.exp(-far ** 2) * (0.1 if sides.any() else 1), mass, box,
                      sides, name))
    score, mass, (top, bottom, left, right), sides, main = max(blobs, key=lambda b: b[0])
    margin = 0.2 * max(bottom - top, right - left)
    kept, left_out = [main], 0
    for other_score, other_mass, box, other_sides, name in blobs:
        near = (box[0] <= bottom + margin and box[1] >= top - margin
                and box[2] <= right + margin and box[3] >= left - margin)
        if name == main:
            continue
        if near and other_mass >= 0.05 * mass and other_sides.any() <= sides.any():
            kept.append(name)
            sides = sides | other_sides
        elif other_mass >= 0.1 * mass and not other_sides.any():
            left_out += 1
    chosen = np.kron(np.isin(labels, kept), np.ones((k, k), bool))  # back to full size
    chosen = np.pad(chosen, [(0, ink.shape[0] - chosen.shape[0]),
                             (0, ink.shape[1] - chosen.shape[1])])
    cut = sides[0] != sides[1] or sides[2] != sides[3]
    return np.where(chosen, ink, 0), cut, left_out


def find_digit(picture):
    """The digit's ink (H, W) in [0, 1] in picture (H, W, C), whether it looks cut off at
    the picture's edge and how many other marks were left out (see choose_digit); None if
    no mark stands out of the paper. grey_below_paper, then ink_below the paper_level
    over a quarter of the picture's side; if the chosen digit's strokes are wider than
    a sixth of that (a marker filling a small picture, whose joins a quarter would take
    for paper), again over six times their width, unless the paper then varies too
    much for any mark to stand out."""
    grey = grey_below_paper(picture)
    width = max(grey.shape) // 4
    ink = ink_below(grey, paper_level(grey, width))
    if ink is None:
        return None
    found = choose_digit(ink)
    if 6 * stroke_width(found[0]) > width:
        ink = ink_below(grey, paper_level(grey, int(6 * stroke_width(found[0]))))
        found = found if ink is None else choose_digit(ink)   # None: light falls off
    return found


def digit_input(picture):
    """A picture of one digit, colours (H, W, 3) or grey levels (H, W) in [0, 1], as the
    network's inputs (2, 784), the digit as MNIST made it and with its slant undone,
    with the list of what makes it doubtful ("edge": the digit looks cut off at the
    picture's edge; "blobs": other marks were left out), or None if no digit is found:
    reduce_size, find_digit, match_stroke, crop, fit_and_centre (and straighten)."""
    picture = picture if picture.ndim == 3 else picture[..., None]
    found = find_digit(reduce_size(picture))
    if found is None:
        return None
    ink, cut, left_out = found
    rows, cols = np.nonzero(ink >= 0.25)
    ink = match_stroke(ink, max(np.ptp(rows), np.ptp(cols)) + 1)
    doubts = ["edge"] * bool(cut) + ["blobs"] * bool(left_out)
    box = crop(ink)
    return np.stack([fit_and_centre(box), fit_and_centre(straighten(box))]), doubts


def mnist_input(picture):
    """The inputs (2, 784) that digit_input makes of picture, or None if it has no digit."""
    found = digit_input(picture)
    return None if found is None else found[0]
