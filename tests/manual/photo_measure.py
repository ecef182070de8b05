"""How well examples/predict.py reads photos, against clean scans of the same digits (not
a test: run it by hand; about 2 minutes for 300 digits).

    python tests/manual/photo_measure.py MODEL [N]

Draws N MNIST test digits (seed 2026), makes of each a clean scan (PNG), a phone-like
photo (JPEG) and the same photo stored sideways with an EXIF orientation, by
tests/photos.py, reads each with examples/predict.py's read_digit and the network in
MODEL, and prints the share read right, and how many of 20 blank photos have no digit.
"""

import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "examples"), str(ROOT / "tests")]

import mnist_ffnn  # noqa: E402
import photos  # noqa: E402
import predict  # noqa: E402
from mnist_ffnn_batched import load_model  # noqa: E402


def main():
    weights = load_model(sys.argv[1])[0]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    x_train, y_train, x_test, y_test = mnist_ffnn.load_mnist()
    rng = np.random.default_rng(2026)
    chosen = rng.choice(len(x_test), count, replace=False)
    kinds = {"clean scans": lambda d: photos.scan(d),
             "photos": lambda d: photos.photo(d, rng),
             "photos stored sideways (EXIF)": lambda d: photos.photo(d, rng, orientation=6)}
    right = dict.fromkeys(kinds, 0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "picture"
        for k in chosen:                                      # one digit at a time
            for kind, make in kinds.items():
                path.write_bytes(make(x_test[k]))
                try:
                    x = predict.read_digit(path)
                except mnist_ffnn.DataError:                  # "no digit found"
                    continue
                activations, zs = mnist_ffnn.forward_pass(x.astype(np.float32), weights)
                right[kind] += int(np.argmax(activations[-1]) == y_test[k])
        blank = 0
        for k in range(20):                                    # blank noisy photos
            path.write_bytes(photos.photo(x_test[0], rng, ink=False))
            blank += predict.mnist_input(predict.read_image(path)) is None
    for kind, n in right.items():
        print(f"{kind}: {n}/{count} read right ({100 * n / count:.1f} %)")
    print(f"blank photos with no digit found: {blank}/20")


if __name__ == "__main__":
    main()
