"""mnist_ffnn.py -- TP 4-6, Tasks 1 to 15: a 784-128-64-10 network in pure NumPy,
trained one example at a time.

The network of the TP (Figure 2): two sigmoid hidden layers of 128 and 64 neurons, a
softmax output layer of 10 neurons, no biases, weights drawn from N(0, 1) and scaled by
1/sqrt(n). Notation follows the TP: a_i are activations (a_0 is the input), z_i the
weighted sums, e_i the errors propagated backward, dw_i (the TP's δw_i) the weight changes.

    z_1 = a_0 . w_1   a_1 = S(z_1)        e_3 = a_3 - y                   dw_3 = a_2^T . e_3
    z_2 = a_1 . w_2   a_2 = S(z_2)        e_2 = (e_3 . w_3^T) * S'(z_2)   dw_2 = a_1^T . e_2
    z_3 = a_2 . w_3   a_3 = softmax(z_3)  e_1 = (e_2 . w_2^T) * S'(z_1)   dw_1 = a_0^T . e_1

Every computation is a NumPy array operation; the only Python loops are the training
loops (epochs, and the examples of one epoch). The batched version of Tasks 16-18 is
`mnist_ffnn_batched.py`, which imports from here everything that does not change.

Beyond the TP, in their own sections after the tasks: the training loss and the
divergence and Ctrl-C checks (Monitor), saving and loading weights, figures, and the
command line that both scripts share.

Left out on purpose (as in the TP): biases, regularisation, momentum, any other
optimiser than plain gradient descent.

Run `python mnist_ffnn.py --help` for the command line. Importing this module loads no
data and trains nothing.
"""

import argparse
import gzip
import json
import os
import signal

if __name__ == "__main__":
    # One BLAS thread unless told otherwise: the products of one example (or of a small
    # batch) are too small to share, and a second thread makes them slower. Must be set
    # before NumPy loads. Importing this module changes nothing.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"


class DataError(ValueError):
    """A data file or directory is unusable; the message is one sentence naming it."""


# ---------------------------------------------------------------------------------------
# Task 1: reading MNIST files
# ---------------------------------------------------------------------------------------

# idx type code -> dtype of the payload (multi-byte types are big-endian in the file).
IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
             0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(filepath):
    """Return the ndarray stored in the idx file `filepath` (raw, or gzip-compressed).

    An idx file is a 4-byte magic number (two zero bytes, a type code, the number of
    dimensions d), d big-endian uint32 dimensions, then the values in C order.
    The result has the file's shape and a native-endian dtype, and is writable.
    The values are read straight into the result's memory (no intermediate copy of a
    uint8 file; multi-byte types are then converted to native byte order).
    Raises DataError (one sentence naming the file) for anything that is not a
    well-formed idx file, and OSError if the file cannot be read.
    """
    path = Path(filepath)
    with open(path, "rb") as raw:
        is_gzip = raw.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open if is_gzip else open)(path, "rb") as f:
            return _read_idx_stream(f, path)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: corrupt gzip file ({exc}).") from None


def _read_idx_stream(f, path):
    """read_idx's work on the open (decompressed) binary stream f of the file `path`."""
    magic = f.read(4)
    if len(magic) < 4:
        raise DataError(f"{path}: not an idx file ({len(magic)} bytes, shorter than "
                        "the 4-byte magic number).")
    if magic[0] != 0 or magic[1] != 0:
        raise DataError(f"{path}: not an idx file (its magic number does not start "
                        "with two zero bytes).")
    code, ndim = magic[2], magic[3]
    if code not in IDX_TYPES:
        raise DataError(f"{path}: unknown idx type code 0x{code:02X} (known: "
                        "0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E).")
    dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{path}: truncated idx header ({ndim} dimensions announced, "
                        f"{len(dims)} bytes of them present).")
    shape = tuple(np.frombuffer(dims, ">u4").tolist())
    values = np.empty(shape, IDX_TYPES[code])
    announced = values.nbytes
    read = f.readinto(memoryview(values).cast("B")) if announced else 0
    if read < announced:
        raise DataError(f"{path}: truncated idx payload (the header announces shape "
                        f"{shape}, i.e. {announced} bytes; the file has {read}).")
    extra = len(f.read(1 << 20))
    if extra:
        raise DataError(f"{path}: oversized idx payload (the header announces shape "
                        f"{shape}, i.e. {announced} bytes; {extra} more bytes follow).")
    return values.astype(values.dtype.newbyteorder("="), copy=False)  # native order


# Each MNIST set under its standard name and under the name the TP uses.
MNIST_FILES = {
    "x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "y_train": ("train-labels-idx1-ubyte", "train-labels.idx3-ubyte"),
    "x_test": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "y_test": ("t10k-labels-idx1-ubyte", "t10k-labels.idx3-ubyte"),
}


def find_idx_file(data_dir, names):
    """Return the first of `names` (each raw or .gz) that exists in `data_dir`."""
    candidates = [Path(data_dir) / (name + ext) for name in names for ext in ("", ".gz")]
    found = next((path for path in candidates if path.is_file()), None)
    if found is None:
        raise DataError(f"no file {' or '.join(p.name for p in candidates)} "
                        f"in {data_dir}.")
    return found


def load_mnist(data_dir=DATA_DIR):
    """Task 1: read the four MNIST files of `data_dir` and check they fit together.

    Returns x_train (N, 28, 28) uint8, y_train (N,) uint8, x_test (M, 28, 28) uint8,
    y_test (M,) uint8. Any MNIST-format set (Fashion-MNIST, KMNIST) works the same way.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"data directory {data_dir} does not exist.")
    paths = {key: find_idx_file(data_dir, names) for key, names in MNIST_FILES.items()}
    arrays = {key: read_idx(path) for key, path in paths.items()}
    for images, labels in (("x_train", "y_train"), ("x_test", "y_test")):
        x, y = arrays[images], arrays[labels]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataError(f"{paths[images]}: images must have shape (N, 28, 28), "
                            f"found {x.shape}.")
        if y.ndim != 1 or len(y) != len(x):
            raise DataError(f"{paths[labels]}: {y.shape} labels do not match the "
                            f"{len(x)} images of {paths[images].name}.")
        if len(y) and (y.min() < 0 or y.max() > 9):
            raise DataError(f"{paths[labels]}: labels must be digits 0-9, found "
                            f"values from {y.min()} to {y.max()}.")
    return arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"]


# ---------------------------------------------------------------------------------------
# Tasks 3-4: preprocessing
# ---------------------------------------------------------------------------------------

def preprocess_inputs(images, dtype=np.float32):
    """Task 3: images (N, 28, 28) uint8 -> FFNN inputs (N, 784) in [0, 1], of `dtype`.

    The division is done by one ufunc call in `dtype`, so no float64 temporary of the
    whole set is ever made (it would be 376 MB for the training set).
    """
    return np.divide(images.reshape(len(images), -1), 255, dtype=dtype)


def preprocess_outputs(labels, dtype=np.float32):
    """Task 4: digit labels (N,) -> one-hot expected outputs (N, 10) of `dtype`."""
    one_hot = np.zeros((len(labels), 10), dtype=dtype)
    one_hot[np.arange(len(labels)), labels] = 1     # fancy indexing on both axes
    return one_hot


# ---------------------------------------------------------------------------------------
# Tasks 5-7: the FFNN components
# ---------------------------------------------------------------------------------------

def layer_weights(m, n, rng=None, dtype=np.float32):
    """Task 5: weights (m, n) between a layer of m neurons and one of n, ~ N(0, 1)/sqrt(n).

    `rng` is a np.random.Generator (a fresh unseeded one if None). The values are drawn
    in float64 and then cast, so one seed gives the same network in float32 and float64.
    """
    rng = np.random.default_rng() if rng is None else rng
    return (rng.standard_normal((m, n)) / np.sqrt(n)).astype(dtype)


def init_weights(rng=None, dtype=np.float32):
    """Task 6: the three weight matrices [w1 (784, 128), w2 (128, 64), w3 (64, 10)]."""
    rng = np.random.default_rng() if rng is None else rng
    w1 = layer_weights(784, 128, rng, dtype)
    w2 = layer_weights(128, 64, rng, dtype)
    w3 = layer_weights(64, 10, rng, dtype)
    return [w1, w2, w3]


def sigmoid(x):
    """Task 7: S(x) = 1 / (1 + e^-x), element-wise on any array.

    The literal formula overflows e^-x to inf (with a warning) for x < -709 (x < -88 in
    float32). We use the same value written as e^min(x, 0) / (1 + e^-|x|): for x >= 0
    it is the TP's formula, for x < 0 it is the formula multiplied above and below by
    e^x; both exponentials are at most 1, so nothing can overflow.
    """
    return np.exp(np.minimum(x, 0)) / (1 + np.exp(-np.abs(x)))


def sigmoid_prime(x):
    """Task 7: S'(x) = e^-x / (e^-x + 1)^2, element-wise on any array.

    The TP's formula overflows to inf/inf = nan for x < -709 (x < -88 in float32).
    S' is even (S'(-x) = S'(x)), so we evaluate the same formula at -|x|, where the
    exponential is at most 1: finite and warning-free for every finite x.
    """
    e = np.exp(-np.abs(x))
    return e / (1 + e) ** 2


def softmax(z):
    """Task 7: σ(z)_i = e^(z_i - X) / sum_j e^(z_j - X), where X = max_j z_j.

    z is one vector (10,) or, as the batched script uses it, a stack of vectors
    (B, 10): max and sum run over the last axis, so each row is normalised on its own.
    Subtracting X changes nothing mathematically and keeps e^(...) <= 1 (no overflow).
    """
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


# ---------------------------------------------------------------------------------------
# Tasks 8-11: feed-forward pass, backpropagation, update
# ---------------------------------------------------------------------------------------

def forward_pass(a0, weights):
    """Tasks 8 and 10: push the input a0 (784,) through the network.

    Returns (activations, zs): activations = [a0 (784,), a1 (128,), a2 (64,), a3 (10,)],
    zs = [z1 (128,), z2 (64,), z3 (10,)]; the output is activations[-1], a probability
    distribution over the ten digits. Because `@` treats any leading axis as a stack,
    the same code pushes a whole batch a0 (B, 784) at once (each array gains axis B).
    """
    w1, w2, w3 = weights
    z1 = a0 @ w1                  # (784,) . (784, 128) -> (128,)
    a1 = sigmoid(z1)
    z2 = a1 @ w2                  # (128,) . (128, 64) -> (64,)
    a2 = sigmoid(z2)
    z3 = a2 @ w3                  # (64,) . (64, 10) -> (10,)
    a3 = softmax(z3)
    return [a0, a1, a2, a3], [z1, z2, z3]


def errors(activations, zs, y, weights):
    """The error values [e1 (128,), e2 (64,), e3 (10,)] of backpropagation for target y.

    e3 = a3 - y is the gradient of the cross-entropy -sum(y log a3) with respect to z3
    (softmax and cross-entropy together). Like forward_pass, this also holds for a
    batch: y (B, 10) gives e_i of shape (B, n_i).
    """
    _, w2, w3 = weights
    z1, z2, _ = zs
    e3 = activations[3] - y                          # (10,)
    e2 = (e3 @ w3.T) * sigmoid_prime(z2)             # (10,) . (10, 64) -> (64,)
    e1 = (e2 @ w2.T) * sigmoid_prime(z1)             # (64,) . (64, 128) -> (128,)
    return [e1, e2, e3]


def backpropagation(activations, zs, y, weights):
    """Task 10: the weight changes [dw1 (784, 128), dw2 (128, 64), dw3 (64, 10)].

    For one example, a_{i-1}^T . e_i is the product of a column (n_{i-1}, 1) by a row
    (1, n_i): the outer product of the two vectors.
    """
    e1, e2, e3 = errors(activations, zs, y, weights)
    a0, a1, a2, _ = activations
    return [np.outer(a0, e1), np.outer(a1, e2), np.outer(a2, e3)]


def update_weights(weights, deltas, lr):
    """Task 11: w_i <- w_i - lr * dw_i for i = 1, 2, 3, in place. Returns `weights`."""
    w1, w2, w3 = weights
    dw1, dw2, dw3 = deltas
    w1 -= lr * dw1
    w2 -= lr * dw2
    w3 -= lr * dw3
    return weights


# ---------------------------------------------------------------------------------------
# Task 12: evaluation (and the loss, beyond the TP)
# ---------------------------------------------------------------------------------------

def predictions(x, weights):
    """The predicted digit (N,) of each input of x (N, 784): the argmax of its output.
    The whole set goes through forward_pass at once (no loop over examples)."""
    return np.argmax(forward_pass(x, weights)[0][-1], axis=-1)


def compute_error(x, y, weights):
    """Task 12: the error rate (a float in [0, 1]) of the network on inputs x (N, 784)
    with one-hot expected outputs y (N, 10): the mean of the Boolean array
    "predicted digit differs from expected digit"."""
    return float(np.mean(predictions(x, weights) != np.argmax(y, axis=-1)))


def cross_entropy(z3, y):
    """The loss that backpropagation descends: -sum y log softmax(z3), summed over the
    rows of z3 (10,) or (B, 10). Computed from z3 (log-sum-exp), so that an output
    probability that rounds to 0 gives a large finite loss, not inf."""
    top = np.max(z3, axis=-1, keepdims=True)
    log_sum = np.log(np.sum(np.exp(z3 - top), axis=-1, keepdims=True)) + top
    return float(np.sum(y * (log_sum - z3)))


# ---------------------------------------------------------------------------------------
# Tasks 14-15: training, one example at a time
# ---------------------------------------------------------------------------------------

class Diverged(ArithmeticError):
    """Training produced a non-finite loss or non-finite weights."""


MAX_LOSS = 5 * np.log(10)    # a mean loss above this means training diverged


class Monitor:
    """The bookkeeping of a training loop, shared by both scripts: the training loss,
    the divergence check, the stop request (Ctrl-C) and the line and record of each
    epoch. Its `history` is the list of the epochs' records (dicts)."""

    def __init__(self, n_train, epochs, x_test, y_test, validation=None, log=print,
                 should_stop=None, max_loss=MAX_LOSS):
        self.epochs, self.test, self.validation = epochs, (x_test, y_test), validation
        self.log, self.should_stop = log, should_stop or (lambda: False)
        self.max_loss, self.history, self.stopped = max_loss, [], False
        # z3 and y of each example of the current epoch, (n_train, 10) each
        self.outputs = np.empty((n_train, 10), x_test.dtype)
        self.targets = np.empty((n_train, 10), y_test.dtype)
        self.seen = 0

    def step(self, z3, y):
        """After one update: keep its z3 and y, (10,) or (B, 10), for the epoch's loss
        (computed at the end of the epoch in one vectorized call); True if training
        must stop now."""
        end = self.seen + (len(y) if np.ndim(y) == 2 else 1)
        self.outputs[self.seen:end] = z3
        self.targets[self.seen:end] = y
        self.seen = end
        self.stopped = self.should_stop()
        return self.stopped

    def end_epoch(self, seconds, weights):
        """Evaluate, print the epoch's line and append its record to `history`.
        Returns True if training must stop (Ctrl-C).

        The training loss is the mean cross-entropy of the epoch's examples, each taken
        when its batch was processed. Raises Diverged if the loss or the weights are
        not finite, or if the loss is above max_loss (by default 5 times ln 10 = 2.30,
        the loss of a network that answers 1/10 for every digit: a network that learns
        never gets there)."""
        seen, self.seen = self.seen, 0
        epoch = len(self.history) + 1
        loss = cross_entropy(self.outputs[:seen], self.targets[:seen]) / max(seen, 1)
        w1, w2, w3 = weights
        if not (np.isfinite(loss) and np.isfinite(w1).all() and np.isfinite(w2).all()
                and np.isfinite(w3).all()):
            raise Diverged(f"training diverged in epoch {epoch}: the loss became {loss} "
                           "and the weights are no longer all finite; use a smaller "
                           "learning rate")
        if loss > self.max_loss:
            raise Diverged(f"training diverged in epoch {epoch}: its mean loss {loss:.4g} "
                           f"is above --max-loss {self.max_loss:.4g} (random guessing "
                           f"gives {np.log(10):.2f}); use a smaller learning rate")
        record = {"epoch": epoch, "train_loss": loss,
                  "test_error": compute_error(*self.test, weights), "seconds": seconds}
        line = (f"Epoch {epoch:>{len(str(self.epochs))}}/{self.epochs}  "
                f"loss {loss:.4f}  test error {100 * record['test_error']:5.2f}%")
        if self.validation is not None:
            record["validation_error"] = compute_error(*self.validation, weights)
            line += f"  validation error {100 * record['validation_error']:5.2f}%"
        if self.stopped:
            record["interrupted_after_examples"] = seen
            line += f"  (interrupted after {seen} examples)"
        self.log(f"{line}  ({seconds:.2f} s)")
        self.history.append(record)
        return self.stopped


def train(x_train, y_train, x_test, y_test, weights, epochs=30, lr=0.001, log=print,
          progress=None, validation=None, should_stop=None, max_loss=MAX_LOSS):
    """Task 14: train `weights` in place by gradient descent, one example at a time.

    x_train (N, 784) and y_train (N, 10) are the training inputs and one-hot outputs,
    x_test and y_test the set evaluated after each epoch. Each example of an epoch goes
    through forward_pass, backpropagation and update_weights with learning rate `lr`
    (restricted to the input's non-zero pixels: see the comment in the loop).
    Beyond the TP: `validation` = (x, y) is also evaluated after each epoch;
    `should_stop()` is asked after each example (Ctrl-C); `progress(i, n)` is called
    every 1000 examples; `log` prints each epoch's line. Raises Diverged if the loss
    stops being finite, or if an epoch's mean loss exceeds `max_loss`.
    Returns the list of the epochs' records.
    """
    monitor = Monitor(len(x_train), epochs, x_test, y_test, validation, log, should_stop,
                      max_loss)
    w1, w2, w3 = weights
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        for i in range(len(x_train)):                      # the per-example loop
            # Speed-up, same result: a pixel of a0 that is 0 adds nothing to z1 = a0 . w1,
            # and its row of dw1 = a0^T . e1 is all zeros, so its row of w1 is neither
            # used nor changed. 80.9 % of the training pixels are 0: we run the TP's three
            # steps on the sub-network of the active pixels only, whose w1 is the rows
            # w1[active] (a copy), and then write those rows back.
            active = np.flatnonzero(x_train[i])
            sub = [w1[active], w2, w3]
            activations, zs = forward_pass(x_train[i, active], sub)
            deltas = backpropagation(activations, zs, y_train[i], sub)
            update_weights(sub, deltas, lr)          # w2, w3 in place, and w1's copied rows
            w1[active] = sub[0]
            if progress is not None and i % 1000 == 0:
                progress(i, len(x_train))
            if monitor.step(zs[-1], y_train[i]):
                break
        if monitor.end_epoch(time.perf_counter() - start, weights):      # Ctrl-C
            break
    return monitor.history


# ---------------------------------------------------------------------------------------
# Beyond the TP: saving and loading weights, files written atomically
# ---------------------------------------------------------------------------------------

WEIGHT_SHAPES = {"w1": (784, 128), "w2": (128, 64), "w3": (64, 10)}


def atomic_write(path, write):
    """Call write(file) on a temporary file next to `path`, then rename it to `path`:
    an interrupted write never leaves a half-written file, nor spoils the old one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)        # mkstemp makes 0600; give open()'s mode
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_json(path, obj):
    """Write `obj` as JSON to `path` atomically."""
    atomic_write(path, lambda f: f.write((json.dumps(obj, indent=2) + "\n").encode()))


def save_weights(path, weights, config):
    """Save [w1, w2, w3] and the `config` (a dict, stored as JSON text) in an .npz."""
    arrays = dict(zip(WEIGHT_SHAPES, weights), config=np.array(json.dumps(config)))
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_weights(path, dtype=None):
    """Load [w1, w2, w3] saved by save_weights, checking names, shapes and values.

    Never unpickles. Returns (weights, config); the weights are cast to `dtype` if
    given. Raises DataError (one sentence naming the file) for anything else.
    """
    try:
        archive = np.load(path, allow_pickle=False)
        if not hasattr(archive, "files"):                  # a single .npy array
            raise DataError(f"{path}: not an .npz archive of weights.")
        with archive:
            missing = sorted(set(WEIGHT_SHAPES) - set(archive.files))
            if missing:
                raise DataError(f"{path}: not a weights file saved by --save (no "
                                f"{', '.join(missing)} in it).")
            weights = [archive[name] for name in WEIGHT_SHAPES]
            config = json.loads(str(archive["config"])) if "config" in archive.files else {}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path}: cannot be read as saved weights ({exc}).") from None
    for (name, shape), w in zip(WEIGHT_SHAPES.items(), weights):
        if w.shape != shape or w.dtype.kind != "f":
            raise DataError(f"{path}: {name} is {w.dtype} {w.shape}, expected a float "
                            f"array of shape {shape}.")
        if not np.all(np.isfinite(w)):
            raise DataError(f"{path}: {name} holds non-finite values.")
    return [w.astype(dtype or w.dtype) for w in weights], config


# ---------------------------------------------------------------------------------------
# Beyond the TP: figures (matplotlib is imported only when a figure is made)
# ---------------------------------------------------------------------------------------

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
    loss_axes.set(title="Training loss (running mean over each epoch)", xlabel="epoch",
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


def save_plots(directory, history, x_test, y_test, weights):
    """Write learning_curves.png, confusion_matrix.png, misclassified.png in
    `directory`; return their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    labels, predicted = np.argmax(y_test, axis=-1), predictions(x_test, weights)
    paths = [directory / name for name in
             ("learning_curves.png", "confusion_matrix.png", "misclassified.png")]
    plot_learning_curves(history, paths[0])
    plot_confusion_matrix(labels, predicted, paths[1])
    plot_misclassified(x_test, labels, predicted, paths[2])
    return paths


# ---------------------------------------------------------------------------------------
# Command line (shared with mnist_ffnn_batched.py)
# ---------------------------------------------------------------------------------------

def _number(kind, low, high=None, low_inclusive=True):
    """An argparse type: a `kind` (int or float) in [low, high] (or (low, high])."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind.__name__}") from None
        too_low = value < low if low_inclusive else value <= low
        if np.isnan(value) or too_low or (high is not None and value > high):
            bound = f"{'>=' if low_inclusive else '>'} {low}"
            bound += f" and <= {high}" if high is not None else ""
            raise argparse.ArgumentTypeError(f"{text} is out of range (must be {bound})")
        return value
    return parse


def build_parser(description, epochs, lr):
    """The command-line options common to both scripts, with the given defaults."""
    parser = argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=_number(int, 0), default=epochs,
                        help="number of passes over the training set (0: only evaluate "
                             "the weights given by --load)")
    parser.add_argument("--lr", type=_number(float, 0, low_inclusive=False), default=lr,
                        help="learning rate λ of w_i <- w_i - λ·δw_i")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random generator (weights, validation split, "
                             "shuffling)")
    parser.add_argument("--train-size", type=_number(int, 1, 60000), default=None,
                        help="train on the first N training examples only "
                             "(default: all of them)")
    parser.add_argument("--validation", type=_number(int, 1, 59999), default=None,
                        metavar="N", help="hold out N training examples (drawn with "
                                          "--seed) and report their error every epoch")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR,
                        help="directory holding the four MNIST idx files (raw or .gz)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="floating-point type of inputs, weights and activations")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="write the configuration, every epoch's figures and the "
                             "result to this JSON file")
    parser.add_argument("--save", type=Path, default=None, metavar="PATH",
                        help="save the trained weights (and this configuration) in this "
                             ".npz file")
    parser.add_argument("--load", type=Path, default=None, metavar="PATH",
                        help="start from the weights saved in this .npz file")
    parser.add_argument("--max-loss", type=_number(float, 0, low_inclusive=False),
                        default=MAX_LOSS, help="stop, as diverged, when an epoch's mean "
                        "training loss exceeds this ('inf': only on non-finite values) "
                        "(default: 5 ln 10 = %(default).4g)")
    parser.add_argument("--plots", type=Path, default=None, metavar="DIR",
                        help="write learning curves, the confusion matrix and a gallery "
                             "of misclassified digits as PNG files in DIR")
    return parser


def check_arguments(parser, args):
    """Refuse, through the parser, combinations of options that cannot work, and make
    sure now, before training, that the output files can be written (their directory
    is created if missing)."""
    if args.epochs == 0 and args.load is None:
        parser.error("--epochs 0 (evaluation only) needs --load")
    if args.validation is not None and args.validation >= (args.train_size or 60000):
        parser.error(f"--validation {args.validation} leaves no training example")
    for path in (args.json, args.save, args.plots and args.plots / "learning_curves.png"):
        if path is None:
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            parser.error(f"cannot write {path}: cannot create the directory "
                         f"{path.parent} ({exc.strerror})")
        if not os.access(path.parent, os.W_OK):
            parser.error(f"cannot write {path}: its directory is not writable")


def load_data(data_dir, train_size=None, dtype=np.float32):
    """Tasks 1, 3, 4: (x_train, y_train, x_test, y_test) ready for the network.

    Inputs are (N, 784) in [0, 1], outputs one-hot (N, 10), both of `dtype`;
    `train_size` keeps only the first examples of the training set.
    """
    x_train, y_train, x_test, y_test = load_mnist(data_dir)
    if train_size is not None and train_size > len(x_train):
        raise DataError(f"--train-size {train_size} is larger than the "
                        f"{len(x_train)} training examples in {data_dir}.")
    # Rebinding each name frees its uint8 images before the next set is converted.
    x_train = preprocess_inputs(x_train[:train_size], dtype)
    x_test = preprocess_inputs(x_test, dtype)
    return (x_train, preprocess_outputs(y_train[:train_size], dtype),
            x_test, preprocess_outputs(y_test, dtype))


def split_validation(x, y, n, rng):
    """Hold out n random examples: returns (x_train, y_train), (x_val, y_val)."""
    order = rng.permutation(len(x))
    held, kept = np.sort(order[:n]), np.sort(order[n:])
    return (x[kept], y[kept]), (x[held], y[held])


class StopOnInterrupt:
    """Context manager: the first Ctrl-C asks training to stop after the current batch
    (`requested` becomes True); a second one interrupts at once."""

    def __enter__(self):
        self.requested = False
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nInterrupted: stopping after the current batch (Ctrl-C again to quit at "
              "once).", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self._previous)


def run(args, train_function, script):
    """Load the data, build or load the network, call
    `train_function(x_train, y_train, x_test, y_test, weights, rng, validation,
    should_stop)`, print the final line, and write --save, --plots and --json.
    Returns the exit status: 0, or 130 if training was interrupted by Ctrl-C."""
    dtype = np.dtype(args.dtype)
    rng = np.random.default_rng(args.seed)
    x_train, y_train, x_test, y_test = load_data(args.data_dir, args.train_size, dtype)
    validation = None
    if args.validation is not None:
        (x_train, y_train), validation = split_validation(x_train, y_train,
                                                          args.validation, rng)
    weights = (load_weights(args.load, dtype)[0] if args.load is not None
               else init_weights(rng, dtype))
    config = json.loads(json.dumps(vars(args), default=str))     # Path -> str
    start = time.perf_counter()
    # Non-finite values are caught by Monitor (Diverged), so NumPy need not warn of them.
    with StopOnInterrupt() as interrupt, np.errstate(over="ignore", invalid="ignore"):
        history = train_function(x_train, y_train, x_test, y_test, weights, rng=rng,
                                 validation=validation,
                                 should_stop=lambda: interrupt.requested)
    error = compute_error(x_test, y_test, weights)
    wrong = round(error * len(x_test))
    if args.save is not None:
        save_weights(args.save, weights, config)
        print(f"Weights saved to {args.save}")
    if args.plots is not None:
        print("Figures written:", *save_plots(args.plots, history, x_test, y_test, weights))
    if args.json is not None:
        write_json(args.json, {"script": script, "config": config, "epochs": history,
                               "interrupted": interrupt.requested,
                               "result": {"test_error": error, "misclassified": wrong,
                                          "n_test": len(x_test),
                                          "seconds": time.perf_counter() - start}})
    print(f"Test error: {100 * error:.2f}% ({wrong}/{len(x_test)} misclassified)")
    return 130 if interrupt.requested else 0


def cli(main):
    """Run main() with the command line's errors as one sentence and a non-zero exit."""
    try:
        sys.exit(main())
    except BrokenPipeError:                  # e.g. `... | head -1`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except (DataError, Diverged, OSError) as exc:
        message = f"{exc.filename}: {exc.strerror}." if (
            isinstance(exc, OSError) and exc.filename) else str(exc)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        sys.exit(130)


def terminal_progress(i, n):
    """Show how far the current epoch is, on one rewritten line of the terminal."""
    print(f"\r  {i}/{n} examples", end="\r", flush=True)


def main(argv=None):
    """Command line of the per-example script (Task 15)."""
    parser = build_parser(__doc__.split("\n\n")[0], epochs=30, lr=0.001)
    args = parser.parse_args(argv)
    check_arguments(parser, args)
    progress = terminal_progress if sys.stdout.isatty() else None
    return run(args, lambda *data, rng, validation, should_stop: train(
        *data, epochs=args.epochs, lr=args.lr, progress=progress, validation=validation,
        should_stop=should_stop, max_loss=args.max_loss), "mnist_ffnn.py")


if __name__ == "__main__":
    cli(main)
