"""mnist_ffnn_batched.py -- TP 4-6, Tasks 16 to 18: the same network, trained on batches
of examples pushed through it at once.

Task 16 adds a batch axis B in front of every array: inputs a0 (B, 784), expected
outputs y (B, 10), activations a_i and error values e_i (B, n_i); the weights keep their
shapes. Reading and preprocessing the data, the weights, forward_pass, update_weights
and compute_error are imported from mnist_ffnn.py, which wrote them batch-ready: softmax
takes its max and sum over the last axis, so it normalises each row of a (B, 10) array;
`a @ w` treats the rows of a as a stack of inputs, so z_i = a_{i-1} . w_i holds as
(B, n_{i-1}) . (n_{i-1}, n_i) -> (B, n_i); compute_error already pushed a whole set
through at once. What changes is backpropagation: dw_i = a_{i-1}^T . e_i becomes a true matrix
product, (n_{i-1}, B) . (B, n_i), the sum of the B per-example outer products in one
call (and S'(z_i) is taken as a_i (1 - a_i), the same value, which the forward pass has
already computed). Task 17 (the whole training set as one batch) and Task 18 (batches of
any size) are `train` with a batch size:

    python mnist_ffnn_batched.py                               # B = 10, λ = 0.03
    python mnist_ffnn_batched.py --batch-size all --lr 1e-5    # Task 17

The gradient is summed over the batch, as the TP's equations give it, so λ multiplies
each example's gradient whatever B: the default λ = 0.03 on batches of 10 is a step of
0.3 on their mean gradient, chosen on a validation split (report.md, Task 18). With
--batch-size 1 --lr 0.001 --no-shuffle, this script trains as mnist_ffnn.py does.

After the TP's part, in bannered sections, what a user of the network needs beyond it:
speed, the training loss and divergence, stopping on Ctrl-C, files, figures, reading and
drawing your own digit, checking backpropagation against finite differences, and the
command lines of both scripts (`python mnist_ffnn_batched.py --help`).
"""

import argparse
import contextlib
import json
import lzma
import math
import os
import signal
import stat
import struct
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

import mnist_ffnn
from mnist_ffnn import (DATA_DIR, DataError, Diverged, compute_error, forward_pass,
                        init_weights, load_mnist, mnist_paths, preprocess, update_weights)

DEFAULT_BATCH_SIZE = 10
DEFAULT_LR = 0.03
MAX_LOSS = 5 * math.log(10)    # an epoch's mean loss above this: training diverged
SMALL_BATCH = 10          # up to this size, train uses active_pixel_step (speed)
ONE_THREAD_BELOW = 128    # batches smaller than this use one BLAS thread (blas_threads)


# ---- Task 16: backpropagation for a batch ---------------------------------------------

def backpropagation(activations, zs, y, weights):
    """Task 16: the weight changes [dw1 (784, 128), dw2 (128, 64), dw3 (64, 10)] of a
    batch, from its forward pass (activations, zs) and its expected outputs y (B, 10).

    The equations of one example, with the batch axis B in front: e3 (B, 10), e2 (B, 64),
    e1 (B, 128), with S'(z_i) computed as a_i (1 - a_i). Each dw_i = a_{i-1}^T . e_i is
    (n_{i-1}, B) . (B, n_i): the sum over the batch of the per-example weight changes.
    """
    a0, a1, a2, a3 = activations
    z1, z2, z3 = zs
    w1, w2, w3 = weights
    # S'(z_i) = S(z_i) (1 - S(z_i)) = a_i (1 - a_i): the forward pass already computed
    # a_i = S(z_i), so the TP's S'(z_i) costs no exponential here (z1, z2 not needed).
    e3 = a3 - y                                   # (B, 10)
    e2 = (e3 @ w3.T) * a2 * (1 - a2)              # (B, 10) . (10, 64) -> (B, 64)
    e1 = (e2 @ w2.T) * a1 * (1 - a1)              # (B, 64) . (64, 128) -> (B, 128)
    return [a0.T @ e1, a1.T @ e2, a2.T @ e3]      # (n_{i-1}, B) . (B, n_i)


# ---- Tasks 17-18: training on batches -------------------------------------------------

def train(x_train, y_train, x_test, y_test, weights, epochs=30, lr=DEFAULT_LR,
          batch_size=DEFAULT_BATCH_SIZE, rng=None, validation=None, max_loss=MAX_LOSS,
          stop=None, log=print):
    """Tasks 17-18: train `weights` in place by gradient descent on batches.

    Each epoch cuts the training set x_train (N, 784), y_train (N, 10) into batches of
    `batch_size` examples (the last one may be smaller; None: the whole set as one
    batch, Task 17), in a new order drawn from `rng` (a np.random.Generator; None: the
    set's own order), and pushes each through the TP's three steps with learning rate
    `lr`. After each epoch, logs the training loss (the mean cross-entropy of the
    epoch's examples, each taken before its batch's update) and the error rate on
    x_test, y_test (and on `validation`, a pair (x, y), if given). Raises Diverged if
    the loss exceeds `max_loss`, or if the loss or a weight stops being finite. Stops
    after the current batch once `stop` (a threading.Event, see stop_requests) is set.
    Returns the list of the epochs' records (dicts).
    """
    n = len(x_train)
    batch_size = n if batch_size is None else min(batch_size, n)
    stop = threading.Event() if stop is None else stop
    z3 = np.empty_like(y_train)                     # z3 of each example, for the loss
    history = []
    with blas_threads(1 if batch_size < ONE_THREAD_BELOW else None):
        for epoch in range(1, epochs + 1):                         # the loop over epochs
            start = time.perf_counter()
            order = None if rng is None or batch_size == n else rng.permutation(n)
            for first in range(0, n, batch_size):                  # the loop over batches
                batch = (slice(first, first + batch_size) if order is None
                         else order[first:first + batch_size])
                a0, y = x_train[batch], y_train[batch]
                if batch_size <= SMALL_BATCH:         # the same three steps, faster
                    zs = active_pixel_step(a0, y, weights, lr)
                else:
                    activations, zs = forward_pass(a0, weights)            # Task 8
                    deltas = backpropagation(activations, zs, y, weights)  # Task 16
                    update_weights(weights, deltas, lr)                    # Task 11
                seen = first + len(a0)
                z3[first:seen] = zs[-1]
                if stop.is_set():                          # Ctrl-C: stop after the batch
                    break
            seconds = time.perf_counter() - start
            targets = y_train[:seen] if order is None else y_train[order[:seen]]
            loss = cross_entropy(z3[:seen], targets) / seen
            check_divergence(loss, weights, epoch, max_loss)
            record = {"epoch": epoch, "train_loss": loss, "seconds": seconds,
                      "test_error": compute_error(x_test, y_test, weights)}
            line = (f"Epoch {epoch:>{len(str(epochs))}}/{epochs}  loss {loss:.4f}  "
                    f"test error {100 * record['test_error']:5.2f}%")
            if validation is not None:
                record["validation_error"] = compute_error(*validation, weights)
                line += f"  validation error {100 * record['validation_error']:5.2f}%"
            if seen < n:
                record["interrupted_after_examples"] = seen
                line += f"  (interrupted after {seen} examples)"
            log(f"{line}  ({seconds:.2f} s)")
            history.append(record)
            if stop.is_set():
                break
    return history


# ---- Beyond the TP: speed --------------------------------------------------------------

def active_pixel_step(a0, y, weights, lr):
    """The TP's three steps (forward_pass, backpropagation, update_weights) on a batch
    a0 (B, 784), y (B, 10), with the same result up to rounding, faster for small
    batches; returns the forward pass's zs.

    A pixel with no ink in any example of the batch adds nothing to z1 = a0 . w1, and
    its row of dw1 = a0^T . e1 is 0: its row of w1 is neither used nor changed. At
    B = 10 half of the pixels are such (four fifths at B = 1), so the three steps run on
    the rows w1[active] of the others (a copy, written back after the update). Valid for
    plain gradient descent only, whose update of a row depends on nothing but its own
    dw1: an update that keeps state (momentum) or decays the weights would change the
    other rows too, and must use the three steps on the whole network.
    """
    w1 = weights[0]
    active = np.flatnonzero(a0.any(axis=0))                  # pixels with ink: (k,)
    sub = [w1[active], *weights[1:]]                         # w1[active]: (k, 128)
    activations, zs = forward_pass(a0[:, active], sub)
    deltas = backpropagation(activations, zs, y, sub)
    update_weights(sub, deltas, lr)
    w1[active] = sub[0]
    return zs


def blas_threads(count):
    """A context in which the BLAS library that NumPy uses for its matrix products runs
    `count` threads (None: leave BLAS's own default, usually all cores). One thread is
    faster for batches under about 128 examples: their products are too small to share,
    and waking a second thread costs more than it saves; all cores are faster for large
    batches (report.md, Speed). Needs threadpoolctl (in requirements.txt); without it,
    this does nothing."""
    if count is None or threadpool_limits is None:
        return contextlib.nullcontext()
    return threadpool_limits(limits=count, user_api="blas")


# ---- Beyond the TP: the training loss, divergence, stopping ----------------------------

class UserError(Exception):
    """A run that cannot go on, or an output it must not write: the message is one
    sentence, printed after `error: ` with exit status 1 (run_command_line)."""


def cross_entropy(z3, y):
    """The loss that backpropagation descends, -sum y log softmax(z3), summed over the
    rows of z3 and their one-hot expected outputs y (B, 10). With t a row's digit, its
    loss is log(1 + sum_{j != t} e^(z_j - z_t)), computed so that it keeps its
    precision when it is tiny (a digit the network is sure of: the gradient check
    needs it) and does not overflow when it is huge (a large finite loss, not inf)."""
    others = np.where(y == 1, -np.inf, z3 - np.sum(y * z3, axis=-1, keepdims=True))
    top = np.max(others, axis=-1, keepdims=True)                  # z_j - z_t, j != t
    log_sum = np.log(np.sum(np.exp(others - top), axis=-1)) + top[..., 0]
    return float(np.sum(np.logaddexp(0, log_sum)))                # log(1 + e^log_sum)


def check_divergence(loss, weights, epoch, max_loss):
    """Raise Diverged if an epoch's mean training loss is above max_loss or not finite,
    or if a weight is no longer finite."""
    if not all(np.isfinite(w).all() for w in weights):
        raise Diverged(f"training diverged in epoch {epoch}: the weights are no longer "
                       "all finite; use a smaller learning rate.")
    if not np.isfinite(loss):
        raise Diverged(f"training diverged in epoch {epoch}: the loss became {loss}; use "
                       "a smaller learning rate.")
    if loss > max_loss:
        raise Diverged(f"training diverged in epoch {epoch}: its mean loss {loss:.4g} is "
                       f"above --max-loss {max_loss:.4g} (random guessing gives "
                       f"{math.log(10):.2f}); use a smaller learning rate, or --max-loss "
                       "inf to go on.")


@contextlib.contextmanager
def stop_requests():
    """A context in which a first Ctrl-C (SIGINT) or SIGTERM interrupts nothing: it sets
    the threading.Event this yields (train then stops after the current batch, and the
    outputs are still written) and keeps the signal's number in its `signum`. A second
    one interrupts at once, by KeyboardInterrupt(128 + its number), the exit status."""
    stop = threading.Event()
    stop.signum = None

    def request(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt(128 + signum)
        stop.signum = signum
        stop.set()
        print(f"\nInterrupted ({signal.Signals(signum).name}): stopping after the current "
              "batch, then writing what was asked (once more to quit at once).",
              file=sys.stderr, flush=True)

    previous = {s: signal.signal(s, request) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


# ---- Beyond the TP: files (weights, JSON), each written whole or not at all ------------

class OutputError(UserError):
    """An output cannot be written, or would destroy a file it does not own."""


def check_outputs(outputs, inputs):
    """Before training, refuse (OutputError, one sentence) any output that would destroy
    what it does not own. `outputs` and `inputs` map how the user named a file (e.g.
    "--save m.npz") to its path. Symlinks followed, each output must differ from every
    other output and every input, and contain none of them (a directory); it must be a
    regular file if it exists, that the user can open for writing, in a directory that
    exists or can be created, where a file can be created (a probe file, removed at
    once, is all that this creates)."""
    real = {name: Path(os.path.realpath(p)) for name, p in {**outputs, **inputs}.items()}
    for name, path in outputs.items():
        if Path(os.path.abspath(path)).parts[1:2] in (("dev",), ("proc",)):
            raise OutputError(f"cannot write {name}: it names a special file of the system "
                            "(in /dev or /proc), not a file; give a file name.")
        check_writable(real[name], name)
    names = list(outputs)
    for k, name in enumerate(names):                     # every pair of the user's files
        for other in names[k + 1:] + list(inputs):
            a, b = real[name], real[other]
            if a == b:
                raise OutputError(f"{name} would overwrite {other}: both are {a}.")
            if a in b.parents or b in a.parents:
                inner, outer = (name, other) if b in a.parents else (other, name)
                raise OutputError(f"{name} and {other} clash: {inner} is inside {outer}.")


def check_writable(target, name):
    """check_outputs for one output, `target` its real path: OutputError naming `name`."""
    if target.exists():
        mode = target.stat().st_mode
        if stat.S_ISDIR(mode):
            raise OutputError(f"cannot write {name}: it is a directory.")
        if not stat.S_ISREG(mode):
            raise OutputError(f"cannot write {name}: it is not a regular file (a device, a "
                            "pipe...), which would be replaced; give a file name.")
        try:
            os.close(os.open(target, os.O_WRONLY))        # no O_TRUNC: nothing changes
        except OSError as exc:
            raise OutputError(f"cannot write {name}: {exc.strerror}.") from None
    folder = target.parent
    while not folder.exists():                            # the part that would be created
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {name}: {folder} is not a directory.")
    try:
        descriptor, probe = tempfile.mkstemp(dir=folder, prefix=".", suffix=".probe")
    except OSError as exc:
        raise OutputError(f"cannot write {name}: no file can be created in {folder} "
                        f"({exc.strerror}).") from None
    os.close(descriptor)
    os.unlink(probe)


def atomic_write(path, write):
    """Call write(file) on a new temporary file next to the file `path` names (symlinks
    followed), then rename it over that file: an interrupted write never leaves half a
    file, nor spoils the old one, and no temporary file survives an exception or a
    second Ctrl-C. An existing file must be regular, and keeps its permissions (a new
    one gets open()'s); missing directories are created. OutputError if it fails."""
    target = Path(os.path.realpath(path))
    temporary = None
    try:
        old = target.stat() if target.exists() else None
        if old is not None and not stat.S_ISREG(old.st_mode):
            raise OutputError(f"cannot write {path}: it is not a regular file.")
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".",
                                                 suffix=".tmp")
        with os.fdopen(descriptor, "wb") as f:
            write(f)
            os.fchmod(f.fileno(), stat.S_IMODE(old.st_mode) if old else 0o666 & ~umask())
            if old is not None and os.geteuid() == 0:         # root keeps the owner too
                os.fchown(f.fileno(), old.st_uid, old.st_gid)
        os.replace(temporary, target)
        temporary = None
    except OSError as exc:                   # a full disk, a directory that cannot be made
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}.") from None
    finally:
        if temporary is not None:
            os.unlink(temporary)


def regular_file(path):
    """`path` as a Path, if it names a regular file: DataError for a device, a pipe...
    (which could be read without end), OSError if it does not exist."""
    path = Path(path)
    if not stat.S_ISREG(path.stat().st_mode):
        raise DataError(f"{path}: not a regular file.")
    return path


def umask():
    """The process's umask (reading it means setting it: it is set back at once)."""
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def write_json(path, obj):
    """Write `obj` as JSON to `path`, atomically (strict JSON: no NaN or Infinity)."""
    text = json.dumps(obj, indent=2, allow_nan=False) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


def weight_names(weights):
    """The names of the arrays of a list of weights (arrays, or their shapes), in order:
    the matrices w1, w2, ..., and vectors (biases, if a network has them) b1, b2, ..."""
    shapes = [w if isinstance(w, tuple) else np.shape(w) for w in weights]
    names, counts = [], {"w": 0, "b": 0}
    for shape in shapes:
        letter = "w" if len(shape) == 2 else "b"
        counts[letter] += 1
        names.append(f"{letter}{counts[letter]}")
    return names


def save_weights(path, weights, config):
    """Save the list of weight matrices and `config` (a dict, stored as JSON text) in an
    .npz file, atomically."""
    arrays = dict(zip(weight_names(weights), weights),
                  config=np.array(json.dumps(config)))
    atomic_write(path, lambda f: np.savez(f, **arrays))


def read_npz_member(archive, member, name, path, shape, kind, max_bytes):
    """The array in the member `member` of the open .npz `archive`, read only if its
    header says it has `shape`, a dtype of `kind` ('f', 'U'...) and at most `max_bytes`
    bytes, and only those bytes: a forged header, or a member that would decompress to
    gigabytes, is refused without reading more. Raises DataError naming `path` and the
    array's `name`."""
    with archive.open(member) as f:
        version = np.lib.format.read_magic(f)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise DataError(f"{path}: {name} is stored in .npy format {version}, "
                            "expected 1.0 or 2.0.")
        found, fortran_order, dtype = read_header(f)
        size = math.prod(found) * dtype.itemsize
        if dtype.kind != kind or found != shape or size > max_bytes:
            expected = "a float array" if kind == "f" else "a text"
            raise DataError(f"{path}: {name} is {dtype} {found}, expected {expected}"
                            f"{f' of shape {shape}' if shape else ''}.")
        data = f.read(size)
        if len(data) < size or f.read(1):
            amount = "less" if len(data) < size else "more"
            raise DataError(f"{path}: {name} holds {amount} data than its header announces "
                            f"({size} bytes).")
    return np.frombuffer(data, dtype).reshape(found, order="F" if fortran_order else "C")


def load_weights(path, dtype=None):
    """Load the weights and the config saved by save_weights, cast to `dtype` if given.

    The weights expected are those init_weights makes (their number and shapes). Never
    unpickles, and reads no more than their own size whatever the file claims. Returns
    (weights, config). Raises DataError, one sentence naming the file, for anything
    that is not such a file with finite weights (OSError if it cannot be opened).
    """
    path = regular_file(path)
    shapes = [w.shape for w in init_weights(np.random.default_rng(0))]
    names = weight_names(shapes)
    try:
        with zipfile.ZipFile(path) as archive:
            members = {member.removesuffix(".npy"): member
                       for member in archive.namelist()}
            missing = [name for name in names if name not in members]
            if missing:
                raise DataError(f"{path}: not a weights file saved by --save (no "
                                f"{', '.join(missing)} in it).")
            weights = [read_npz_member(archive, members[name], name, path, shape, "f",
                                       8 * math.prod(shape))      # float64 at the most
                       for name, shape in zip(names, shapes)]
            config = {}
            if "config" in members:
                config = json.loads(str(read_npz_member(archive, members["config"],
                                                        "config", path, (), "U", 1 << 20)))
    except zipfile.BadZipFile as exc:
        raise DataError(f"{path}: not an .npz archive of weights ({exc}).") from None
    # A damaged or forged archive: zipfile, its decompressors (zlib, lzma, bz2: OSError)
    # and NumPy's .npy header reader raise all of these; an encrypted or unknown
    # compression, NotImplementedError or RuntimeError; json.loads, ValueError.
    except (zlib.error, lzma.LZMAError, struct.error, EOFError, OSError, ValueError,
            NotImplementedError, RuntimeError) as exc:
        raise DataError(f"{path}: cannot be read as saved weights ({exc}).") from None
    for name, w in zip(names, weights):
        if not np.isfinite(w).all():
            raise DataError(f"{path}: {name} holds non-finite values.")
    if dtype is not None:
        with np.errstate(over="ignore"):
            weights = [w.astype(dtype) for w in weights]
        for name, w in zip(names, weights):
            if not np.isfinite(w).all():
                raise DataError(f"{path}: {name} holds values beyond the range of "
                                f"{np.dtype(dtype).name}.")
    return weights, config


# ---- Beyond the TP: figures (matplotlib is imported only when a figure is made) --------

def network_output(x, weights):
    """The network's answer a3 (N, 10) to the inputs x (N, 784): for each input, the
    ten digits' probabilities."""
    activations, zs = forward_pass(x, weights)
    return activations[-1]


def predicted_digits(x, weights):
    """The digit (N,) the network predicts for each input of x (N, 784)."""
    return np.argmax(network_output(x, weights), axis=-1)


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
    """What the first layer looks at: each column of w1 (784,), one per neuron of the
    first hidden layer, drawn as a 28x28 tile, 16 tiles a row, red where a pixel's ink
    raises that neuron's z1, blue where it lowers it, white for 0 (a diverging colour
    map centred on 0)."""
    from matplotlib.figure import Figure
    neurons, n_cols = w1.shape[1], 16
    n_rows = -(-neurons // n_cols)
    tiles = np.full((n_rows * n_cols, 30, 30), np.nan)           # a blank border each
    tiles[:neurons, 1:29, 1:29] = w1.T.reshape(neurons, 28, 28)
    mosaic = tiles.reshape(n_rows, n_cols, 30, 30).transpose(0, 2, 1, 3).reshape(
        n_rows * 30, n_cols * 30)                                 # one image
    limit = np.nanpercentile(np.abs(mosaic), 99.5)
    figure = Figure(figsize=(n_cols * 0.6 + 1, n_rows * 0.6 + 0.6), layout="constrained")
    axes = figure.subplots()
    import matplotlib
    colours = matplotlib.colormaps["RdBu_r"].resampled(32)      # 32 levels: a small PNG
    image = axes.imshow(mosaic, cmap=colours, vmin=-limit, vmax=limit,
                        interpolation="nearest")
    axes.axis("off")
    axes.set_title(f"The {neurons} columns of w1, one 28x28 tile per neuron of the first "
                   "hidden layer")
    figure.colorbar(image, shrink=0.8, label="weight")
    save_figure(figure, path)


def plot_hidden_activations(x, labels, weights, path):
    """The mean activation a1 of each first-layer neuron over the images of each digit:
    a (10, 128) image, the neurons sorted by the digit they respond to most."""
    from matplotlib.figure import Figure
    activations, zs = forward_pass(x, weights)
    a1 = activations[1]                                             # (N, 128)
    one_hot = np.eye(10)[labels]                                    # (N, 10)
    means = (one_hot.T @ a1) / one_hot.sum(axis=0)[:, None]         # (10, 128)
    preferred = np.argmax(means, axis=0)
    order = np.lexsort((-means.max(axis=0), preferred))             # by digit, then peak
    figure = Figure(figsize=(11, 3.6), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(means[:, order], aspect="auto", cmap="viridis", vmin=0,
                        vmax=max(1, means.max()))
    axes.set(title="Mean activation a1 of each first-layer neuron, per true digit (test "
                   "set); neurons sorted by the digit they respond to most",
             xlabel="neuron of the first hidden layer (sorted)", ylabel="digit",
             yticks=range(10))
    figure.colorbar(image, label="mean a1")
    save_figure(figure, path)


PLOTS = ("learning_curves.png", "confusion_matrix.png", "misclassified.png",
         "w1_tiles.png", "hidden_activations.png")


def plot_names(trained):
    """The files --plots writes: the learning curves only if there was training."""
    return PLOTS if trained else PLOTS[1:]


def save_plots(directory, history, x_test, y_test, weights):
    """Write the figures of a training run in `directory` (the learning curves only if
    `history` has epochs); return their paths."""
    directory = Path(directory)
    labels, predicted = np.argmax(y_test, axis=-1), predicted_digits(x_test, weights)
    paths = {name: directory / name for name in plot_names(bool(history))}
    if history:
        plot_learning_curves(history, paths["learning_curves.png"])
    plot_confusion_matrix(labels, predicted, paths["confusion_matrix.png"])
    plot_misclassified(x_test, labels, predicted, paths["misclassified.png"])
    plot_w1_tiles(weights[0], paths["w1_tiles.png"])
    plot_hidden_activations(x_test, labels, weights, paths["hidden_activations.png"])
    return list(paths.values())


# ---- Beyond the TP: reading and drawing your own digit ---------------------------------

MAX_IMAGE_SIDE = 4096    # wider or taller images are refused: the memory --predict
                         # takes stays bounded (below 1 GB)


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
    (14, 14), where it is in MNIST (mean 13.99, 14.00 over the test set). None if the
    image is uniform (no digit).
    """
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if border.mean() > 0.5:                          # dark digit on a light background
        gray, border = 1 - gray, 1 - border
    gray = np.clip(gray - np.median(border), 0, None)           # background to 0
    if not gray.max() > 0:
        return None
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


def read_image(path):
    """The pixels of the image file `path` (PNG, JPEG, TIFF...), as Pillow decodes them:
    (H, W) or (H, W, channels), integers or floats. An image wider or taller than
    MAX_IMAGE_SIDE is refused from its header, before it is decoded. Raises DataError,
    one sentence naming the file, for what cannot be read as an image."""
    from PIL import Image                               # matplotlib's own image library
    path = regular_file(path)
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None   # our limit, below
    with warnings.catch_warnings():          # Pillow warns of what it skips: quiet
        warnings.simplefilter("ignore")
        try:
            picture = Image.open(path)                  # reads the header only
        except PermissionError:
            raise
        except Exception as exc:     # Pillow's decoders raise many kinds of exception on
            raise unreadable(path, exc) from None       # a damaged file, MemoryError too
        finally:
            Image.MAX_IMAGE_PIXELS = limit
        with picture:
            if max(picture.size) > MAX_IMAGE_SIDE:
                raise DataError(f"{path}: the image is too large ({picture.width} x "
                                f"{picture.height} pixels; at most {MAX_IMAGE_SIDE} x "
                                f"{MAX_IMAGE_SIDE}).")
            try:
                if picture.mode not in ("1", "L", "LA", "I", "I;16", "I;16B", "F", "RGB",
                                        "RGBA"):
                    picture = picture.convert("RGBA")   # palette, CMYK, YCbCr...
                return np.asarray(picture)              # decodes
            except Exception as exc:                    # as above
                raise unreadable(path, exc) from None


def unreadable(path, exc):
    """The DataError for an image file that Pillow failed to read with `exc`."""
    return DataError(f"{path}: cannot be read as an image ({type(exc).__name__}: "
                     f"{str(exc).rstrip('.')}).")


def read_digit(path):
    """Read an image file of one digit; return its MNIST-like input (784,). Raises
    DataError, one sentence naming the file, if it cannot be read or holds no digit."""
    image = read_image(path)
    if image.dtype.kind in "ui" and image.dtype.itemsize <= 2:     # 8 or 16 bits
        image = image.astype(np.float32) / np.iinfo(image.dtype).max
    else:                            # 1 bit, 32-bit integers, floats: their own range
        image = image.astype(np.float32)
        if not np.isfinite(image).all():
            raise DataError(f"{path}: the image holds values that are not finite.")
        low, high = image.min(), image.max()
        image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    gray = image
    if image.ndim == 3:                    # colour and/or alpha channels
        has_alpha = image.shape[2] in (2, 4)
        colour = image[..., :image.shape[2] - has_alpha]
        gray = (colour @ np.array([0.299, 0.587, 0.114], np.float32)
                if colour.shape[2] == 3 else colour.mean(axis=2))  # luminance
        if has_alpha:                                          # over white paper
            gray = gray * image[..., -1] + (1 - image[..., -1])
    digit = mnist_like(gray)
    if digit is None:
        raise DataError(f"{path}: no digit found (the image is uniform).")
    return digit


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
            print(f"error: {error_message(exc)}", file=sys.stderr, flush=True)
    if inputs:
        x = np.stack(inputs).astype(weights[0].dtype)
        outputs = network_output(x, weights)                         # (len(inputs), 10)
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
        seen = mnist_like(self.ink)
        if seen is None:                                     # nothing drawn yet
            seen, self.probabilities = np.zeros(784), np.zeros(10)
        else:
            self.probabilities = network_output(seen.astype(self.weights[0].dtype),
                                                self.weights)
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


class DisplayError(UserError):
    """--draw found no display to open its window on."""


def draw_digits(weights):
    """--draw: open the drawing board in a window, until it is closed."""
    import matplotlib.pyplot as plt
    backend = plt.get_backend()
    if backend.lower() in ("agg", "cairo", "pdf", "pgf", "ps", "svg", "template"):
        raise DisplayError(f"--draw needs a display to open its window, and there is none "
                           f"(matplotlib's backend is {backend}); use --predict IMAGE to "
                           "read a digit from an image file instead.")
    try:
        figure = plt.figure("Draw a digit", figsize=(11, 4.2), layout="constrained")
    except Exception as exc:                 # e.g. Tk's "couldn't connect to display"
        raise DisplayError(f"--draw cannot open its window ({exc}); use --predict IMAGE "
                           "to read a digit from an image file instead.") from None
    figure.board = DrawingBoard(weights, figure)      # kept alive while shown
    plt.show()


# ---- Beyond the TP: checking backpropagation against finite differences --------------

GRADIENT_TOLERANCE = 1e-6     # a correct backpropagation gives about 1e-11 in float64


class GradientError(UserError):
    """backpropagation does not match the finite differences of the loss."""


def gradient_errors(x, y, weights, backprop=None, forward=None, loss=None, entries=5,
                    eps=1e-5, rng=None):
    """For each array w_i of `weights`, the error of backpropagation's dw_i against the
    centred finite differences (L(w + eps d) - L(w - eps d)) / (2 eps) of the loss L on
    the batch x (B, 784), y (B, 10), all in float64 (in float32, finite differences are
    only good to about 1e-2).

    Such a difference estimates the derivative of L along a direction d, sum(dw_i * d),
    which is at most |dw_i| |d| (norms of whole arrays). The error along d is
    |numeric - analytic| / (|dw_i| |d| + |numeric|): relative to the whole gradient, so
    it does not blow up where the derivative along d is near 0, as the entry-wise
    relative error |a - n| / (|a| + |n|) does on trained weights; and 1 if dw_i is 0
    while L is not flat. The directions d: the `entries` largest entries of dw_i, as
    many drawn by `rng` among those at least a tenth of the largest, and a random
    direction, which checks the whole array at once; the worst is kept. Rounding leaves
    about 1e-11; a wrong equation, 1e-4 and more. `backprop` and `forward` default to
    this module's backpropagation and forward_pass, `loss` to the summed cross-entropy
    of forward's output (the tests pass their own). GradientError if backprop does not
    return one array of the right shape for each array of `weights`.
    """
    backprop = backpropagation if backprop is None else backprop
    forward = forward_pass if forward is None else forward
    rng = np.random.default_rng(0) if rng is None else rng
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    weights = [np.array(w, np.float64) for w in weights]
    if loss is None:
        def loss(w):
            activations, zs = forward(x, w)
            return cross_entropy(zs[-1], y)
    deltas = backprop(*forward(x, weights), y, weights)
    names = weight_names(weights)
    if len(deltas) != len(weights):
        raise GradientError(f"backpropagation returns {len(deltas)} arrays for the "
                            f"{len(weights)} arrays of weights ({', '.join(names)}): one "
                            "change is needed for each.")
    errors = []
    for i, (name, w, dw) in enumerate(zip(names, weights, deltas)):    # each array
        if np.shape(dw) != w.shape:
            raise GradientError(f"backpropagation's change of {name} has shape "
                                f"{np.shape(dw)}, and {name} {w.shape}: they must match.")
        magnitude = np.abs(dw).ravel()
        large = np.flatnonzero(magnitude >= magnitude.max() / 10)
        picked = np.concatenate([np.argsort(magnitude)[-entries:],
                                 rng.choice(large, entries)])
        directions = [(np.arange(w.size) == k).reshape(w.shape) for k in picked]
        directions.append(rng.standard_normal(w.shape))         # all entries at once
        worst = 0.0
        for d in directions:                       # a few dozen loss evaluations
            plus = [v + eps * d if j == i else v for j, v in enumerate(weights)]
            minus = [v - eps * d if j == i else v for j, v in enumerate(weights)]
            numeric = (loss(plus) - loss(minus)) / (2 * eps)
            analytic = np.sum(dw * d)
            scale = np.linalg.norm(dw) * np.linalg.norm(d) + abs(numeric)
            worst = max(worst, abs(numeric - analytic) / scale if scale > 0 else 0.0)
        errors.append(float(worst))
    return errors


def check_gradients(x_train, y_train, weights, count=10, log=print):
    """--check-gradients: gradient_errors on the `count` training examples that the
    network gets most wrong (the largest loss: their gradient is far from 0), one line
    per array of weights, `  w1 (784, 128): error 3.1e-10  ok`. GradientError if one is
    above GRADIENT_TOLERANCE."""
    with np.errstate(divide="ignore"):
        losses = -np.log(np.sum(network_output(x_train, weights) * y_train, axis=-1))
    worst = np.argsort(losses)[-count:]
    log(f"Checking backpropagation against centred finite differences of the loss, in "
        f"float64, on the {len(worst)} training examples of largest loss:")
    errors = gradient_errors(x_train[worst], y_train[worst], weights)
    names = weight_names(weights)
    for name, w, error in zip(names, weights, errors):
        verdict = "ok" if error <= GRADIENT_TOLERANCE else f"WRONG (> {GRADIENT_TOLERANCE})"
        log(f"  {name} {w.shape}: error {error:.1e}  {verdict}")
    wrong = [name for name, error in zip(names, errors) if error > GRADIENT_TOLERANCE]
    if wrong:
        raise GradientError(f"backpropagation does not give the gradient of the loss for "
                            f"{', '.join(wrong)}: check its equations (Task 16).")


# ---- Beyond the TP: the command line ---------------------------------------------------

def argument_type(kind, low, strict=False):
    """An argparse type: a finite number of type `kind` (int or float), >= low (> low
    if `strict`); anything else is refused with one sentence saying what is expected."""
    def parse(text):
        try:
            value = kind(text)
            if (kind is int or math.isfinite(value)) and (
                    value > low or value == low and not strict):
                return value
        except ValueError:
            pass
        kind_name = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(
            f"{text!r} is not {kind_name} {'>' if strict else '>='} {low}")
    return parse


def argument_parser(description, lr, seed_draws="the weights"):
    """The options both scripts share (their learning rate's default is `lr`; the seed
    draws `seed_draws`); no abbreviations, so that a mistyped option is an error, not
    another option."""
    parser = argparse.ArgumentParser(description=description, allow_abbrev=False)
    parser.add_argument("--epochs", type=argument_type(int, 0), default=30, metavar="N",
                        help="passes over the training set (default: %(default)s)")
    parser.add_argument("--lr", type=argument_type(float, 0, strict=True), default=lr,
                        help="learning rate λ > 0 of w_i <- w_i - λ δw_i (default: "
                             "%(default)s)")
    parser.add_argument("--seed", type=argument_type(int, 0), default=0, metavar="S",
                        help=f"seed of the random generator that draws {seed_draws} "
                             "(default: %(default)s)")
    parser.add_argument("--train-size", type=argument_type(int, 1), metavar="N",
                        help="train on the first N training examples only (default: all)")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, metavar="DIR",
                        help="directory of the four MNIST idx files, raw or .gz, named "
                             "train-images-idx3-ubyte or train-images.idx3-ubyte (and so "
                             "on) (default: data/ next to this script)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="type of inputs, weights and activations (default: float32)")
    return parser


def error_message(exc):
    """What went wrong, in one sentence: an OSError names its file."""
    if isinstance(exc, MemoryError):
        return "not enough memory for this run (try a smaller --train-size)."
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror}."
    return str(exc)


def run_command_line(function, *args):
    """Return the exit status of function(*args), run as a command: its own; 1 after
    a UserError, an OSError or a MemoryError, told in one sentence after `error: `; 130
    after Ctrl-C, or the status a KeyboardInterrupt carries as its argument."""
    for stream in (sys.stdout, sys.stderr):       # file names that are not UTF-8
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        return function(*args)
    except BrokenPipeError:                       # e.g. `python mnist_ffnn.py | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())    # quietly
        return 1
    except (UserError, DataError, Diverged, OSError, MemoryError) as exc:
        print(f"error: {error_message(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        print("Interrupted.", file=sys.stderr)
        return exc.args[0] if exc.args and isinstance(exc.args[0], int) else 130


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
    if text.lower() in ("inf", "infinity"):
        return math.inf
    try:
        return argument_type(float, 0, strict=True)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number > 0, nor 'inf'") \
            from None


# Options that only shape training: refused where nothing is trained.
TRAINING_OPTIONS = ("--lr", "--batch-size", "--seed", "--no-shuffle", "--train-size",
                    "--validation", "--max-loss")


def parse_arguments(argv=None):
    """The options of the batched script (argparse exits with status 2 on a bad one, or
    on options that would be ignored: refuse_ignored_options)."""
    parser = argument_parser((__doc__ or "").split("\n\n")[0], lr=DEFAULT_LR,
                             seed_draws="the weights, the order of the examples and the "
                                        "--validation split")
    parser.add_argument("--batch-size", type=batch_size_type, default=DEFAULT_BATCH_SIZE,
                        metavar="B", help="examples per batch, an integer >= 1, or 'all' "
                        "for the whole training set as one batch, Task 17 (default: "
                        "%(default)s)")
    parser.add_argument("--no-shuffle", dest="shuffle", action="store_false",
                        help="keep the training set's order instead of drawing a new one "
                             "every epoch (which is what happens without this option)")
    parser.add_argument("--validation", type=argument_type(int, 1), metavar="N",
                        help="hold out N training examples (drawn with --seed) and report "
                             "their error after every epoch (default: none)")
    parser.add_argument("--max-loss", type=max_loss_type, default=MAX_LOSS, metavar="L",
                        help="stop, as diverged, when an epoch's mean training loss "
                             "exceeds L > 0 ('inf': only on non-finite values) (default: "
                             "5 ln 10 = %(default).4g)")
    parser.add_argument("--load", type=Path, metavar="PATH",
                        help="start from the weights saved in this .npz file (with "
                             "--epochs 0: only evaluate them)")
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
                        help="with --load and nothing else: print the digit read in each "
                             "image and its ten probabilities")
    parser.add_argument("--draw", action="store_true",
                        help="with --load and nothing else: open a window where you draw "
                             "a digit with the mouse and watch the network read it (needs "
                             "a display)")
    parser.add_argument("--check-gradients", action="store_true",
                        help="before training, compare backpropagation with finite "
                             "differences of the loss; stop if they disagree")
    argv = sys.argv[1:] if argv is None else [str(arg) for arg in argv]
    args = parser.parse_args(argv)
    refuse_ignored_options(parser, args, {arg.split("=")[0] for arg in argv
                                          if arg.startswith("--")})
    return args


def refuse_ignored_options(parser, args, given):
    """Exit through parser.error (status 2) if an option of `given` (the options on the
    command line) would be ignored, or one that another needs is missing."""
    if args.predict and args.draw:
        parser.error("--predict and --draw are two ways to read digits: choose one")
    reader = "--predict" if args.predict else "--draw" if args.draw else None
    if reader:
        if args.load is None:
            parser.error(f"{reader} needs --load (the weights of a trained network)")
        ignored = sorted(given - {reader, "--load"})
        if ignored:
            parser.error(f"{reader} only reads digits with the weights of --load: "
                         f"{', '.join(ignored)} would be ignored")
    elif args.epochs == 0:
        if args.load is None:
            parser.error("--epochs 0 (evaluation only) needs --load (the weights to "
                         "evaluate)")
        ignored = sorted(given & set(TRAINING_OPTIONS))
        if ignored:
            parser.error(f"--epochs 0 trains nothing: {', '.join(ignored)} would be "
                         "ignored")


def split_validation(x, y, n, rng):
    """Hold out n random examples: returns (x_train, y_train), (x_val, y_val)."""
    if n >= len(x):
        raise DataError(f"--validation {n} leaves no training example (the training set "
                        f"has {len(x)}).")
    order = rng.permutation(len(x))
    held, kept = np.sort(order[:n]), np.sort(order[n:])
    return (x[kept], y[kept]), (x[held], y[held])


def output_files(args):
    """{how the user named it: path} of every file the run writes."""
    files = {f"{option} {path}": path for option, path in
             (("--save", args.save), ("--json", args.json)) if path is not None}
    if args.plots is not None:
        files.update({f"--plots {args.plots} ({name})": args.plots / name
                      for name in plot_names(args.epochs > 0)})
    return files


def input_files(args):
    """{how the user named it: path} of every file the run reads."""
    files = {f"the data file {path}": path for path in mnist_paths(args.data_dir).values()}
    if args.load is not None:
        files[f"--load {args.load}"] = args.load
    return files


def json_value(value):
    """An option's value as JSON: a path as text, an infinite number as "inf"."""
    if isinstance(value, list):
        return [json_value(v) for v in value]
    if isinstance(value, float) and math.isinf(value):
        return str(value)
    return str(value) if isinstance(value, Path) else value


def train_from_arguments(args):
    """Check the outputs, load the data, build or load the network, train it, write
    what the options ask and print the final line. Returns the exit status: 0, or
    128 + the signal's number after Ctrl-C (130) or SIGTERM (143)."""
    check_outputs(output_files(args), input_files(args))        # before anything long
    dtype = np.dtype(args.dtype)
    rng = np.random.default_rng(args.seed)
    loaded, config = load_weights(args.load, dtype) if args.load else (None, None)
    x_train, y_train, x_test, y_test = preprocess(*load_mnist(args.data_dir),
                                                  args.train_size, dtype)
    validation = None
    if args.validation is not None:
        (x_train, y_train), validation = split_validation(x_train, y_train,
                                                          args.validation, rng)
    weights = loaded if loaded is not None else init_weights(rng, dtype)
    if args.check_gradients:
        check_gradients(x_train, y_train, weights)
    with stop_requests() as stop:        # from here, Ctrl-C still writes every output
        start = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore"):  # check_divergence sees them
            history = train(x_train, y_train, x_test, y_test, weights, args.epochs,
                            args.lr, None if args.batch_size == "all" else args.batch_size,
                            rng if args.shuffle else None, validation, args.max_loss, stop)
        seconds = time.perf_counter() - start
        # the last epoch was evaluated after its last update; --epochs 0 only evaluates
        error_rate = (history[-1]["test_error"] if history
                      else compute_error(x_test, y_test, weights))
        wrong = round(error_rate * len(x_test))
        write_outputs(args, weights, history, x_test, y_test, stop.is_set(),
                      {"test_error": error_rate, "misclassified": wrong,
                       "n_test": len(x_test), "seconds": seconds})
        print(f"Test error: {100 * error_rate:.2f}% ({wrong}/{len(x_test)} misclassified)")
    return 128 + stop.signum if stop.is_set() else 0


def write_outputs(args, weights, history, x_test, y_test, interrupted, result):
    """Write what --save, --plots and --json ask, each saying where it wrote."""
    config = {key: json_value(value) for key, value in vars(args).items()}
    if args.save is not None:
        save_weights(args.save, weights, config)
        print(f"Weights saved to {args.save}")
    if args.plots is not None:
        print("Figures written:", *save_plots(args.plots, history, x_test, y_test, weights))
    if args.json is not None:
        write_json(args.json, {"script": "mnist_ffnn_batched.py", "config": config,
                               "epochs": history, "interrupted": interrupted,
                               "result": result})
        print(f"Results written to {args.json}")


def run(args):
    """Do what the options `args` ask; returns the exit status."""
    if args.predict or args.draw:
        weights, config = load_weights(args.load)
        if args.draw:
            draw_digits(weights)
            return 0
        return predict_images(args.predict, weights)
    return train_from_arguments(args)


def main(argv=None):
    """The command line: returns the exit status (see run_command_line)."""
    return run_command_line(run, parse_arguments(argv))


def per_example_command_line(argv=None):
    """mnist_ffnn.py's command line (its main): the shared options with λ = 0.001,
    then mnist_ffnn.walk_the_tp. Returns the exit status."""
    args = argument_parser((mnist_ffnn.__doc__ or "").split("\n\n")[0],
                           lr=0.001).parse_args(argv)
    return run_command_line(mnist_ffnn.walk_the_tp, args)


if __name__ == "__main__":
    sys.exit(main())
