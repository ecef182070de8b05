"""mnist_ffnn.py: TP 4-6, Tasks 1 to 15. A 784-128-64-10 neural network in pure NumPy,
trained on MNIST by backpropagation, one example at a time.

Sigmoid hidden layers, a softmax output, no biases, weights N(0, 1) / sqrt(n). Names are
the TP's (a0, z_i, a_i, e_i, dw_i for delta w_i, lr for lambda). From Task 7 on, each
function takes one example, a0 (784,), or a batch, a0 (B, 784) (Task 16), so that
mnist_ffnn_batched.py imports them for Tasks 17-18. No Python loop goes over examples,
pixels or neurons but train's. Run this file to walk through Tasks 1-15 (--help).
"""

import argparse
import gzip
import math
import os
import sys
import time
import zlib
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"


class DataError(Exception):
    """A file or a value that cannot be used, told in one sentence after "error:"."""


# ---- Tasks 1-2: reading the MNIST files, and looking at them ---------------------------
IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(filepath):
    """Task 1: the ndarray in the idx file `filepath`, raw or gzip: two zero bytes, a type
    code, a number d of axes, d sizes (uint32, big-endian), the values; else DataError."""
    data = Path(filepath).read_bytes()
    try:
        data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data    # gzip's mark
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{filepath}: damaged gzip file ({exc}).") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in IDX_TYPES \
            or len(data) < 4 + 4 * data[3]:
        raise DataError(f"{filepath}: not an idx file (zero, zero, a type code, sizes).")
    dtype, start = np.dtype(IDX_TYPES[data[2]]), 4 + 4 * data[3]   # where values begin
    shape = tuple(np.frombuffer(data[4:start], ">u4").tolist())
    size = math.prod(shape) * dtype.itemsize
    if len(data) - start != size:
        raise DataError(f"{filepath}: its header announces {size} bytes of values (shape "
                        f"{shape}), but it holds {len(data) - start}.")
    values = np.frombuffer(data, dtype, offset=start).reshape(shape)
    return values.astype(dtype.newbyteorder("="))       # a copy, native and writable


def load_mnist(data_dir=DATA_DIR):
    """Task 1: images (N, 28, 28) and labels (N,) of the training and test sets, uint8,
    from the files of `data_dir` (MNIST's names or the TP's, raw or .gz), or DataError."""
    arrays, paths = {}, {}
    for key, name in (("x_train", "train-images"), ("y_train", "train-labels"),
                      ("x_test", "t10k-images"), ("y_test", "t10k-labels")):   # four files
        paths[key] = min((path for path in Path(data_dir).glob(f"{name}[-.]idx?-ubyte*")
                          if path.is_file()), default=None)
        if paths[key] is None:
            raise DataError(f"no {name} file (.gz or not) in the folder {data_dir}.")
        arrays[key] = read_idx(paths[key])
    for images, labels in (("x_train", "y_train"), ("x_test", "y_test")):
        x, y = arrays[images], arrays[labels]
        if x.shape[1:] != (28, 28) or y.shape != x.shape[:1] or not len(y) or y.max() > 9:
            raise DataError(f"{paths[images]}, {paths[labels]}: not as many 28 x 28 images "
                            "as labels 0-9.")
    return arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"]


def show_digits(images, labels):
    """Task 2: show the first nine images (N, 28, 28) with their labels (N,) as one 3 x 3
    mosaic with plt.imshow, in a window that the user closes (if there is a display)."""
    mosaic = images[:9].reshape(3, 3, 28, 28).swapaxes(1, 2).reshape(84, 84)
    try:
        import matplotlib.pyplot as plt     # here, so that importing this file is quick
        plt.imshow(mosaic, cmap="gray")
    except (ValueError, ImportError):       # MPLBACKEND, set outside, does not run here
        return print("Task 2: MPLBACKEND names no backend that can run here; no picture.")
    plt.title("labels: " + "   ".join(map(str, labels[:9].reshape(3, 3).tolist())))
    if plt.gcf().canvas.required_interactive_framework is None:     # Agg: no window
        return print("Task 2: no window opens here (no display, or MPLBACKEND=Agg).")
    print("Task 2: a window shows the first nine digits; close it to go on.", flush=True)
    plt.show()


# ---- Tasks 3-4: preprocessing -----------------------------------------------------------
def preprocess_inputs(images, dtype=np.float32):
    """Task 3: uint8 images (N, 28, 28), or one, -> (N, 784), or (784,), dtype in [0, 1]."""
    return np.divide(images.reshape(images.shape[:-2] + (-1,)), 255, dtype=dtype)


def preprocess_outputs(labels, dtype=np.float32):
    """Task 4: labels (N,) -> one-hot expected outputs (N, 10) of `dtype`."""
    one_hot = np.zeros((len(labels), 10), dtype=dtype)
    one_hot[np.arange(len(labels)), labels] = 1      # fancy indexing on both axes
    return one_hot


# ---- Tasks 5-7: the components of the network ------------------------------------------
def layer_weights(m, n, rng=None, dtype=np.float32):
    """Task 5: weights (m, n) between layers of m and n neurons, N(0, 1) / sqrt(n)."""
    return (np.random.default_rng(rng).standard_normal((m, n)) / np.sqrt(n)).astype(dtype)


def init_weights(rng=None, dtype=np.float32):
    """Task 6: the weight matrices [w1 (784, 128), w2 (128, 64), w3 (64, 10)], drawn by
    the Generator `rng`, or by one Generator seeded with `rng` (an int, or None)."""
    rng = np.random.default_rng(rng)      # one stream for all layers (a Generator is kept)
    w1 = layer_weights(784, 128, rng, dtype)          # the 28 x 28 pixels -> layer 1
    w2 = layer_weights(128, 64, rng, dtype)
    w3 = layer_weights(64, 10, rng, dtype)            # layer 2 -> the ten digits
    return [w1, w2, w3]


def sigmoid(x):
    """Task 7: S(x) = 1 / (1 + e^-x), element-wise, as (1 + tanh(x/2)) / 2: no overflow."""
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def sigmoid_prime(x):
    """Task 7: S'(x) = e^-x / (e^-x + 1)^2, element-wise, taken at |x| (S' is even): as
    written it is NaN below x = -88.7 in float32, infinity over infinity."""
    e = np.exp(-np.abs(x))
    return e / (e + 1) ** 2


def softmax(z):
    """Tasks 7, 16: sigma(z)_i = e^(z_i - X) / sum_j e^(z_j - X), X = max_j z_j, for z
    (10,) or each row of z (B, 10): max and sum run over the last axis."""
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


# ---- Tasks 8-12 and 16: forward pass, backpropagation, update, evaluation --------------
def forward_pass(a0, weights):
    """Tasks 8, 10 and 16: the input a0 (784,) through the network `weights`: ([a0,
    a1 (128,), a2 (64,), a3 (10,)], [z1 (128,), z2 (64,), z3 (10,)]), a3 the output, a
    distribution over the digits. For a batch a0 (B, 784), each array gains the axis B."""
    w1, w2, w3 = weights
    z1 = a0 @ w1                  # (784,) . (784, 128) -> (128,); (B, 784) -> (B, 128)
    a1 = sigmoid(z1)
    z2 = a1 @ w2                  # (128,) . (128, 64) -> (64,)
    a2 = sigmoid(z2)
    z3 = a2 @ w3                  # (64,) . (64, 10) -> (10,)
    a3 = softmax(z3)
    return [a0, a1, a2, a3], [z1, z2, z3]


def backpropagation(activations, zs, y, weights):
    """Tasks 10, 16: the changes [dw1 (784, 128), dw2 (128, 64), dw3 (64, 10)] from a
    forward pass (activations, zs) and the expected output y (10,); for a batch, each
    a_i, z_i, e_i and y gains the axis B in front, and dw_i sums the examples' changes."""
    a0, a1, a2, a3 = activations
    z1, z2, z3 = zs
    w1, w2, w3 = weights
    e3 = a3 - y                                   # (10,), or (B, 10)
    e2 = (e3 @ w3.T) * sigmoid_prime(z2)          # (10,) . (10, 64) -> (64,), ⊙ (64,)
    e1 = (e2 @ w2.T) * sigmoid_prime(z1)          # (64,) . (64, 128) -> (128,), ⊙ (128,)
    # dw_i = a_{i-1}^T . e_i: for a batch, (n_{i-1}, B) . (B, n_i), the sum of its examples'
    # changes. One example is made a batch of one, rows (1, n): a column times a row.
    if a0.ndim == 1:                    # for a 1-D array a.T equals a: no column form
        a0, a1, a2, e1, e2, e3 = (v[np.newaxis] for v in (a0, a1, a2, e1, e2, e3))
    return [np.dot(a0.T, e1), np.dot(a1.T, e2), np.dot(a2.T, e3)]  # np.dot: benchmark.py


def update_weights(weights, deltas, lr):
    """Task 11: w_i <- w_i - lambda dw_i in place, lambda = lr, for each w_i and dw_i."""
    for w, dw in zip(weights, deltas):
        w -= lr * dw


def compute_error(x, y, weights):
    """Task 12: the error rate (0 to 1) on inputs x (N, 784), one-hot outputs y (N, 10)."""
    activations, zs = forward_pass(x, weights)            # all of x at once; a3: (N, 10)
    return float(np.mean(np.argmax(activations[-1], axis=-1) != np.argmax(y, axis=-1)))


def check_finite(weights, epoch):
    """DataError, naming the epoch, if a weight of `weights` is no longer a number."""
    if not all(np.isfinite(w).all() for w in weights):
        raise DataError(f"training diverged in epoch {epoch}; lower the learning rate.")


# ---- Tasks 14-15: training, one example at a time --------------------------------------
def train(x_train, y_train, x_test, y_test, weights, epochs=30, lr=0.001):
    """Task 14: train `weights` in place on x_train (N, 784), y_train (N, 10), one example
    at a time; print and return each epoch's {epoch, test_error, seconds} (Task 15)."""
    history = []
    for epoch in range(1, epochs + 1):                        # the loop over epochs
        start = time.perf_counter()
        for a0, y in zip(x_train, y_train):                   # the loop over examples
            activations, zs = forward_pass(a0, weights)                   # Task 8
            deltas = backpropagation(activations, zs, y, weights)         # Task 10
            update_weights(weights, deltas, lr)                           # Task 11
        seconds = time.perf_counter() - start
        check_finite(weights, epoch)
        error_rate = compute_error(x_test, y_test, weights)               # Task 12
        history.append({"epoch": epoch, "test_error": error_rate, "seconds": seconds})
        print(f"Epoch {epoch:>{len(str(epochs))}}/{epochs}  test error "
              f"{100 * error_rate:5.2f}%  ({seconds:.2f} s)", flush=True)
    return history


def walk_the_tp(args):
    """python mnist_ffnn.py: answer Question 1 and Tasks 2-13, then train (Task 15)."""
    x_train, y_train, x_test, y_test = load_mnist(args.data_dir)            # Task 1
    print(f"Question 1: x_train {x_train.shape}, x_test {x_test.shape} (image, row, "
          f"column); y_train {y_train.shape}, y_test {y_test.shape} (image); uint8")
    print(f"Task 2: x_train[0, 12:17, 10:17] (a {y_train[0]}):\n{x_train[0, 12:17, 10:17]}")
    show_digits(x_train, y_train)
    x_train, y_train = x_train[:args.train_size], y_train[:args.train_size]
    x_train, x_test = (preprocess_inputs(x) for x in (x_train, x_test))
    y_train, y_test = (preprocess_outputs(y) for y in (y_train, y_test))
    print(f"Tasks 3-4: x_train {x_train.shape} {x_train.dtype} in [{x_train.min()}, "
          f"{x_train.max()}]; y_train[0] = {y_train[0]} (one-hot)")
    weights = init_weights(args.seed)                                       # Tasks 5-6
    a3 = forward_pass(x_train[0], weights)[0][-1]            # Task 9: the output a3
    print(f"Task 9: forward_pass(x_train[0]) gives a3 = {np.array2string(a3, precision=3)}"
          f", of sum {a3.sum():.3f}, largest for digit {np.argmax(a3)}")
    print(f"Task 13: test error of the untrained network: "
          f"{100 * compute_error(x_test, y_test, weights):.2f}% (a guess errs 90%)")
    print(f"Task 15: training on {len(x_train)} examples, one at a time, learning rate "
          f"{args.lr}")
    with np.errstate(over="ignore", invalid="ignore"):         # train checks the weights
        train(x_train, y_train, x_test, y_test, weights, args.epochs, args.lr)
    return 0


def number(kind, low, above=False):
    """An argparse type: a finite `kind` (int or float) >= low, or > low if `above`."""
    def parse(text):
        value = kind(text)            # not a number: argparse says "invalid int value"
        if math.isfinite(value) and (value > low if above else value >= low):
            return value
        raise argparse.ArgumentTypeError(f"{text!r} is not {'>' if above else '>='} {low}")
    parse.__name__ = kind.__name__
    return parse


def options(description, lr):
    """The argparse parser of the options both scripts take; `lr` is the default lambda."""
    parser = argparse.ArgumentParser(description=description)
    add = parser.add_argument
    add("--epochs", type=number(int, 0), default=30, help="passes over the data (30)")
    add("--lr", type=number(float, 0, above=True), default=lr, help=f"learning rate ({lr})")
    add("--seed", type=number(int, 0), default=0, help="seed of the random draws (0)")
    add("--train-size", type=number(int, 1), metavar="N", help="use N training examples")
    add("--data-dir", type=lambda text: Path(text).expanduser(), default=DATA_DIR,
        metavar="DIR", help="folder of the MNIST files (data/ beside this script)")
    return parser


def run(command, args):
    """command(args) -> its exit status, or 1 after an error told in one sentence."""
    try:
        status = command(args)
        sys.stdout.flush()                  # a closed output shows here, not at exit
        return status
    except BrokenPipeError:                 # the reader has gone, as in `... | head -1`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (DataError, OSError, MemoryError) as exc:       # an OSError names a file
        where = f"{exc.filename}: {exc.strerror}." if getattr(exc, "filename", None) else ""
        print(f"error: {where or exc or 'not enough memory.'}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:               # Ctrl-C
        return 130


def main(argv=None):
    """The command line of this script: returns its exit status."""
    parser = options(__doc__[:__doc__.index("\n\n")], lr=0.001)
    return run(walk_the_tp, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
