"""mnist_ffnn_batched.py: TP 4-6, Tasks 17 and 18. The network of mnist_ffnn.py, trained
on batches of B examples pushed through it at once.

Task 16 gives the arrays an axis B running through a batch: a0 (B, 784), y (B, 10), a_i,
z_i and e_i (B, n_i); the weights keep their shapes. mnist_ffnn.py's softmax,
forward_pass, backpropagation (where dw_i = a_{i-1}^T . e_i sums over the batch) and
compute_error take one example or a batch, so this file imports them. Task 17 trains on
the whole set as one batch, Task 18 on batches of any size (--save keeps the network in
an .npz file, which --load and examples/ read):

    python mnist_ffnn_batched.py                                 # B = 10, lr = 0.03
    python mnist_ffnn_batched.py --batch-size all --lr 0.001     # Task 17
"""

import os

if __name__ == "__main__":       # before NumPy starts: one BLAS thread (report.md, Speed)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from mnist_ffnn import (DataError, backpropagation, check_finite, compute_error,
                        forward_pass, init_weights, load_mnist, number, options,
                        preprocess_inputs, preprocess_outputs, run, update_weights)

LR, BATCH_SIZE = 0.03, 10         # the command line's defaults, chosen in report.md


# ---- Tasks 17-18: training on batches -------------------------------------------------
def cross_entropy(z3, y):
    """The loss that backpropagation descends, -sum_k y_k log a3_k, summed over the rows of
    z3 (B, 10) and y (B, 10); log a3 comes from z3, so that it is finite where a3 is 0."""
    log_a3 = z3 - np.max(z3, axis=-1, keepdims=True)
    log_a3 -= np.log(np.sum(np.exp(log_a3), axis=-1, keepdims=True))
    return float(-np.sum(y * log_a3))


def train(x_train, y_train, x_test, y_test, weights, epochs=30, lr=0.001, batch_size=10,
          rng=None, validation=None, history=None):
    """Tasks 17-18: train `weights` in place on x_train (N, 784), y_train (N, 10), in
    batches of `batch_size` examples, shuffled each epoch by the Generator `rng` (kept in
    order if None, or if one batch holds them all). After each epoch, print its mean loss
    (each example's before its batch's update) and the error rates on (x_test, y_test)
    and `validation`, a pair (x, y), if given; append its record to `history`, returned."""
    history = [] if history is None else history
    n, last = len(x_train), len(history) + epochs      # epochs numbered on from history
    for epoch in range(len(history) + 1, last + 1):               # the loop over epochs
        start = time.perf_counter()
        shuffled = rng is not None and batch_size < n   # one batch: no order to change
        order = rng.permutation(n) if shuffled else slice(None)   # a slice: no copy
        z3 = np.empty_like(y_train)          # the z3 of the examples in the order `order`
        for first in range(0, n, batch_size):                   # the loop over batches
            rows = slice(first, first + batch_size)       # in order: views of the arrays
            batch = order[rows] if shuffled else rows     # shuffled: copies of its rows
            a0, y = x_train[batch], y_train[batch]                  # (B, 784), (B, 10)
            activations, zs = forward_pass(a0, weights)                   # Task 8
            deltas = backpropagation(activations, zs, y, weights)         # Task 16
            update_weights(weights, deltas, lr)                           # Task 11
            z3[rows] = zs[-1]
        seconds = time.perf_counter() - start
        check_finite(weights, epoch)
        record = {"epoch": epoch, "loss": cross_entropy(z3, y_train[order]) / n,
                  "test_error": compute_error(x_test, y_test, weights), "seconds": seconds}
        line = (f"Epoch {epoch:>{len(str(last))}}/{last}  loss {record['loss']:.4f}  "
                f"test error {100 * record['test_error']:5.2f}%")
        if validation is not None:
            record["validation_error"] = compute_error(*validation, weights)
            line += f"  validation error {100 * record['validation_error']:5.2f}%"
        history.append(record)              # before printing: Ctrl-C keeps what was shown
        print(f"{line}  ({seconds:.2f} s)", flush=True)
    return history


# ---- A trained network in a file: its weights, how it was trained, a check -------------
def probe(weights):
    """z3 (10,) of the network `weights` for a fixed input, in float64: saved with it, so
    that code computing otherwise (another activation, say) refuses to load it."""
    a0 = np.linspace(0, 1, len(weights[0]))                     # a grey ramp (784,)
    return forward_pass(a0, [np.asarray(w, np.float64) for w in weights])[1][-1]


def save_model(path, weights, runs, history):
    """Save `weights` in the .npz file `path`: their arrays (arr_0, ...), their probe, each
    run's options (`runs`, a list of dicts) and each epoch's record (`history`), through a
    temporary file renamed to `path` (os.replace): a cut save leaves an old file whole."""
    path = Path(os.path.realpath(path))            # a symlink: the file it points to
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "xb") as f:
            np.savez(f, *weights, probe=probe(weights), history=json.dumps(history),
                     runs=json.dumps(runs, default=str))          # a Path as text
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def load_model(path, dtype=np.float32):
    """(weights as `dtype`, runs, history) from the .npz file `path` of save_model, or
    DataError unless it holds the network this code builds: init_weights' shapes, and
    the same probe."""
    expected = [w.shape for w in init_weights(dtype=dtype)]
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as archive:
            count = sum(name.startswith("arr_") for name in archive.files)
            weights = [archive[f"arr_{i}"].astype(dtype) for i in range(count)]
            saved_probe = archive["probe"]
            runs, history = (json.loads(str(archive[key])) for key in ("runs", "history"))
    except (KeyError, ValueError, TypeError, AttributeError, EOFError, zipfile.BadZipFile):
        raise DataError(f"{path}: not a network saved by --save.") from None
    shapes = [w.shape for w in weights]
    if shapes != expected:
        raise DataError(f"{path}: its network has arrays of the shapes {shapes}; this "
                        f"code's has {expected}.")
    if not np.allclose(probe(weights), saved_probe, rtol=1e-6, atol=1e-9):
        raise DataError(f"{path}: its network computes otherwise than this code's "
                        "(another activation?), so it is not loaded.")
    return weights, runs, history


# ---- The command line -------------------------------------------------------------------
def batch_size(text):
    """The argparse type of --batch-size: an integer >= 1, or "all" (None)."""
    return None if text.lower() == "all" else number(int, 1)(text)


def npz_path(text):
    """The argparse type of --save: a path ending in .npz, a leading ~ the home folder."""
    path = Path(text).expanduser()
    if path.suffix != ".npz":
        raise argparse.ArgumentTypeError(f"{text!r} does not end in .npz")
    return path


def train_from_options(args):
    """Build or load the network, train it as `args` says, save it if asked (even after
    Ctrl-C or a closed output) and print its test error; returns 0."""
    if args.save is not None:                     # a folder it cannot write in: now
        args.save.parent.mkdir(parents=True, exist_ok=True)
        if not os.access(args.save.parent, os.W_OK):
            raise DataError(f"cannot save to {args.save}: its folder is not writable.")
    dtype, rng = np.dtype(args.dtype), np.random.default_rng(args.seed)
    weights, runs, history = (load_model(args.load, dtype) if args.load
                              else (init_weights(rng, dtype), [], []))
    x_train, y_train, x_test, y_test = load_mnist(args.data_dir)
    x_train, y_train = x_train[:args.train_size], y_train[:args.train_size]
    x_train, x_test = (preprocess_inputs(x, dtype) for x in (x_train, x_test))
    y_train, y_test = (preprocess_outputs(y, dtype) for y in (y_train, y_test))
    validation = None
    if args.validation is not None:               # the last N: the same in every run
        if args.validation >= len(x_train):
            raise DataError(f"--validation {args.validation} leaves no training example.")
        validation = x_train[-args.validation:], y_train[-args.validation:]
        x_train, y_train = x_train[:-args.validation], y_train[:-args.validation]
    stop = None
    try:
        with np.errstate(over="ignore", invalid="ignore"):    # train checks the weights
            train(x_train, y_train, x_test, y_test, weights, epochs=args.epochs,
                  lr=args.lr, batch_size=args.batch_size or len(x_train),
                  rng=rng if args.shuffle else None, validation=validation,
                  history=history)
    except (KeyboardInterrupt, BrokenPipeError) as exc:     # Ctrl-C, or a closed output
        stop = exc
    if args.save is not None:                     # with the options of this run
        this_run = {**vars(args), "stopped_early": stop is not None}
        save_model(args.save, weights, runs + [this_run], history)
        print(f"Saved to {args.save}.", file=sys.stderr)
    if stop is not None:
        raise stop                                # run() ends the program
    error_rate = compute_error(x_test, y_test, weights)
    print(f"Test error: {100 * error_rate:.2f}% ({round(error_rate * len(x_test))}/"
          f"{len(x_test)} misclassified)")
    return 0


def main(argv=None):
    """The command line of this script: returns its exit status."""
    parser = options(__doc__[:__doc__.index("\n\n")], lr=LR)
    add = parser.add_argument
    add("--batch-size", type=batch_size, default=BATCH_SIZE, metavar="B",
        help=f"examples per batch, or 'all' for Task 17 ({BATCH_SIZE})")
    add("--no-shuffle", dest="shuffle", action="store_false", help="keep their order")
    add("--validation", type=number(int, 1), metavar="N",
        help="hold out the last N training examples and print their error rate")
    add("--dtype", choices=("float32", "float64"), default="float32", help="(float32)")
    add("--load", type=lambda text: Path(text).expanduser(), metavar="FILE",
        help="start from the network in FILE (with --epochs 0: evaluate it)")
    add("--save", type=npz_path, metavar="FILE.npz",
        help="save the network, the options and the history in FILE.npz")
    return run(train_from_options, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
