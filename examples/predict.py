"""examples/predict.py: read the digit in each image file with a network saved by
`python mnist_ffnn_batched.py --save MODEL`, and show what the network saw.

    python examples/predict.py MODEL IMAGE...

A photo of a digit becomes an input as MNIST's digits were made: the paper's level is
estimated around each pixel and only what is darker than it (lighter, for chalk on a
board) counts as ink, so that light gradients and shadows do not; the ink is cropped,
fitted in 20 x 20 pixels and centred by its mass in 28 x 28. Best: a dark felt pen on
plain paper, the digit filling most of the picture.
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))     # the TP's scripts
from mnist_ffnn import DataError, forward_pass, run  # noqa: E402
from mnist_ffnn_batched import load_model  # noqa: E402

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")   # raster formats only
WORKING_SIDE = 256        # a larger picture is reduced to 256-511 pixels on its long side
MIN_CONTRAST = 0.1        # the least darkness of ink below the paper (0 white, 1 black)


def digit_as_text(image):
    """A grey image (28, 28) of uint8 as text, without its blank rows: // 26 maps 0-255
    to 0-9, and fancy indexing picks one of ten characters per pixel, twice."""
    picture = np.array(list(" .:-=+*#%@"))[image[image.any(axis=1)] // 26]
    return "\n".join(map("".join, np.repeat(picture, 2, axis=1)))


def read_image(path):
    """The grey levels (H, W) in [0, 1] of the image file `path`: a raster format, within
    Pillow's own size limit, turned as its EXIF orientation says, any transparent part
    over white. DataError, naming the file, if Pillow cannot read it."""
    from PIL import Image, ImageOps                   # Pillow comes with matplotlib
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)   # Pillow's limit
        try:
            with Image.open(path, formats=FORMATS) as image:
                image = ImageOps.exif_transpose(image)
                if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                    white = Image.new("RGBA", image.size, "white")
                    image = Image.alpha_composite(white, image.convert("RGBA"))
                return np.asarray(image.convert("L"), dtype=np.float32) / 255
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError,
                Image.DecompressionBombWarning) as exc:
            reason = getattr(exc, "strerror", None) or str(exc).rstrip(".")
            raise DataError(f"{path}: cannot be read as an image ({reason}).") from None


def reduce_size(gray, side=WORKING_SIDE):
    """gray (H, W) reduced k times, k the largest integer that leaves its long side at
    least `side` pixels: each k x k block becomes its mean, (H // k, W // k)."""
    k = max(1, max(gray.shape) // side)
    h, w = gray.shape[0] // k * k, gray.shape[1] // k * k
    return gray[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3))


def window(a, width, reduce):
    """reduce (np.max, np.min or np.mean) over the width x width square around each pixel
    of a (H, W), width odd, the edges repeated: one pass per axis, (H, W) each time."""
    a = np.pad(a, width // 2, mode="edge")
    a = reduce(sliding_window_view(a, width, axis=0), axis=-1)     # (H, W + width - 1)
    return reduce(sliding_window_view(a, width, axis=1), axis=-1)  # (H, W)


def paper_level(gray, width):
    """The paper's level around each pixel of gray (H, W), dark ink on light paper: a
    closing, the maximum over width x width pixels, then the minimum, which fills each
    dark mark narrower than `width` (a stroke) and keeps what is wider (a shadow)."""
    return window(window(gray, width, np.max), width, np.min)


def find_ink(gray):
    """The ink of gray (H, W), from 0 (paper) to 1 (the strokes' usual darkness), or
    None if no mark stands out of the paper's noise by MIN_CONTRAST or more. Light ink
    on a dark board, where most pixels are dark, is turned around first."""
    gray = 1 - gray if np.median(gray) < 0.5 else gray
    side = max(gray.shape)
    smooth = window(gray, side // 100 | 1, np.mean)           # softens sensor noise
    darkness = paper_level(smooth, side // 4 | 1) - smooth     # >= 0: below the paper
    median = np.median(darkness)
    noise = 1.4826 * np.median(np.abs(darkness - median))      # its standard deviation
    floor = median + 3 * noise
    contrast = darkness.max() - floor
    if contrast < max(MIN_CONTRAST, 5 * noise):
        return None
    level = np.median(darkness[darkness > floor + contrast / 2])    # a stroke's darkness
    return np.clip((darkness - floor) / (level - floor), 0, 1)


def crop(ink):
    """The box of ink (H, W) that holds its inked pixels but the outermost 0.5 % on each
    side, once the faint ink, below a quarter, is set to 0: a speck far from the digit
    does not widen the box."""
    ink = np.where(ink < 0.25, 0, ink)
    def span(count):                                   # pixels per row, or per column
        share = np.cumsum(count) / count.sum()
        return slice(np.searchsorted(share, 0.005), np.searchsorted(share, 0.995) + 1)
    inked = ink > 0
    return ink[span(inked.sum(axis=1)), span(inked.sum(axis=0))]


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


def mnist_input(gray):
    """A picture of one digit, grey levels gray (H, W) in [0, 1], as the network's input
    (784,), or None if no digit is found: reduce_size, find_ink, crop, fit_and_centre."""
    ink = find_ink(reduce_size(gray))
    return None if ink is None else fit_and_centre(crop(ink))


def read_digit(path):
    """The input (784,) of the digit in the image file `path` (DataError if none)."""
    gray = read_image(path)
    if max(gray.shape) < 28:
        raise DataError(f"{path}: the picture is too small ({gray.shape[1]} x "
                        f"{gray.shape[0]} pixels; MNIST's are 28 x 28).")
    digit = mnist_input(gray)
    if digit is None:
        raise DataError(f"{path}: no digit found (no mark stands out of the paper).")
    return digit


def predict(args):
    """Print, for each image of args.images, the digit read, the two likeliest answers
    and (unless args.no_picture) the 28 x 28 input as text. Returns the exit status:
    0, or 1 if an image could not be read (its error is told, and the others read)."""
    weights, settings, history = load_model(args.model)
    status = 0
    for path in args.images:                          # the files named by the user
        try:
            x = read_digit(path)
        except DataError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
            continue
        activations, zs = forward_pass(x.astype(weights[0].dtype), weights)
        a3 = activations[-1]                          # the ten probabilities
        first, second = np.argsort(a3)[::-1][:2]
        print(f"{path}: {first} ({a3[first]:.1%}), else {second} ({a3[second]:.1%})")
        if not args.no_picture:
            print(digit_as_text(np.round(255 * x).astype(np.uint8).reshape(28, 28)))
    return status


def main(argv=None):
    """The command line: returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__[:__doc__.index("\n\n")])
    parser.add_argument("model", type=Path, help="a network saved by --save (.npz)")
    parser.add_argument("images", type=Path, nargs="+", metavar="image",
                        help="pictures, one digit each (PNG, JPEG, GIF, BMP, TIFF, WebP)")
    parser.add_argument("--no-picture", action="store_true",
                        help="do not print the 28 x 28 input that the network read")
    return run(predict, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
