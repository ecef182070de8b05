"""mnist_ffnn_batched.py -- TP 4-6, Tasks 16 to 18: the same network, trained on batches
of examples pushed through it at once.

Task 16 adds a batch axis B in front of every array: inputs a0 (B, 784), expected outputs
y (B, 10), activations a_i and error values e_i (B, n_i); the weights keep their shapes.
What does not change is imported from mnist_ffnn.py: reading and preprocessing the data,
the weights, the update. So are softmax, forward_pass and compute_error, which
mnist_ffnn.py wrote batch-ready: softmax takes its max and sum over the last axis, so it
normalises each row of a (B, 10) array; `a @ w` treats the rows of a as a stack of
inputs, so z_i = a_{i-1} . w_i holds as (B, n_{i-1}) . (n_{i-1}, n_i) -> (B, n_i); and
compute_error already pushes a whole set through at once, with argmax over the last axis.
What changes is backpropagation: dw_i = a_{i-1}^T . e_i becomes a true matrix product,
(n_{i-1}, B) . (B, n_i), the sum of the B per-example outer products in one call (and,
for speed, S'(z_i) is taken as a_i (1 - a_i), the same value, from the forward pass).
Task 17 (the whole training set as one batch) and Task 18 (batches of any size) are
`train` with a batch size:

    python mnist_ffnn_batched.py                               # B = 10, λ = 0.03
    python mnist_ffnn_batched.py --batch-size all --lr 1e-5    # Task 17

The gradient is summed over the batch, as the TP's equations give it, so λ multiplies
each example's gradient whatever B: the default λ = 0.03 on batches of 10 is a step of
0.3 on their mean gradient, chosen on a validation split (README). With --batch-size 1
--lr 0.001 --no-shuffle, this script trains exactly as mnist_ffnn.py does.

After the TP's part, in bannered sections, what a user of the network needs beyond it:
the training loss, divergence and Ctrl-C; saving and loading weights; figures; reading
and drawing your own digit; checking backpropagation against finite differences; the
command line (`python mnist_ffnn_batched.py --help`).
"""

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import tempfile
import threading
import time
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

try:                           # optional, for speed only: see blas_threads
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None

from mnist_ffnn import (DATA_DIR, DataError, argument_type, compute_error, forward_pass,
                        init_weights, load_mnist, preprocess_inputs, preprocess_outputs,
                        update_weights)

DEFAULT_BATCH_SIZE = 10
DEFAULT_LR = 0.03
SMALL_BATCH = 10          # up to this size, train works on the active pixels' rows of w1
ONE_THREAD_BELOW = 128    # batches smaller than this use one BLAS thread (blas_threads)


# ---- Task 16: backpropagation for a batch ---------------------------------------------

def backpropagation(activations, zs, y, weights):
    """Task 16: the weight changes [dw1 (784, 128), dw2 (128, 64), dw3 (64, 10)] of a
    batch, from its forward pass (activations, zs) and its expected outputs y (B, 10).

    The equations of one example, with the batch axis B in front: e3 (B, 10), e2 (B, 64),
    e1 (B, 128). Each dw_i = a_{i-1}^T . e_i is (n_{i-1}, B) . (B, n_i): the sum over the
    batch of the per-example weight changes.
    """
    a0, a1, a2, a3 = activations
    _, w2, w3 = weights
    # S'(z_i) = S(z_i) (1 - S(z_i)) = a_i (1 - a_i): the forward pass already computed
    # a_i = S(z_i), so the TP's S'(z_i) costs no exponential here (zs are not needed).
    e3 = a3 - y                                   # (B, 10)
    e2 = (e3 @ w3.T) * a2 * (1 - a2)              # (B, 10) . (10, 64) -> (B, 64)
    e1 = (e2 @ w2.T) * a1 * (1 - a1)              # (B, 64) . (64, 128) -> (B, 128)
    return [a0.T @ e1, a1.T @ e2, a2.T @ e3]      # (n_{i-1}, B) . (B, n_i)


# ---- Tasks 17-18: training on batches -------------------------------------------------

def train(x_train, y_train, x_test, y_test, weights, epochs=30, lr=DEFAULT_LR,
          batch_size=DEFAULT_BATCH_SIZE, rng=None, shuffle=True, validation=None,
          max_loss=None, log=print):
    """Tasks 17-18: train `weights` in place by gradient descent on batches.

    Each epoch cuts the training set x_train (N, 784), y_train (N, 10) into batches of
    `batch_size` examples (the last one may be smaller; None is the whole set as one
    batch, Task 17), and pushes each through forward_pass, backpropagation and
    update_weights with learning rate `lr`. With `shuffle`, the examples are drawn in a
    new order every epoch from `rng` (a np.random.Generator). After each epoch, prints
    the training loss and the error rate on x_test, y_test (and on `validation`, a pair
    (x, y), if given). Raises Diverged if the loss exceeds `max_loss` (default MAX_LOSS)
    or stops being finite. Returns the list of the epochs' records (dicts).
    """
    n = len(x_train)
    batch_size = n if batch_size is None else min(batch_size, n)
    rng = np.random.default_rng() if rng is None else rng
    w1, w2, w3 = weights
    with Monitor(n, epochs, (x_test, y_test), validation, max_loss, log) as monitor, \
            blas_threads(1 if batch_size < ONE_THREAD_BELOW else None):  # see blas_threads
        for epoch in range(1, epochs + 1):                     # the loop over epochs
            start = time.perf_counter()
            order = rng.permutation(n) if shuffle and batch_size < n else None
            for first in range(0, n, batch_size):              # the loop over batches
                batch = (slice(first, first + batch_size) if order is None
                         else order[first:first + batch_size])
                a0, y = x_train[batch], y_train[batch]
                if batch_size > SMALL_BATCH:                   # the TP's three steps
                    activations, zs = forward_pass(a0, weights)
                    deltas = backpropagation(activations, zs, y, weights)
                    update_weights(weights, deltas, lr)
                else:
                    # The same result up to rounding, faster for small batches, as in
                    # mnist_ffnn.train: a pixel with no ink in the whole batch adds
                    # nothing to z1 and gets no change in w1. Half of the pixels are such
                    # at B = 10 (four fifths at B = 1), so the three steps run on the rows
                    # w1[active] of the others, which are then written back.
                    active = np.flatnonzero(a0.any(axis=0))
                    sub = [w1[active], w2, w3]
                    activations, zs = forward_pass(a0[:, active], sub)
                    deltas = backpropagation(activations, zs, y, sub)
                    update_weights(sub, deltas, lr)
                    w1[active] = sub[0]
                if monitor.after_batch(zs[2], y):                # Ctrl-C: stop now
                    break
            if monitor.after_epoch(time.perf_counter() - start, weights):
                break
    return monitor.history


# ---- Beyond the TP: the training loss, divergence, Ctrl-C -----------------------------

MAX_LOSS = 5 * math.log(10)    # an epoch's mean loss above this: training diverged


class Diverged(ArithmeticError):
    """Training produced a loss above the limit, or non-finite values."""


def blas_threads(count):
    """A context in which the BLAS library that NumPy uses for its matrix products runs
    `count` threads (None: leave BLAS's own default, usually all cores). One thread is
    faster for batches under about 128 examples: their products are too small to share,
    and waking a second thread costs more than it saves; all cores are faster for large
    batches (README, Speed). Needs threadpoolctl (in requirements.txt); without it, this
    does nothing."""
    if count is None or threadpool_limits is None:
        return contextlib.nullcontext()
    return threadpool_limits(limits=count, user_api="blas")


def cross_entropy(z3, y):
    """The loss that backpropagation descends, -sum y log softmax(z3), summed over the
    rows of z3 and y (B, 10). Computed from z3 (log-sum-exp), so that a probability that
    rounds to 0 gives a large finite loss, not inf."""
    top = np.max(z3, axis=-1, keepdims=True)
    log_sum = np.log(np.sum(np.exp(z3 - top), axis=-1, keepdims=True)) + top
    return float(np.sum(y * (log_sum - z3)))


class Monitor:
    """What `train` does besides the TP's three steps: it keeps z3 and y of every example
    of the epoch, and after each epoch computes the training loss (the mean over the
    epoch's examples of their cross-entropy, each taken before its batch's update),
    checks that training has not diverged, evaluates, prints the epoch's line and adds
    its record to `history`. As a context manager, it turns a first Ctrl-C into a
    request to stop after the current batch (a second one interrupts at once)."""

    def __init__(self, n_train, epochs, test, validation=None, max_loss=None, log=print):
        self.epochs, self.test, self.validation, self.log = epochs, test, validation, log
        self.max_loss = MAX_LOSS if max_loss is None else max_loss
        self.logits = np.empty((n_train, 10), test[0].dtype)    # z3 of each example
        self.targets = np.empty((n_train, 10), test[1].dtype)    # and its y
        self.seen, self.history, self.stop_requested = 0, [], False
        self._previous_handler = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGINT, self._interrupt)
        return self

    def __exit__(self, *exc):
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)

    def _interrupt(self, signum, frame):
        if self.stop_requested:
            raise KeyboardInterrupt
        self.stop_requested = True
        print("\nInterrupted: stopping after the current batch (Ctrl-C again to quit at "
              "once).", file=sys.stderr, flush=True)

    def after_batch(self, z3, y):
        """Keep the batch's z3 and y (B, 10); True if training must stop now (Ctrl-C)."""
        end = self.seen + len(y)
        self.logits[self.seen:end] = z3
        self.targets[self.seen:end] = y
        self.seen = end
        return self.stop_requested

    def after_epoch(self, seconds, weights):
        """Check, evaluate, print and record the epoch; True if training must stop."""
        seen, self.seen = self.seen, 0
        epoch = len(self.history) + 1
        loss = cross_entropy(self.logits[:seen], self.targets[:seen]) / max(seen, 1)
        w1, w2, w3 = weights
        if not (np.isfinite(loss) and np.isfinite(w1).all() and np.isfinite(w2).all()
                and np.isfinite(w3).all()):
            raise Diverged(f"training diverged in epoch {epoch}: the loss became {loss} "
                           "and the weights are no longer all finite; use a smaller "
                           "learning rate")
        if loss > self.max_loss:
            raise Diverged(f"training diverged in epoch {epoch}: its mean loss {loss:.4g} "
                           f"is above --max-loss {self.max_loss:.4g} (random guessing "
                           f"gives {math.log(10):.2f}); use a smaller learning rate, or "
                           "--max-loss inf to go on")
        record = {"epoch": epoch, "train_loss": loss,
                  "test_error": compute_error(*self.test, weights), "seconds": seconds}
        line = (f"Epoch {epoch:>{len(str(self.epochs))}}/{self.epochs}  loss {loss:.4f}  "
                f"test error {100 * record['test_error']:5.2f}%")
        if self.validation is not None:
            record["validation_error"] = compute_error(*self.validation, weights)
            line += f"  validation error {100 * record['validation_error']:5.2f}%"
        if self.stop_requested:
            record["interrupted_after_examples"] = seen
            line += f"  (interrupted after {seen} examples)"
        self.log(f"{line}  ({seconds:.2f} s)")
        self.history.append(record)
        return self.stop_requested


# ---- Beyond the TP: files (weights, JSON), written atomically --------------------------

WEIGHT_SHAPES = {"w1": (784, 128), "w2": (128, 64), "w3": (64, 10)}


def check_writable(path, shown):
    """Make sure, before training, that the file `path` can be written: create its
    directory if missing, then create and remove a file there. Raises DataError naming
    `shown`, the option and path as the user gave them."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot write {shown}: cannot create the directory "
                        f"{path.parent} ({exc.strerror}).") from None
    if path.is_dir():
        raise DataError(f"cannot write {shown}: it is a directory.")
    try:
        descriptor, probe = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as exc:
        raise DataError(f"cannot write {shown}: no file can be created in {path.parent} "
                        f"({exc.strerror}).") from None
    os.close(descriptor)
    os.unlink(probe)


def atomic_write(path, write):
    """Call write(file) on a temporary file next to `path`, then rename it to `path`:
    an interrupted write never leaves a half-written file, nor spoils the old one."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                             suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)        # mkstemp makes 0600: give open()'s mode
        with os.fdopen(descriptor, "wb") as f:
            write(f)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def write_json(path, obj):
    """Write `obj` as JSON to `path`, atomically."""
    atomic_write(path, lambda f: f.write((json.dumps(obj, indent=2) + "\n").encode()))


def save_weights(path, weights, config):
    """Save [w1, w2, w3] and `config` (a dict, stored as JSON text) in an .npz file."""
    arrays = dict(zip(WEIGHT_SHAPES, weights), config=np.array(json.dumps(config)))
    atomic_write(path, lambda f: np.savez(f, **arrays))


def read_npz_member(archive, name, path, shape, kind, max_bytes):
    """The array `name` of the open .npz `archive`, read only if its header says it has
    `shape`, a dtype of `kind` ('f', 'U'...) and at most `max_bytes` bytes, and only
    those bytes: a forged header, or a member that would decompress to gigabytes, is
    refused without reading more. Raises DataError naming `path`."""
    with archive.open(name + ".npy") as member:
        version = np.lib.format.read_magic(member)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise DataError(f"{path}: {name} is stored in .npy format {version}, "
                            "expected 1.0 or 2.0.")
        found, fortran_order, dtype = read_header(member)
        size = math.prod(found) * dtype.itemsize
        if dtype.kind != kind or found != shape or size > max_bytes:
            expected = "a float array" if kind == "f" else "a text"
            raise DataError(f"{path}: {name} is {dtype} {found}, expected {expected}"
                            f"{f' of shape {shape}' if shape else ''}.")
        data = member.read(size)
        if len(data) < size or member.read(1):
            amount = "less" if len(data) < size else "more"
            raise DataError(f"{path}: {name} holds {amount} data than its header announces "
                            f"({size} bytes).")
    return np.frombuffer(data, dtype).reshape(found, order="F" if fortran_order else "C")


def load_weights(path, dtype=None):
    """Load [w1, w2, w3] and the config saved by save_weights, cast to `dtype` if given.

    Never unpickles, and reads no more than the three matrices' own size whatever the
    file claims. Returns (weights, config). Raises DataError, one sentence naming the
    file, for anything that is not such a file with finite weights.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            names = {name.removesuffix(".npy") for name in archive.namelist()}
            missing = sorted(set(WEIGHT_SHAPES) - names)
            if missing:
                raise DataError(f"{path}: not a weights file saved by --save (no "
                                f"{', '.join(missing)} in it).")
            weights = [read_npz_member(archive, name, path, shape, "f",
                                       8 * math.prod(shape))      # float64 at the most
                       for name, shape in WEIGHT_SHAPES.items()]
            config = {}
            if "config" in names:
                config = json.loads(str(read_npz_member(archive, "config", path, (), "U",
                                                        1 << 20)))
    except DataError:
        raise
    except zipfile.BadZipFile as exc:
        raise DataError(f"{path}: not an .npz archive of weights ({exc}).") from None
    except (ValueError, EOFError, NotImplementedError, RuntimeError, zlib.error) as exc:
        # a damaged member, an encrypted one, an unknown compression method...
        raise DataError(f"{path}: cannot be read as saved weights ({exc}).") from None
    for name, w in zip(WEIGHT_SHAPES, weights):
        if not np.isfinite(w).all():
            raise DataError(f"{path}: {name} holds non-finite values.")
    return [w.astype(dtype or w.dtype) for w in weights], config


# ---- Beyond the TP: figures (matplotlib is imported only when a figure is made) --------

def predicted_digits(x, weights):
    """The digit (N,) the network predicts for each input of x (N, 784)."""
    return np.argmax(forward_pass(x, weights)[0][-1], axis=-1)


def confusion_matrix(labels, predicted):
    """(10, 10) counts: row = true digit, column = predicted digit."""
    return np.bincount(10 * labels + predicted, minlength=100).reshape(10, 10)


def save_figure(figure, path):
    """Write a matplotlib Figure as PNG, atomically."""
    atomic_write(path, lambda f: figure.savefig(f, format="png", dpi=110))


def plot_learning_curves(history, path):
    """Training loss and error rates per epoch, side by side."""
    from matplotlib.figure import Figure
    figure = Figure(figsize=(10, 4), layout="constrained")
    loss_axes, error_axes = figure.subplots(1, 2)
    epochs = [record["epoch"] for record in history]
    loss_axes.plot(epochs, [record["train_loss"] for record in history], marker="o")
    loss_axes.set(title="Training loss (mean over each epoch)", xlabel="epoch",
                  ylabel="cross-entropy per example (log scale)", yscale="log")
    error_axes.plot(epochs, [100 * record["test_error"] for record in history],
                    marker="o", label="test")
    if history and "validation_error" in history[0]:
        error_axes.plot(epochs, [100 * record["validation_error"] for record in history],
                        marker="s", label="validation")
    error_axes.set(title="Error rate after each epoch", xlabel="epoch", ylabel="error (%)")
    error_axes.legend()
    for axes in (loss_axes, error_axes):
        axes.grid(alpha=0.3)
        axes.xaxis.get_major_locator().set_params(integer=True)
    save_figure(figure, path)


def plot_confusion_matrix(labels, predicted, path):
    """The test set's confusion matrix, with the count in each cell."""
    from matplotlib.figure import Figure
    counts = confusion_matrix(labels, predicted)
    figure = Figure(figsize=(6.5, 5.5), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(np.log1p(counts), cmap="Blues")
    for (row, col), count in np.ndenumerate(counts):               # annotate the cells
        axes.text(col, row, count, ha="center", va="center", fontsize=8,
                  color="white" if row == col else "black")
    axes.set(title=f"Confusion matrix on the test set ({np.sum(counts) - np.trace(counts)} "
                   f"errors of {np.sum(counts)})",
             xlabel="predicted digit", ylabel="true digit", xticks=range(10),
             yticks=range(10))
    figure.colorbar(image, label="log(1 + count)")
    save_figure(figure, path)


def plot_misclassified(x, labels, predicted, path, count=32):
    """A gallery of the first `count` misclassified digits, true and predicted labels."""
    from matplotlib.figure import Figure
    wrong = np.flatnonzero(labels != predicted)[:count]
    columns = 8
    rows = max(1, -(-len(wrong) // columns))
    figure = Figure(figsize=(columns * 1.3, rows * 1.5 + 0.5), layout="constrained")
    figure.suptitle("Misclassified test digits (true → predicted)" if len(wrong) else
                    "No misclassified test digit")
    for k, axes in enumerate(figure.subplots(rows, columns, squeeze=False).ravel()):
        axes.axis("off")
        if k < len(wrong):
            i = wrong[k]
            axes.imshow(x[i].reshape(28, 28), cmap="gray_r")
            axes.set_title(f"#{i}: {labels[i]} → {predicted[i]}", fontsize=8)
    save_figure(figure, path)


def plot_w1_tiles(w1, path):
    """What the first layer looks at: each of the 128 columns of w1 (784,) drawn as a
    28x28 image, red where a pixel's ink raises that neuron's z1, blue where it lowers
    it, white for 0 (a diverging colour map centred on 0)."""
    from matplotlib.figure import Figure
    n_rows, n_cols = 8, w1.shape[1] // 8
    tiles = w1.T.reshape(n_rows, n_cols, 28, 28)                 # (8, 16, 28, 28)
    tiles = np.pad(tiles, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=np.nan)
    mosaic = tiles.transpose(0, 2, 1, 3).reshape(n_rows * 30, n_cols * 30)  # one image
    limit = np.nanpercentile(np.abs(mosaic), 99.5)
    figure = Figure(figsize=(n_cols * 0.75 + 1, n_rows * 0.75 + 0.6), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(mosaic, cmap="RdBu_r", vmin=-limit, vmax=limit)
    axes.axis("off")
    axes.set_title("The 128 columns of w1, one 28x28 tile per neuron of the first hidden "
                   "layer")
    figure.colorbar(image, shrink=0.8, label="weight")
    save_figure(figure, path)


def plot_hidden_activations(x, labels, weights, path):
    """The mean activation a1 of each of the 128 first-layer neurons over the images of
    each digit: a (10, 128) image, the neurons sorted by the digit they respond to most."""
    from matplotlib.figure import Figure
    a1 = forward_pass(x, weights)[0][1]                             # (N, 128)
    one_hot = np.eye(10)[labels]                                    # (N, 10)
    means = (one_hot.T @ a1) / one_hot.sum(axis=0)[:, None]         # (10, 128)
    preferred = np.argmax(means, axis=0)
    order = np.lexsort((-means.max(axis=0), preferred))             # by digit, then peak
    figure = Figure(figsize=(11, 3.6), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(means[:, order], aspect="auto", cmap="viridis", vmin=0, vmax=1)
    axes.set(title="Mean activation a1 of each first-layer neuron, per true digit (test "
                   "set); neurons sorted by the digit they respond to most",
             xlabel="neuron of the first hidden layer (sorted)", ylabel="digit",
             yticks=range(10))
    figure.colorbar(image, label="mean a1")
    save_figure(figure, path)


def save_plots(directory, history, x_test, y_test, weights):
    """Write the figures of a training run in `directory`; return their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    labels, predicted = np.argmax(y_test, axis=-1), predicted_digits(x_test, weights)
    paths = [directory / name for name in
             ("learning_curves.png", "confusion_matrix.png", "misclassified.png",
              "w1_tiles.png", "hidden_activations.png")]
    plot_learning_curves(history, paths[0])
    plot_confusion_matrix(labels, predicted, paths[1])
    plot_misclassified(x_test, labels, predicted, paths[2])
    plot_w1_tiles(weights[0], paths[3])
    plot_hidden_activations(x_test, labels, weights, paths[4])
    return paths


# ---- Beyond the TP: reading and drawing your own digit ---------------------------------

MAX_IMAGE_SIDE = 4096    # images of more than MAX_IMAGE_SIDE² pixels are refused, so
                         # that the memory --predict takes stays bounded


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
    """Read an image file (PNG, JPEG...) of one digit; return its MNIST-like input (784,).
    The image's size is read first: more than MAX_IMAGE_SIDE² pixels is refused."""
    import matplotlib.image
    from PIL import Image                               # matplotlib's own image library
    too_large = (f"{path}: the image is too large (at most {MAX_IMAGE_SIDE} x "
                 f"{MAX_IMAGE_SIDE} pixels")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            picture = Image.open(path)                  # reads the header only
        with picture:
            if picture.width * picture.height > MAX_IMAGE_SIDE ** 2:
                raise DataError(f"{too_large}; it has {picture.width} x {picture.height}).")
            image = matplotlib.image.pil_to_array(picture)
    except Image.DecompressionBombError as exc:
        raise DataError(f"{too_large}; {exc})") from None
    except (OSError, ValueError, SyntaxError) as exc:        # not an image, damaged...
        if isinstance(exc, (DataError, FileNotFoundError, IsADirectoryError,
                            PermissionError)):
            raise                                 # these already say what is wrong
        raise DataError(f"{path}: cannot be read as an image ({exc}).") from None
    if image.dtype.kind in "ui":                               # 8 or 16 bits
        image = image / np.iinfo(image.dtype).max
    image = image.astype(float)
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
    """Print the predicted digit and the ten probabilities of each image file, in the
    order given; an image that cannot be read gets its `error:` sentence (on stderr)
    instead. Returns the exit status: 0, or 1 if an image could not be read."""
    inputs, readable = [], []
    for path in paths:                                   # the files named by the user
        try:
            inputs.append(read_digit(path))
            readable.append(path)
        except (DataError, OSError) as exc:
            print(f"error: {describe(exc)}", file=sys.stderr, flush=True)
    if inputs:
        x = np.stack(inputs).astype(weights[0].dtype)
        outputs = forward_pass(x, weights)[0][-1]                    # (len(inputs), 10)
        for path, probabilities in zip(readable, outputs):
            print(f"{path}: {np.argmax(probabilities)}")
            print("   " + "  ".join(map("{}: {:.3f}".format, range(10), probabilities)))
    return 0 if len(readable) == len(paths) else 1


class DrawingBoard:
    """Draw a digit with the mouse and watch the network read it, in a matplotlib figure:
    the canvas on the left (left button draws, right button or any key clears), the
    digit as the network sees it in the middle (mnist_like, as for --predict), the ten
    probabilities on the right, updated as you draw. Plain matplotlib events."""

    SIZE = 140        # canvas pixels: 5 per MNIST pixel
    PEN = 7.0         # pen radius, in canvas pixels

    def __init__(self, weights, figure):
        self.weights, self.figure, self.pen = weights, figure, None
        self.ink = np.zeros((self.SIZE, self.SIZE))
        self.pixels = np.stack(np.meshgrid(np.arange(self.SIZE), np.arange(self.SIZE)),
                               -1)                       # (x, y) of each canvas pixel
        self.probabilities = np.zeros(10)
        self.canvas_axes, seen_axes, bar_axes = figure.subplots(1, 3,
                                                                width_ratios=(1, 1, 1.3))
        self.canvas_image = self.canvas_axes.imshow(self.ink, cmap="gray", vmin=0, vmax=1)
        self.canvas_axes.set(title="Draw here with the left button\n(right button or a "
                                   "key: clear)", xticks=[], yticks=[])
        self.seen_image = seen_axes.imshow(np.zeros((28, 28)), cmap="gray", vmin=0, vmax=1)
        seen_axes.set(title="What the network sees\n(28 x 28, as in MNIST)", xticks=[],
                      yticks=[])
        self.bars = bar_axes.bar(range(10), self.probabilities)
        self.bar_axes = bar_axes
        bar_axes.set(ylim=(0, 1), xticks=range(10), xlabel="digit", ylabel="probability")
        figure.canvas.mpl_connect("button_press_event", self.on_press)
        figure.canvas.mpl_connect("motion_notify_event", self.on_move)
        figure.canvas.mpl_connect("button_release_event", self.on_release)
        figure.canvas.mpl_connect("key_press_event", lambda event: self.clear())
        self.update()

    def on_press(self, event):
        """Left button: put the pen down there; right button: clear."""
        if event.inaxes is self.canvas_axes and event.button == 1:
            self.pen = (event.xdata, event.ydata)
            self.paint(self.pen, self.pen)
        elif event.button == 3:
            self.clear()

    def on_move(self, event):
        """While the pen is down: ink the segment from where it was to where it is."""
        if self.pen is not None and event.inaxes is self.canvas_axes:
            self.paint(self.pen, (event.xdata, event.ydata))
            self.pen = (event.xdata, event.ydata)

    def on_release(self, event):
        self.pen = None

    def paint(self, start, end):
        """Ink the segment from `start` to `end` ((x, y) in canvas pixels) with a round
        pen: every pixel at once, by its distance to the segment."""
        start, end = np.asarray(start, float), np.asarray(end, float)
        along = end - start
        t = np.clip((self.pixels - start) @ along / max(along @ along, 1e-12), 0, 1)
        distance = np.linalg.norm(self.pixels - (start + t[..., None] * along), axis=-1)
        self.ink = np.maximum(self.ink, np.clip(self.PEN - distance, 0, 1))
        self.update()

    def clear(self):
        self.ink[:] = 0
        self.pen = None
        self.update()

    def update(self):
        """Read the canvas as --predict reads an image, and redraw the figure."""
        try:
            seen = mnist_like(self.ink)
            self.probabilities = forward_pass(seen.astype(self.weights[0].dtype),
                                              self.weights)[0][-1]
        except ValueError:                                   # nothing drawn yet
            seen, self.probabilities = np.zeros(784), np.zeros(10)
        self.canvas_image.set_data(self.ink)
        self.seen_image.set_data(seen.reshape(28, 28))
        digit = int(np.argmax(self.probabilities))
        for k, (bar, probability) in enumerate(zip(self.bars, self.probabilities)):
            bar.set_height(probability)
            bar.set_color("C1" if k == digit else "C0")
        self.bar_axes.set_title(f"The network reads a {digit} "
                                f"({self.probabilities[digit]:.0%})\n"
                                if self.probabilities.any() else "Probabilities\n")
        self.figure.canvas.draw_idle()


class DisplayError(RuntimeError):
    """--draw found no display to open its window on."""


def draw_digits(weights):
    """--draw: open the drawing board in a window, until it is closed."""
    import matplotlib.pyplot as plt
    backend = plt.get_backend()
    if backend.lower() in ("agg", "cairo", "pdf", "pgf", "ps", "svg", "template"):
        raise DisplayError(f"--draw needs a display to open its window, and there is none "
                           f"(matplotlib's backend is {backend}); use --predict IMAGE to "
                           "read a digit from an image file instead")
    try:
        figure = plt.figure("Draw a digit", figsize=(11, 4.2), layout="constrained")
    except Exception as exc:                 # e.g. Tk's "couldn't connect to display"
        raise DisplayError(f"--draw cannot open its window ({exc}); use --predict IMAGE "
                           "to read a digit from an image file instead") from None
    board = DrawingBoard(weights, figure)    # noqa: F841  (kept alive while shown)
    plt.show()


# ---- Beyond the TP: checking backpropagation against finite differences --------------

GRADIENT_TOLERANCE = 1e-6     # float64 meets it by far (errors around 1e-9)


def gradient_errors(x, y, weights, backprop=None, loss=None, entries=5, eps=1e-5,
                    rng=None):
    """The relative error [w1, w2, w3] between backpropagation's dw_i and the centred
    finite differences (L(w + eps) - L(w - eps)) / (2 eps) of the loss L on the batch
    x (B, 784), y (B, 10), in the style of CS231n: |a - n| / (|a| + |n|).

    For each w_i, the worst of: its `entries` largest entries of dw_i, as many drawn at
    random by `rng` among those at least a tenth of the largest (the error of a tiny
    gradient is all rounding), and the derivative along a random direction d, which
    checks the whole matrix at once (it is the sum of dw_i * d). Computed in float64,
    where rounding leaves errors near 1e-9 (in float32, finite differences are only
    good to about 1e-2). `backprop` defaults to this module's backpropagation, `loss`
    to the summed cross-entropy of forward_pass (the tests pass their own).
    """
    backprop = backpropagation if backprop is None else backprop
    rng = np.random.default_rng(0) if rng is None else rng
    if loss is None:
        def loss(w):
            return cross_entropy(forward_pass(x, w)[1][2], y)
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    weights = [np.array(w, np.float64) for w in weights]
    deltas = backprop(*forward_pass(x, weights), y, weights)
    relative_errors = []
    for i, (w, dw) in enumerate(zip(weights, deltas)):          # the three matrices
        size = np.abs(dw).ravel()
        large = np.flatnonzero(size >= size.max() / 10)
        picked = np.concatenate([np.argsort(size)[-entries:], rng.choice(large, entries)])
        directions = [(np.arange(w.size) == k).reshape(w.shape) for k in picked]
        directions.append(rng.standard_normal(w.shape))         # all entries at once
        worst = 0.0
        for d in directions:                       # a few dozen loss evaluations
            plus = [v + eps * d if j == i else v for j, v in enumerate(weights)]
            minus = [v - eps * d if j == i else v for j, v in enumerate(weights)]
            numeric = (loss(plus) - loss(minus)) / (2 * eps)
            analytic = np.sum(dw * d)
            scale = abs(numeric) + abs(analytic)
            worst = max(worst, abs(numeric - analytic) / scale if scale > 1e-12 else 0.0)
        relative_errors.append(worst)
    return relative_errors


def check_gradients(x, y, weights, log=print):
    """Print the relative error of each w_i's gradient (gradient_errors), as
    `w1: relative error 3.1e-09  ok`; raise GradientError if one is above
    GRADIENT_TOLERANCE."""
    log(f"Checking backpropagation against centred finite differences of the loss, on "
        f"{len(x)} training examples, in float64:")
    relative_errors = gradient_errors(x, y, weights)
    for name, relative in zip(WEIGHT_SHAPES, relative_errors):
        verdict = ("ok" if relative <= GRADIENT_TOLERANCE
                   else f"WRONG (> {GRADIENT_TOLERANCE})")
        log(f"  {name}: relative error {relative:.1e}  {verdict}")
    wrong = [name for name, relative in zip(WEIGHT_SHAPES, relative_errors)
             if relative > GRADIENT_TOLERANCE]
    if wrong:
        raise GradientError(f"backpropagation does not give the gradient of the loss for "
                            f"{', '.join(wrong)}: check its equations (Task 16)")


class GradientError(ArithmeticError):
    """backpropagation does not match the finite differences of the loss."""


# ---- Beyond the TP: the command line ---------------------------------------------------

def batch_size_type(text):
    """argparse type of --batch-size: a positive integer, or 'all' (the whole set)."""
    if text.lower() == "all":
        return "all"
    try:
        return argument_type(int, 1)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer >= 1, nor 'all'") \
            from None


def max_loss_type(text):
    """argparse type of --max-loss: a number > 0, or 'inf' (only non-finite values)."""
    return math.inf if text.lower() in ("inf", "infinity") else argument_type(
        float, 0, strict=True)(text)


def parse_arguments(argv=None):
    """The options of the batched script (argparse exits with status 2 on a bad one)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=argument_type(int, 0), default=30, metavar="N",
                        help="passes over the training set; 0 only evaluates the weights "
                             "given by --load (default: %(default)s)")
    parser.add_argument("--lr", type=argument_type(float, 0, strict=True),
                        default=DEFAULT_LR, help="learning rate λ of w_i <- w_i - λ δw_i "
                                                 "(default: %(default)s)")
    parser.add_argument("--batch-size", type=batch_size_type, default=DEFAULT_BATCH_SIZE,
                        metavar="B", help="examples per batch, or 'all' for the whole "
                        "training set as one batch, Task 17 (default: %(default)s)")
    parser.add_argument("--seed", type=argument_type(int, 0), default=0, metavar="S",
                        help="seed of the generator that draws the weights, the validation "
                             "split and the order of the examples (default: 0)")
    parser.add_argument("--no-shuffle", dest="shuffle", action="store_false",
                        help="keep the training set's order instead of drawing a new one "
                             "every epoch (which is what happens without this option)")
    parser.add_argument("--train-size", type=argument_type(int, 1), metavar="N",
                        help="train on the first N training examples only (default: all)")
    parser.add_argument("--validation", type=argument_type(int, 1), metavar="N",
                        help="hold out N training examples (drawn with --seed) and report "
                             "their error after every epoch (default: none)")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, metavar="DIR",
                        help="directory of the four MNIST idx files, raw or .gz (default: "
                             "data/ next to this script)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="type of inputs, weights and activations (default: float32)")
    parser.add_argument("--max-loss", type=max_loss_type, default=MAX_LOSS, metavar="L",
                        help="stop, as diverged, when an epoch's mean training loss "
                             "exceeds L ('inf': only on non-finite values) (default: "
                             "5 ln 10 = %(default).4g)")
    parser.add_argument("--load", type=Path, metavar="PATH",
                        help="start from the weights saved in this .npz file")
    parser.add_argument("--save", type=Path, metavar="PATH",
                        help="save the trained weights (and the options) in this .npz file")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="write the options, every epoch's figures and the result to "
                             "this JSON file")
    parser.add_argument("--plots", type=Path, metavar="DIR",
                        help="write the learning curves, the confusion matrix, "
                             "misclassified digits, the columns of w1 and the hidden "
                             "activations per digit as PNG files in DIR")
    parser.add_argument("--predict", nargs="+", type=Path, metavar="IMAGE",
                        help="with --load: print the digit read in each image and its ten "
                             "probabilities, and nothing else")
    parser.add_argument("--draw", action="store_true",
                        help="with --load: open a window where you draw a digit with the "
                             "mouse and watch the network read it (needs a display)")
    parser.add_argument("--check-gradients", action="store_true",
                        help="before training, compare backpropagation with finite "
                             "differences of the loss; stop if they disagree")
    args = parser.parse_args(argv)
    if args.load is None and args.predict:
        parser.error("--predict needs --load (the weights of a trained network)")
    if args.load is None and args.draw:
        parser.error("--draw needs --load (the weights of a trained network)")
    if args.predict and args.draw:
        parser.error("--predict and --draw are two ways to read digits: choose one")
    if args.load is None and args.epochs == 0:
        parser.error("--epochs 0 (evaluation only) needs --load (the weights to evaluate)")
    return args


def load_data(data_dir=DATA_DIR, train_size=None, dtype=np.float32):
    """Tasks 1, 3, 4: (x_train, y_train, x_test, y_test) ready for the network: inputs
    (N, 784) in [0, 1] and one-hot outputs (N, 10) of `dtype`; `train_size` keeps only
    the first examples of the training set."""
    x_train, y_train, x_test, y_test = load_mnist(data_dir)
    if train_size is not None and train_size > len(x_train):
        raise DataError(f"--train-size {train_size} is larger than the {len(x_train)} "
                        f"training examples of {data_dir}.")
    # Rebinding each name frees its uint8 images before the next set is converted.
    x_train = preprocess_inputs(x_train[:train_size], dtype)
    x_test = preprocess_inputs(x_test, dtype)
    return (x_train, preprocess_outputs(y_train[:train_size], dtype),
            x_test, preprocess_outputs(y_test, dtype))


def split_validation(x, y, n, rng):
    """Hold out n random examples: returns (x_train, y_train), (x_val, y_val)."""
    if n >= len(x):
        raise DataError(f"--validation {n} leaves no training example (the training set "
                        f"has {len(x)}).")
    order = rng.permutation(len(x))
    held, kept = np.sort(order[:n]), np.sort(order[n:])
    return (x[kept], y[kept]), (x[held], y[held])


def train_from_arguments(args):
    """Load the data, build or load the network, train it, write what the options ask
    and print the final line. Returns the exit status: 0, or 130 after Ctrl-C."""
    outputs = {"--json": args.json, "--save": args.save,
               "--plots": args.plots and args.plots / "learning_curves.png"}
    for option, path in outputs.items():                   # before any training
        if path is not None:
            check_writable(path, f"{option} {getattr(args, option[2:])}")
    dtype = np.dtype(args.dtype)
    rng = np.random.default_rng(args.seed)
    loaded = load_weights(args.load, dtype)[0] if args.load is not None else None  # first
    x_train, y_train, x_test, y_test = load_data(args.data_dir, args.train_size, dtype)
    validation = None
    if args.validation is not None:
        (x_train, y_train), validation = split_validation(x_train, y_train,
                                                          args.validation, rng)
    weights = loaded if loaded is not None else init_weights(rng, dtype)
    if args.check_gradients:          # on 10 training examples; `rng` is left untouched
        sample = np.random.default_rng(args.seed).choice(
            len(x_train), min(10, len(x_train)), replace=False)
        check_gradients(x_train[sample], y_train[sample], weights)
    start = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):     # Monitor catches non-finite
        history = train(x_train, y_train, x_test, y_test, weights, args.epochs, args.lr,
                        None if args.batch_size == "all" else args.batch_size, rng,
                        args.shuffle, validation, args.max_loss)
    seconds = time.perf_counter() - start
    interrupted = bool(history) and "interrupted_after_examples" in history[-1]
    # the last epoch was evaluated after its last update; --epochs 0 only evaluates
    error_rate = history[-1]["test_error"] if history else compute_error(x_test, y_test,
                                                                          weights)
    wrong = round(error_rate * len(x_test))
    config = json.loads(json.dumps(vars(args), default=str))      # Path -> str
    if args.save is not None:
        save_weights(args.save, weights, config)
        print(f"Weights saved to {args.save}")
    if args.plots is not None:
        print("Figures written:", *save_plots(args.plots, history, x_test, y_test, weights))
    if args.json is not None:
        write_json(args.json, {"script": "mnist_ffnn_batched.py", "config": config,
                               "epochs": history, "interrupted": interrupted,
                               "result": {"test_error": error_rate, "misclassified": wrong,
                                          "n_test": len(x_test), "seconds": seconds}})
        print(f"Results written to {args.json}")
    print(f"Test error: {100 * error_rate:.2f}% ({wrong}/{len(x_test)} misclassified)")
    return 130 if interrupted else 0


def describe(exc):
    """An error as one sentence: an OSError names its file and says what is wrong."""
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror}."
    return str(exc)


def main(argv=None):
    """The command line. Returns the exit status: 0; 1 after bad input or a diverged
    run, told in one sentence; 130 after Ctrl-C (argparse exits with 2 on bad options)."""
    args = parse_arguments(argv)
    try:
        if args.predict:
            return predict_images(args.predict, load_weights(args.load)[0])
        if args.draw:
            draw_digits(load_weights(args.load)[0])
            return 0
        return train_from_arguments(args)
    except BrokenPipeError:                  # e.g. `... | head -1`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (DataError, Diverged, GradientError, DisplayError, OSError) as exc:
        print(f"error: {describe(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
