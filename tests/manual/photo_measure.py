"""How well examples/predict.py reads pictures of digits, each kind against the clean
scans of the same digits (not a test: run it by hand, one process at a time).

    python tests/manual/photo_measure.py MODEL [--set tune|held-out] [--count N]
    python tests/manual/photo_measure.py MODEL --others FOLDER

The first form draws N MNIST test digits (the tune set and the held-out set are drawn
with their own seeds, and share none), makes of each digit one picture of every kind
with tests/photos.py (a clean scan; a photo; paint drawings with a thin, medium or
thick brush on a small or large canvas; photos on coloured paper, on a sheet not
filling the frame, and cropped tight), reads each with read_digit and the network in
MODEL, and prints the share read right per kind, how many readings said they were
doubtful, how many the input as fitted reads right alone (without the second reading,
its slant undone), and how many of 20 blank photos have no digit. The second form
reads the pictures listed in FOLDER/manifest.csv (columns file, label, kind) and
prints the same per kind. --root DIR measures the predict.py of another checkout.

Pictures by other people are not in the repository (their licences are their authors').
tests/manual/others-tune.csv lists those the reader was tuned on, others-judge.csv and
others-fresh.csv (with scans) those it is judged on, gathered on 2026-12-06 (column
source: owner/repository:path on GitHub, the three sets sharing no repository; a source
ending in #x0,y0,x1,y1 is a crop of that box, a file name ending in _rot90 the crop
turned 90 degrees anticlockwise): gather the pictures in a folder under the names of
column file, and copy the list there as FOLDER/manifest.csv.
"""

import argparse
import csv
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SEEDS = {"tune": 2901, "held-out": 2902}


def kinds(photos, rng):
    """{name: a function of an MNIST digit (28, 28) that makes its picture's bytes}."""
    made = {"clean scan": photos.scan, "photo": lambda d: photos.photo(d, rng)}
    for stroke in ("thin", "medium", "thick"):
        for canvas in ("small", "large"):
            made[f"drawing, {stroke}, {canvas}"] = (
                lambda d, s=stroke, c=canvas: photos.drawing(d, rng, s, c))
    for kind, name in (("coloured", "coloured paper"), ("sheet", "sheet not filling"),
                       ("tight", "tight crop")):
        made[name] = lambda d, k=kind: photos.hard_photo(d, rng, k)
    return made


def answer(predict, mnist_ffnn, weights, path):
    """The digit read in the picture at path, whether it was said doubtful, and the digit
    that the input as fitted reads alone (None, False, None if no digit was found), with
    the predict.py measured, old (an input) or new (two readings)."""
    try:
        found = predict.read_digit(path)
    except mnist_ffnn.DataError:                                # "no digit found"
        return None, False, None
    x, doubts = found if isinstance(found, tuple) else (found, [])
    a3 = mnist_ffnn.forward_pass(x.astype(np.float32), weights)[0][-1]
    alone = int(np.argmax(a3 if a3.ndim == 1 else a3[0]))
    a3 = a3.mean(axis=0) if a3.ndim == 2 else a3      # two readings: their mean
    unsure = bool(doubts) or round(float(a3.max()), 3) < getattr(predict, "SURE", 0)
    return int(np.argmax(a3)), unsure, alone


def synthetic(args, predict, mnist_ffnn, weights):
    """Print the share read right of each kind of picture of args.count digits."""
    import photos
    x_train, y_train, x_test, y_test = mnist_ffnn.load_mnist()
    order = np.random.default_rng(29).permutation(len(x_test))    # both sets at once
    half = len(order) // 2
    chosen = order[:half] if args.set == "tune" else order[half:]
    chosen = np.random.default_rng(SEEDS[args.set]).choice(chosen, args.count, False)
    rng = np.random.default_rng(SEEDS[args.set])
    made = kinds(photos, rng)
    right, doubtful, alone = defaultdict(int), defaultdict(int), defaultdict(int)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "picture"
        for k in chosen:                                      # one digit at a time
            for kind, make in made.items():
                path.write_bytes(make(x_test[k]))
                digit, unsure, fitted = answer(predict, mnist_ffnn, weights, path)
                right[kind] += digit == y_test[k]
                doubtful[kind] += unsure
                alone[kind] += fitted == y_test[k]
        blank = 0
        for k in range(20):                                    # blank noisy photos
            path.write_bytes(photos.photo(x_test[0], rng, ink=False))
            blank += answer(predict, mnist_ffnn, weights, path)[0] is None
    for kind in made:
        print(f"{kind}: {right[kind]}/{args.count} read right "
              f"({100 * right[kind] / args.count:.1f} %), {doubtful[kind]} said doubtful, "
              f"{alone[kind]} by the input as fitted alone")
    print(f"blank photos with no digit found: {blank}/20")


def others(args, predict, mnist_ffnn, weights):
    """Print the share read right of the pictures of args.others/manifest.csv."""
    right, total, doubtful, alone, misread, misread_doubtful = (defaultdict(int)
                                                                 for _ in range(6))
    with open(args.others / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:                                           # one file at a time
        digit, unsure, fitted = answer(predict, mnist_ffnn, weights,
                                       args.others / row["file"])
        for kind in (row["kind"], "all"):
            total[kind] += 1
            right[kind] += digit == int(row["label"])
            doubtful[kind] += unsure and digit == int(row["label"])
            misread_doubtful[kind] += unsure and digit not in (None, int(row["label"]))
            alone[kind] += fitted == int(row["label"])
            misread[kind] += digit is not None and digit != int(row["label"])
        if args.verbose and digit != int(row["label"]):
            print(f"  {row['file']}: read {digit}, unsure {unsure}")
    for kind in total:
        print(f"{kind}: {right[kind]}/{total[kind]} read right "
              f"({100 * right[kind] / total[kind]:.1f} %), of which "
              f"{doubtful[kind]} said doubtful; {misread[kind]} read wrong, of which "
              f"{misread_doubtful[kind]} said doubtful; {alone[kind]} by the input as "
              "fitted alone")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--set", choices=sorted(SEEDS), default="held-out")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--others", type=Path)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    sys.path[:0] = [str(args.root), str(args.root / "examples"), str(ROOT / "tests")]
    import mnist_ffnn
    import predict
    from mnist_ffnn_batched import load_model
    weights = load_model(args.model)[0]
    (others if args.others else synthetic)(args, predict, mnist_ffnn, weights)


if __name__ == "__main__":
    main()
