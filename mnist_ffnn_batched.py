"""mnist_ffnn_batched.py: TP 4-6, Tasks 16 to 18. The network of mnist_ffnn.py, trained
on batches of B examples pushed through it at once.

Task 16 puts a batch axis B in front of the arrays: a0 (B, 784), y (B, 10), a_i and e_i
(B, n_i); the weights keep their shapes. The softmax, forward_pass and compute_error of
mnist_ffnn.py already work on such stacks, so they are imported; backpropagation changes.
Task 17 trains on the whole training set as one batch, Task 18 on batches of any size:

    python mnist_ffnn_batched.py                                 # B = 10, λ = 0.03
    python mnist_ffnn_batched.py --batch-size all --lr 0.001     # Task 17

--save keeps the trained network in an .npz file, which --load and examples/ read.
"""

import os

if __name__ == "__main__":       # before NumPy starts: one BLAS thread (README, Speed)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import shutil
import sys
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np

from mnist_ffnn import (DataError, Diverged, add_options, compute_error, first_examples,
                        forward_pass, init_weights, load_mnist, number, preprocess_inputs,
                        preprocess_outputs, run, sigmoid_prime, update_weights)


# ---- Task 16: backpropagation for a batch ---------------------------------------------
def backpropagation(activations, zs, y, weights):
    """Task 16: the weight changes [dw1 (784, 128), dw2 (128, 64), dw3 (64, 10)] of a
    batch, from its forward pass (activations, zs) and its expected outputs y (B, 10).
    The equations of one example, with the axis B in front; each a_{i-1}^T . e_i is now
    a matrix product, (n_{i-1}, B) . (B, n_i): the sum of the examples' outer products."""
    a0, a1, a2, a3 = activations
    z1, z2, z3 = zs
    w1, w2, w3 = weights
    e3 = a3 - y                                   # (B, 10)
    e2 = (e3 @ w3.T) * sigmoid_prime(z2)          # (B, 10) . (10, 64) -> (B, 64), ⊙
    e1 = (e2 @ w2.T) * sigmoid_prime(z1)          # (B, 64) . (64, 128) -> (B, 128), ⊙
    # np.dot, not @: for B = 1, @ computes (784, 1) . (1, 128) without BLAS, slowly.
    return [np.dot(a0.T, e1), np.dot(a1.T, e2), np.dot(a2.T, e3)]


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
    batches of `batch_size` examples (the last may be smaller), taken in a new order
    drawn by the Generator `rng` each epoch (in their order if None), each pushed through
    the TP's three steps with learning rate `lr`. After each epoch, print its mean loss
    (cross_entropy, each example's before its batch's update), the error rate on x_test,
    y_test and on `validation`, a pair (x, y), if given, and its seconds. The epochs'
    records (dicts) are appended to `history` (a new list if None) and returned: a caller
    keeps them if training is interrupted. Diverged if the weights stop being finite."""
    history = [] if history is None else history
    n = len(x_train)
    for epoch in range(1, epochs + 1):                          # the loop over epochs
        start = time.perf_counter()
        order = np.arange(n) if rng is None else rng.permutation(n)
        z3 = np.empty_like(y_train)          # the z3 of the examples in the order `order`
        for first in range(0, n, batch_size):                   # the loop over batches
            batch = order[first:first + batch_size]
            a0, y = x_train[batch], y_train[batch]
            activations, zs = forward_pass(a0, weights)                   # Task 8
            deltas = backpropagation(activations, zs, y, weights)         # Task 16
            update_weights(weights, deltas, lr)                           # Task 11
            z3[first:first + batch_size] = zs[-1]
        seconds = time.perf_counter() - start
        if not all(np.isfinite(w).all() for w in weights):
            raise Diverged(f"training diverged in epoch {epoch}; lower the learning rate.")
        record = {"epoch": epoch, "loss": cross_entropy(z3, y_train[order]) / n,
                  "test_error": compute_error(x_test, y_test, weights), "seconds": seconds}
        line = (f"Epoch {epoch:>{len(str(epochs))}}/{epochs}  loss {record['loss']:.4f}  "
                f"test error {100 * record['test_error']:5.2f}%")
        if validation is not None:
            record["validation_error"] = compute_error(*validation, weights)
            line += f"  validation error {100 * record['validation_error']:5.2f}%"
        history.append(record)
        print(f"{line}  ({seconds:.2f} s)", flush=True)
    return history


# ---- A trained network in a file: the weights, the options and the history ------------
class OutputError(Exception):
    """An output cannot be written, or is a file that is not ours to replace."""


def weight_names(weights):
    """The names of the arrays of `weights` in a model file: w1, w2, ... for matrices, in
    their order, and b1, b2, ... for vectors (biases, if a network has them)."""
    matrix = np.array([np.ndim(w) == 2 for w in weights])
    numbers = np.where(matrix, np.cumsum(matrix), np.cumsum(~matrix)).tolist()
    return [f"{'w' if m else 'b'}{k}" for m, k in zip(matrix.tolist(), numbers)]


def check_output(path):
    """OutputError unless `path` (through a symlink) ends in .npz and names no file yet or
    a network that save_model wrote, below a folder where one can write."""
    target = Path(os.path.realpath(path))
    ours = (target.is_file() and zipfile.is_zipfile(target)        # its settings in it
            and "settings.npy" in zipfile.ZipFile(target).namelist())
    if target.suffix != ".npz" or target.exists() and not ours:
        raise OutputError(f"cannot save to {path}: only a new .npz file, or one that "
                          "holds a saved network, is written; choose another name.")
    folder = next(folder for folder in target.parents if folder.exists())
    if not (folder.is_dir() and os.access(folder, os.W_OK)):
        raise OutputError(f"cannot save to {path}: {folder} is not a writable folder.")


def save_model(path, weights, settings, history):
    """Save the weights, the dict `settings` and the list `history` in the .npz file
    `path`: written to a temporary file beside it, then renamed over it (os.replace), so
    that an interrupted save leaves any older file whole; a replaced file keeps its
    permissions. OutputError if check_output refuses `path` or the writing fails."""
    check_output(path)
    target = Path(os.path.realpath(path))
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "xb") as f:
            np.savez(f, **dict(zip(weight_names(weights), weights)),
                     settings=json.dumps(settings), history=json.dumps(history))
        if target.exists():
            shutil.copymode(target, temporary)
        os.replace(temporary, target)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}.") from None
    finally:
        temporary.unlink(missing_ok=True)


def load_model(path, dtype=np.float32):
    """(weights, settings, history) from the .npz file `path` that save_model wrote, the
    weights as `dtype`. DataError, naming the file, if it is not such a file, or if its
    weights are not finite or not the arrays init_weights makes."""
    expected = init_weights(dtype=dtype)
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as archive:
            weights = [archive[name].astype(dtype) for name in weight_names(expected)]
            settings = json.loads(str(archive["settings"]))
            history = json.loads(str(archive["history"]))
    except (KeyError, ValueError, TypeError, AttributeError, EOFError,  # an array missing,
            zipfile.BadZipFile, zlib.error):    # a foreign or damaged file, an .npy file
        raise DataError(f"{path}: not a network of these layers saved by "
                        "--save.") from None
    shapes, wanted = [w.shape for w in weights], [w.shape for w in expected]
    if shapes != wanted:
        raise DataError(f"{path}: its weights have the shapes {shapes}, not {wanted}.")
    if not all(np.isfinite(w).all() for w in weights):
        raise DataError(f"{path}: its weights are not all finite numbers.")
    return weights, settings, history


# ---- The command line -------------------------------------------------------------------
def batch_size(text):
    """The argparse type of --batch-size: an integer >= 1, or "all" (None)."""
    if text.lower() == "all":
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is neither an integer >= 1 nor 'all'")
    return int(text)


def parse_options(argv=None):
    """The options of this script (argparse exits with status 2 on a bad one)."""
    parser = argparse.ArgumentParser(description=__doc__[:__doc__.index("\n\n")])
    add_options(parser, lr=0.03)           # λ and B chosen on a validation split (report)
    parser.add_argument("--batch-size", type=batch_size, default=10, metavar="B",
                        help="examples per batch, or 'all' (Task 17) (default: 10)")
    parser.add_argument("--no-shuffle", dest="shuffle", action="store_false",
                        help="keep the examples' order (default: a new order every epoch)")
    parser.add_argument("--validation", type=number(int, ">=", 1), metavar="N",
                        help="hold out N training examples and print their error rate")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                        help="type of the arrays (default: %(default)s)")
    parser.add_argument("--load", type=Path, metavar="FILE",
                        help="start from the network in FILE (--epochs 0: evaluate it)")
    parser.add_argument("--save", type=Path, metavar="FILE",
                        help="save the network, its options and history in FILE (.npz)")
    return parser.parse_args(argv)


def train_from_options(args):
    """Build or load the network, train it as `args` says, save it if asked and print
    its test error. Returns the exit status: 0; 130 after Ctrl-C, or 1 if the output
    was closed, training then stops and what --save asks is still written."""
    if args.save is not None:
        check_output(args.save)                      # before training, not after it
    dtype, rng = np.dtype(args.dtype), np.random.default_rng(args.seed)
    weights, settings, history = (load_model(args.load, dtype) if args.load
                                  else (init_weights(rng, dtype), {}, []))
    x_train, y_train, x_test, y_test = load_mnist(args.data_dir)
    x_train, y_train = first_examples(args, x_train, y_train)
    x_train, x_test = (preprocess_inputs(x, dtype) for x in (x_train, x_test))
    y_train, y_test = (preprocess_outputs(y, dtype) for y in (y_train, y_test))
    validation = None
    if args.validation is not None:
        if args.validation >= len(x_train):
            raise DataError(f"--validation {args.validation} leaves no training example.")
        held = rng.permutation(len(x_train)) < args.validation   # N examples at random
        validation = x_train[held], y_train[held]
        x_train, y_train = x_train[~held], y_train[~held]
    status = 0
    try:
        with np.errstate(over="ignore", invalid="ignore"):    # train checks the weights
            train(x_train, y_train, x_test, y_test, weights, args.epochs, args.lr,
                  args.batch_size or len(x_train),                 # None: 'all'
                  rng if args.shuffle else None,
                  validation, history)
    except KeyboardInterrupt:
        print("Interrupted: training stopped.", file=sys.stderr)
        status = 130
    except BrokenPipeError:                   # `... | head -1`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print("Training stopped: its output was closed.", file=sys.stderr)
        status = 1
    if args.save is not None:
        options = {key: str(value) if isinstance(value, Path) else value for key, value
                   in vars(args).items()} | {"stopped_early": bool(status)}   # ^C or pipe
        save_model(args.save, weights, options, history)
        print(f"Saved to {args.save}.", file=sys.stderr if status else sys.stdout)
    error_rate = compute_error(x_test, y_test, weights)
    print(f"Test error: {100 * error_rate:.2f}% ({round(error_rate * len(x_test))}/"
          f"{len(x_test)} misclassified)")
    return status


def main(argv=None):
    """The command line of this script: returns its exit status."""
    return run(train_from_options, parse_options(argv), (DataError, Diverged, OutputError))


if __name__ == "__main__":
    sys.exit(main())
