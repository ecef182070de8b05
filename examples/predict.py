"""examples/predict.py: read the digit in each image file with a network saved by
`python mnist_ffnn_batched.py --save MODEL`, show what the network saw, and say when
the reading is doubtful.

    python examples/predict.py MODEL IMAGE...

A photo, a scan or a drawing becomes an input as MNIST's digits were made (the steps are
in examples/reader.py, ink.py and fit.py): what is darker than the paper, in any
colour, is ink (light ink, for chalk on a board); the largest group of strokes near the
centre is the digit; a hairline is thickened and a marker's stroke narrowed to MNIST's
pen; the digit is fitted in 20 x 20 pixels and centred by its mass in 28 x 28, once as
it is and once with its slant undone, and the answer is the mean of both. A reading
is doubtful when the digit looks cut off (it touches one side of the picture and not the
opposite one), when other marks were left out, or when the network gives its answer less
than SURE of its probability. Best: a dark pen on plain paper, the digit filling most of
the picture with a margin around it.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))     # the TP's scripts
from mnist_ffnn import DataError, forward_pass, run  # noqa: E402
from mnist_ffnn_batched import load_model  # noqa: E402
from reader import (ImageError, digit_as_text, digit_input, mnist_input,  # noqa: E402,F401
                    read_image)
from why import save_why  # noqa: E402

SURE = 0.8     # a top answer below this probability is "not sure" (see the README)
READINGS = ("as fitted", "slant undone")                # the two inputs, in their order
ADVICE = {"edge": "the digit looks cut off at the picture's edge, leave a margin around it",
          "blobs": "other marks beside it, crop closer to the digit",
          "unsure": f"its top answer is under {SURE:.0%}, write the digit again, larger "
                    "and plainer"}


def read_digit(path):
    """The inputs (2, 784) of the digit in the image file `path`, as fitted and with its
    slant undone, and the list of what makes it doubtful ("edge", "blobs"); see
    reader.digit_input. DataError, naming the file, if it cannot be read, is too small,
    or has no digit."""
    try:
        picture = read_image(path)
    except ImageError as exc:
        raise DataError(f"{path}: {exc}.") from None
    if max(picture.shape[:2]) < 28:
        raise DataError(f"{path}: the picture is too small ({picture.shape[1]} x "
                        f"{picture.shape[0]} pixels; MNIST's are 28 x 28).")
    found = digit_input(picture)
    if found is None:
        raise DataError(f"{path}: no digit found (no mark stands out of the paper).")
    return found


def probabilities(inputs, weights):
    """The network's ten probabilities (10,) for a digit read as inputs (2, 784), as
    fitted and with its slant undone: the mean of the two readings' a3 (2, 10), which
    it returns too."""
    activations, zs = forward_pass(inputs.astype(weights[0].dtype), weights)
    return activations[-1].mean(axis=0), activations[-1]


def reading(path, a3, doubts):
    """The line said for the picture at `path`: the two likeliest answers among the ten
    probabilities a3 (10,), then, if the reading is doubtful, why and what to do."""
    first, second = np.argsort(a3)[::-1][:2]
    line = f"{path}: {first} ({a3[first]:.1%}), else {second} ({a3[second]:.1%})"
    doubts = doubts + ["unsure"] * bool(round(a3[first], 3) < SURE)    # as printed
    if doubts:
        line += " -- not sure: " + "; ".join(ADVICE[doubt] for doubt in doubts)
    return line


def predict(args):
    """Print, for each image of args.images, the digit read, the two likeliest answers,
    whether the reading is doubtful and (unless args.no_picture) the two 28 x 28 inputs
    as text, each with what it reads alone; with args.why, save in that folder a picture
    of why. Returns the exit status: 0, or 1 if an image could not be read (its error is
    told, the others read)."""
    weights = load_model(args.model)[0]
    if args.why is not None:                        # said before any output, if it fails
        if args.why.exists() and not args.why.is_dir():
            raise DataError(f"{args.why}: --why needs a folder, and this is a file.")
        args.why.mkdir(parents=True, exist_ok=True)
    status, stems = 0, [path.stem for path in args.images]
    for number, path in enumerate(args.images, 1):    # the files named by the user
        try:
            inputs, doubts = read_digit(path)
        except DataError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
            continue
        a3, each = probabilities(inputs, weights)
        print(reading(path, a3, doubts))
        read = [f"{name}, reads {np.argmax(a)}" for name, a in zip(READINGS, each)]
        if not args.no_picture:                                  # the two inputs
            for caption, x in zip(read, inputs):
                print(f"{caption}:\n"
                      + digit_as_text(np.round(255 * x).astype(np.uint8).reshape(28, 28)))
        if args.why is not None:
            stem = path.stem if stems.count(path.stem) == 1 else f"{path.stem}-{number}"
            picture = args.why / f"{stem}-why.png"
            k = int(np.argmax(a3))
            save_why(picture, inputs[0], weights, f"{path.name}: read as {k}\n"
                     f"({'; '.join(read)})", k)
            print(f"why: {picture}")
    return status


def main(argv=None):
    """The command line: returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__[:__doc__.index("\n\n")])
    parser.add_argument("model", type=Path, help="a network saved by --save (.npz)")
    parser.add_argument("images", type=Path, nargs="+", metavar="image",
                        help="pictures, one digit each (PNG, JPEG, GIF, BMP, TIFF, WebP)")
    parser.add_argument("--no-picture", action="store_true",
                        help="do not print the two 28 x 28 inputs that the network read")
    parser.add_argument("--why", type=Path, metavar="FOLDER",
                        help="save in FOLDER, for each image, a picture of the input "
                             "as fitted and of where more ink would raise the answer "
                             "(red) or lower it (blue): IMAGE-why.png (IMAGE-N-why.png, "
                             "N its place, when names repeat)")
    return run(predict, parser.parse_args(argv))


if __name__ == "__main__":
    sys.stdout.reconfigure(errors="replace")      # a console that cannot show a file's name
    sys.exit(main())
