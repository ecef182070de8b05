"""mnist_ffnn_batched.py -- TP 4-6, Tasks 16 to 18: the same network, trained on
batches of examples pushed through it at once.

Task 16 adds a batch axis B in front of every array: inputs a0 (B, 784), outputs
y (B, 10), activations a_i and errors e_i (B, n_i). Weights keep their shapes.
Everything that does not change is imported from mnist_ffnn.py:

- read_idx, the preprocessing, layer_weights, sigmoid and sigmoid_prime, the update;
- softmax, forward_pass and compute_error, which were written batch-ready: softmax
  takes its max and sum over the last axis (keepdims), so it normalises each row of a
  (B, 10) array; `a @ w` treats the leading axis of a as a stack of row vectors, so the
  forward equations z_i = a_{i-1} . w_i hold unchanged with (B, n_{i-1}) . (n_{i-1}, n_i);
  compute_error already pushes a whole set through forward_pass with no loop.

What Task 16 changes is backpropagation: dw_i = a_{i-1}^T . e_i becomes a true matrix
product (n_{i-1}, B) . (B, n_i), which sums the B per-example outer products in one BLAS
call. Task 17 (the whole training set as one batch) and Task 18 (batches of any size)
are both `train` with a batch size; Task 17 is `--batch-size all`.

The gradient is summed over the batch, as the TP's equations give it, so λ multiplies
each example's gradient whatever B: the same λ works from B = 1 to about 100, while the
whole set as one batch needs a far smaller one (report.md, Tasks 17-18). The default λ
is chosen for the default batch size (README.md).
"""

import os
import time
from pathlib import Path

if __name__ == "__main__":
    # As in mnist_ffnn.py: one BLAS thread by default, which is faster for batches of up
    # to a few hundred examples (see README.md); OPENBLAS_NUM_THREADS=2 for huge batches.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from mnist_ffnn import (  # noqa: F401  (re-exported: the batched script's whole API)
    MAX_LOSS, DataError, Diverged, Monitor, read_idx, load_mnist, load_data,
    preprocess_inputs, preprocess_outputs, layer_weights, init_weights, sigmoid,
    sigmoid_prime, softmax, forward_pass, errors, update_weights, compute_error,
    cross_entropy, load_weights, save_weights, build_parser, check_arguments, run, cli,
    _number)

DEFAULT_BATCH_SIZE = 10
DEFAULT_LR = 0.03


def backpropagation(activations, zs, y, weights):
    """Task 16: the weight changes [dw1 (784, 128), dw2 (128, 64), dw3 (64, 10)] of a batch.

    activations [a0 (B, 784), a1 (B, 128), a2 (B, 64), a3 (B, 10)] and zs come from
    forward_pass on the batch, y (B, 10). The errors e_i (B, n_i) are the same equations
    as for one example; dw_i = a_{i-1}^T . e_i, (n_{i-1}, B) . (B, n_i), is the sum over
    the batch of the per-example outer products.
    """
    e1, e2, e3 = errors(activations, zs, y, weights)
    a0, a1, a2, _ = activations
    return [a0.T @ e1, a1.T @ e2, a2.T @ e3]


def train(x_train, y_train, x_test, y_test, weights, epochs=30, lr=DEFAULT_LR,
          batch_size=DEFAULT_BATCH_SIZE, rng=None, shuffle=True, log=print,
          validation=None, should_stop=None, max_loss=MAX_LOSS):
    """Tasks 17-18: train `weights` in place by gradient descent on batches.

    Each epoch cuts the training set (N, 784) into ceil(N / batch_size) batches (the last
    one may be smaller) and, for each, runs forward_pass, backpropagation and
    update_weights with learning rate `lr`. With `shuffle`, the order of the examples is
    drawn anew each epoch from `rng` (a np.random.Generator); batch_size None (or >= N)
    is the whole set as one batch (Task 17), where the order does not matter.
    `validation`, `should_stop`, `max_loss` and `log` are as in mnist_ffnn.train.
    Returns the list of the epochs' records.
    """
    rng = np.random.default_rng() if rng is None else rng
    monitor = Monitor(len(x_train), epochs, x_test, y_test, validation, log, should_stop,
                      max_loss)
    n = len(x_train)
    batch_size = n if batch_size is None else batch_size
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(n) if shuffle and batch_size < n else None
        for first in range(0, n, batch_size):                 # the loop over batches
            batch = (slice(first, first + batch_size) if order is None
                     else order[first:first + batch_size])
            activations, zs = forward_pass(x_train[batch], weights)
            deltas = backpropagation(activations, zs, y_train[batch], weights)
            update_weights(weights, deltas, lr)
            if monitor.step(zs[-1], y_train[batch]):
                break
        if monitor.end_epoch(time.perf_counter() - start, weights):      # Ctrl-C
            break
    return monitor.history


# ---------------------------------------------------------------------------------------
# Beyond the TP: reading your own digit
# ---------------------------------------------------------------------------------------

def area_resize_matrix(n_out, n_in):
    """(n_out, n_in) matrix R such that R . v resamples v (n_in,) to n_out values, each
    the mean of v over its share of the interval (area resampling, for both ways)."""
    edges = np.arange(n_out + 1) * (n_in / n_out)        # output cells, in input units
    pixels = np.arange(n_in)
    overlap = (np.minimum(edges[1:, None], pixels + 1)
               - np.maximum(edges[:-1, None], pixels))
    return np.clip(overlap, 0, None) * (n_out / n_in)


def mnist_like(gray):
    """A grey image (H, W), values in [0, 1], -> an MNIST-like input (784,).

    As MNIST was made: a white digit on black (the image is inverted if its border is
    light; the border's level becomes 0 and the brightest stroke 1), its bounding box
    (pixels above 5 % of the brightest) resampled to fit a 20x20 box keeping its aspect
    ratio, then placed in a 28x28 field so that its centre of mass falls on pixel
    (14, 14), where it is in MNIST (mean 13.99, 14.00 over the test set).
    """
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if border.mean() > 0.5:                          # dark digit on a light background
        gray, border = 1 - gray, 1 - border
    gray = np.clip(gray - np.median(border), 0, None)           # background to 0
    if not gray.max() > 0:
        raise ValueError("no digit found (the image is uniform)")
    gray = gray / gray.max()                                    # strokes up to 1
    ink = gray > 0.05
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    box = gray[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scale = 20 / max(box.shape)
    h, w = max(1, round(box.shape[0] * scale)), max(1, round(box.shape[1] * scale))
    resize_rows = area_resize_matrix(h, box.shape[0])            # (h, H)
    resize_cols = area_resize_matrix(w, box.shape[1])            # (w, W)
    small = resize_rows @ box @ resize_cols.T                     # (h, w)
    mass = small.sum()
    centre_row = np.arange(h) @ small.sum(axis=1) / mass
    centre_col = np.arange(w) @ small.sum(axis=0) / mass
    top = int(np.clip(round(14 - centre_row), 0, 28 - h))
    left = int(np.clip(round(14 - centre_col), 0, 28 - w))
    field = np.zeros((28, 28))
    field[top:top + h, left:left + w] = small
    return field.ravel()


def read_digit(path):
    """Read an image file (PNG) of one digit and return its MNIST-like input (784,)."""
    import matplotlib.image
    try:
        image = np.asarray(matplotlib.image.imread(path))
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"{path}: cannot be read as an image ({exc}).") from None
    image = image / 255 if image.dtype.kind in "ui" else image.astype(float)
    gray = image
    if image.ndim == 3:                    # colour and/or alpha channels
        has_alpha = image.shape[2] in (2, 4)
        colour = image[..., :image.shape[2] - has_alpha]
        gray = (colour @ np.array([0.299, 0.587, 0.114]) if colour.shape[2] == 3
                else colour.mean(axis=2))                      # luminance
        if has_alpha:                                          # over white paper
            gray = gray * image[..., -1] + (1 - image[..., -1])
    try:
        return mnist_like(gray)
    except ValueError as exc:
        raise DataError(f"{path}: {exc}.") from None


def predict_images(paths, weights):
    """Print the predicted digit and the ten probabilities of each image file."""
    x = np.stack([read_digit(path) for path in paths]).astype(weights[0].dtype)
    outputs = forward_pass(x, weights)[0][-1]                        # (len(paths), 10)
    for path, probabilities in zip(paths, outputs):
        print(f"{path}: {np.argmax(probabilities)}")
        print("   " + "  ".join(map("{}: {:.3f}".format, range(10), probabilities)))


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------

def batch_size_type(text):
    """argparse type of --batch-size: a positive integer, or 'all' (the whole set)."""
    return "all" if text == "all" else _number(int, 1)(text)


def main(argv=None):
    """Command line of the batched script (Tasks 17-18, and what lies beyond the TP)."""
    parser = build_parser(__doc__.split("\n\n")[0], epochs=30, lr=DEFAULT_LR)
    parser.add_argument("--batch-size", type=batch_size_type, default=DEFAULT_BATCH_SIZE,
                        help="examples per batch, or 'all' for the whole training set "
                             "as one batch (Task 17)")
    parser.add_argument("--no-shuffle", dest="shuffle", action="store_false",
                        help="keep the training set's order instead of reshuffling it "
                             "every epoch")
    parser.add_argument("--predict", nargs="+", type=Path, metavar="IMAGE",
                        help="with --load: print the digit read in each image (PNG) and "
                             "its ten probabilities, and nothing else")
    args = parser.parse_args(argv)
    if args.predict:
        if args.load is None:
            parser.error("--predict needs --load (the weights of a trained network)")
        predict_images(args.predict, load_weights(args.load)[0])
        return 0
    check_arguments(parser, args)
    return run(args, lambda *data, rng, validation, should_stop: train(
        *data, epochs=args.epochs, lr=args.lr,
        batch_size=None if args.batch_size == "all" else args.batch_size, rng=rng,
        shuffle=args.shuffle, validation=validation, should_stop=should_stop,
        max_loss=args.max_loss),
        "mnist_ffnn_batched.py")


if __name__ == "__main__":
    cli(main)
