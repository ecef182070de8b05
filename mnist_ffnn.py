"""mnist_ffnn.py: TP 4-6, Tasks 1 to 15. A 784-128-64-10 neural network in pure NumPy,
trained on MNIST by backpropagation, one example at a time.

Sigmoid hidden layers, a softmax output, no biases, weights N(0, 1) / sqrt(n). Names are
the TP's: a_0 the input, z_i the weighted sums, a_i the activations, e_i the errors, dw_i
(δw_i) the weight changes, λ the learning rate. No Python loop goes over examples, pixels
or neurons but train's. Run this file to walk through Tasks 1 to 15 (--help: options);
Tasks 16 to 18 are in mnist_ffnn_batched.py. Importing this file trains nothing.
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
    """A data file is missing or damaged, or a value does not fit (one sentence)."""


class Diverged(ArithmeticError):
    """The weights stopped being finite: the learning rate is far too large."""


# ---- Tasks 1-2: reading the MNIST files, and looking at them ---------------------------
IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(filepath):
    """Task 1: the ndarray in the idx file `filepath`, raw or gzip: two zero bytes, a type
    code, a number d of axes, d sizes (uint32, big-endian), the values; else DataError."""
    with open(filepath, "rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"               # how every gzip file begins
    try:
        with (gzip.open(filepath) if compressed else open(filepath, "rb")) as f:
            data = f.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{filepath}: damaged gzip file ({exc}).") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in IDX_TYPES:
        raise DataError(f"{filepath}: not an idx file (no two zero bytes and type code).")
    dtype, ndim = np.dtype(IDX_TYPES[data[2]]), data[3]
    start = 4 + 4 * ndim                                    # where the values begin
    if len(data) < start:
        raise DataError(f"{filepath}: truncated idx header ({ndim} sizes announced).")
    shape = tuple(np.frombuffer(data, ">u4", ndim, offset=4).tolist())
    size = math.prod(shape) * dtype.itemsize
    if len(data) - start != size:
        raise DataError(f"{filepath}: its header announces {size} bytes of values (shape "
                        f"{shape}), but it holds {len(data) - start}.")
    values = np.frombuffer(data, dtype, math.prod(shape), offset=start).reshape(shape)
    return values.astype(dtype.newbyteorder("="))       # a copy, native and writable


def load_mnist(data_dir=DATA_DIR):
    """Task 1: images (N, 28, 28) and labels (N,), uint8, of the training and test sets,
    from the files of `data_dir` with MNIST's names or the TP's, raw or .gz. DataError
    if a file is missing, or if the images and their labels 0-9 do not fit together."""
    if not Path(data_dir).is_dir():
        raise DataError(f"the data folder {data_dir} does not exist.")
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
        if x.dtype != np.uint8 or x.shape[1:] != (28, 28) or len(x) == 0:
            raise DataError(f"{paths[images]}: expected images of 28 x 28 bytes, found "
                            f"{x.dtype} {x.shape}.")
        if y.dtype != np.uint8 or y.shape != (len(x),) or y.max() > 9:
            raise DataError(f"{paths[labels]}: expected {len(x)} labels from 0 to 9, "
                            f"found {y.dtype} {y.shape} up to {y.max(initial=0)}.")
    return arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"]


def digit_as_text(image):
    """Task 2: a grey image (28, 28) of uint8 as text, without its blank rows: // 26 maps
    0-255 to 0-9, and fancy indexing picks one of ten characters per pixel, twice."""
    picture = np.array(list(" .:-=+*#%@"))[image[image.any(axis=1)] // 26]
    return "\n".join(map("".join, np.repeat(picture, 2, axis=1)))


def show_digits(images, labels):
    """Task 2: show the first nine images (N, 28, 28) with their labels (N,) as one 3 x 3
    mosaic with plt.imshow, until the window is closed (if there is a display)."""
    import matplotlib.pyplot as plt         # here, so that importing this file is quick
    mosaic = images[:9].reshape(3, 3, 28, 28).transpose(0, 2, 1, 3).reshape(84, 84)
    plt.imshow(mosaic, cmap="gray")
    plt.title("labels: " + "   ".join(map(str, labels[:9].reshape(3, 3).tolist())))
    if plt.gcf().canvas.required_interactive_framework is None:     # Agg: no window
        print("Task 2: there is no display here, so plt.imshow shows nothing.")
    else:
        plt.show()


# ---- Tasks 3-4: preprocessing -----------------------------------------------------------
def preprocess_inputs(images, dtype=np.float32):
    """Task 3: images (N, 28, 28) of uint8 -> inputs (N, 784) of `dtype`, in [0, 1]."""
    return np.divide(images.reshape(len(images), -1), 255, dtype=dtype)


def preprocess_outputs(labels, dtype=np.float32):
    """Task 4: labels (N,) -> one-hot expected outputs (N, 10) of `dtype`."""
    one_hot = np.zeros((len(labels), 10), dtype=dtype)
    one_hot[np.arange(len(labels)), labels] = 1      # fancy indexing on both axes
    return one_hot


# ---- Tasks 5-7: the components of the network ------------------------------------------
def layer_weights(m, n, rng=None, dtype=np.float32):
    """Task 5: the weights (m, n) between layers of m and n neurons, N(0, 1) / sqrt(n)."""
    return (np.random.default_rng(rng).standard_normal((m, n)) / np.sqrt(n)).astype(dtype)


def init_weights(rng=None, dtype=np.float32):
    """Task 6: the weight matrices [w1 (784, 128), w2 (128, 64), w3 (64, 10)]."""
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
    """Task 7: σ(z)_i = e^(z_i - X) / sum_j e^(z_j - X), X = max_j z_j, for z (10,) or for
    each row of z (B, 10) (Task 16): max and sum run over the last axis, kept for z."""
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


# ---- Tasks 8-12: forward pass, backpropagation, update, evaluation ---------------------
def forward_pass(a0, weights):
    """Tasks 8 and 10: the input a0 (784,) through the network `weights`: ([a0, a1 (128,),
    a2 (64,), a3 (10,)], [z1 (128,), z2 (64,), z3 (10,)]), a3 the output, a distribution
    over the digits. For a0 (N, 784) (Tasks 12, 16), every array gains the axis N."""
    w1, w2, w3 = weights
    z1 = a0 @ w1                  # (784,) . (784, 128) -> (128,)
    a1 = sigmoid(z1)
    z2 = a1 @ w2                  # (128,) . (128, 64) -> (64,)
    a2 = sigmoid(z2)
    z3 = a2 @ w3                  # (64,) . (64, 10) -> (10,)
    a3 = softmax(z3)
    return [a0, a1, a2, a3], [z1, z2, z3]


def backpropagation(activations, zs, y, weights):
    """Task 10: the changes [dw1 (784, 128), dw2 (128, 64), dw3 (64, 10)] for one example,
    from its forward pass (activations, zs) and expected output y (10,). a_{i-1}^T . e_i
    is a column times a row: np.outer, as a 1-D array has no column form (a.T is a)."""
    a0, a1, a2, a3 = activations
    z1, z2, z3 = zs
    w1, w2, w3 = weights
    e3 = a3 - y                                   # (10,)
    e2 = (e3 @ w3.T) * sigmoid_prime(z2)          # (10,) . (10, 64) -> (64,), ⊙ (64,)
    e1 = (e2 @ w2.T) * sigmoid_prime(z1)          # (64,) . (64, 128) -> (128,), ⊙ (128,)
    return [np.outer(a0, e1), np.outer(a1, e2), np.outer(a2, e3)]   # shapes of w1, w2, w3


def update_weights(weights, deltas, lr):
    """Task 11: w_i <- w_i - λ dw_i in place, λ = lr, for each w_i and its change dw_i."""
    for w, dw in zip(weights, deltas, strict=True):
        w -= lr * dw


def compute_error(x, y, weights):
    """Task 12: the error rate (0 to 1) on inputs x (N, 784), one-hot outputs y (N, 10)."""
    activations, zs = forward_pass(x, weights)            # all of x at once; a3: (N, 10)
    return float(np.mean(np.argmax(activations[-1], axis=-1) != np.argmax(y, axis=-1)))


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
        if not all(np.isfinite(w).all() for w in weights):
            raise Diverged(f"training diverged in epoch {epoch}; lower the learning rate.")
        error_rate = compute_error(x_test, y_test, weights)               # Task 12
        history.append({"epoch": epoch, "test_error": error_rate, "seconds": seconds})
        print(f"Epoch {epoch:>{len(str(epochs))}}/{epochs}  test error "
              f"{100 * error_rate:5.2f}%  ({seconds:.2f} s)", flush=True)
    return history


# ---- The TP from Task 1 to Task 15, from the command line ------------------------------
def walk_the_tp(args):
    """Print the answers to Question 1 and Tasks 2-13, then train (Task 15); return 0."""
    x_train, y_train, x_test, y_test = load_mnist(args.data_dir)            # Task 1
    print(f"Question 1: x_train {x_train.shape}, x_test {x_test.shape} (image, row, "
          f"column); y_train {y_train.shape}, y_test {y_test.shape} (image); uint8")
    print(f"Task 2: x_train[0], labelled {y_train[0]}, without its blank rows:\n"
          f"{digit_as_text(x_train[0])}\nand its pixels [12:17, 10:17]:\n"
          f"{x_train[0, 12:17, 10:17]}")
    show_digits(x_train, y_train)
    x_train, y_train = first_examples(args, x_train, y_train)
    x_train, x_test = (preprocess_inputs(x) for x in (x_train, x_test))
    y_train, y_test = (preprocess_outputs(y) for y in (y_train, y_test))
    print(f"Tasks 3-4: x_train {x_train.shape} {x_train.dtype} from {x_train.min()} to "
          f"{x_train.max()}; y_train[0] = {y_train[0]} (one-hot)")
    weights = init_weights(np.random.default_rng(args.seed))   # Tasks 5-6
    activations, zs = forward_pass(x_train[0], weights)                     # Task 9
    a3 = activations[-1]
    print(f"Task 9: forward_pass(x_train[0]) gives a3 = {np.array2string(a3, precision=3)}"
          f", of sum {a3.sum():.3f}, largest for digit {np.argmax(a3)}")
    print(f"Task 13: test error of the untrained network: "
          f"{100 * compute_error(x_test, y_test, weights):.2f}% (a guess errs 90%)")
    print(f"Task 15: training on {len(x_train)} examples, one at a time, λ = {args.lr}")
    with np.errstate(over="ignore", invalid="ignore"):         # train checks the weights
        train(x_train, y_train, x_test, y_test, weights, args.epochs, args.lr)
    return 0


def number(kind, relation, low):
    """An argparse type: a finite `kind` (int or float) `relation` (> or >=) `low`."""
    def parse(text):
        value = kind(text)            # not a number: argparse says "invalid int value"
        if math.isfinite(value) and (value > low or relation == ">=" and value == low):
            return value
        raise argparse.ArgumentTypeError(f"{text!r} is not {relation} {low}")
    parse.__name__ = kind.__name__
    return parse


def add_options(parser, lr):
    """Add the options both scripts take to `parser`; `lr` is the default λ."""
    parser.add_argument("--epochs", type=number(int, ">=", 0), default=30, metavar="N",
                        help="passes over the training set (default: %(default)s)")
    parser.add_argument("--lr", type=number(float, ">", 0), default=lr, metavar="λ",
                        help="learning rate (default: %(default)s)")
    parser.add_argument("--seed", type=number(int, ">=", 0), default=0, metavar="S",
                        help="seed of the random draws (default: %(default)s)")
    parser.add_argument("--train-size", type=number(int, ">=", 1), metavar="N",
                        help="train on the first N training examples (default: all)")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, metavar="DIR",
                        help="folder of the MNIST files (default: data/ by this script)")


def first_examples(args, x_train, y_train):
    """The first args.train_size training examples (all if None), x_train and y_train."""
    if args.train_size is not None and args.train_size > len(x_train):
        raise DataError(f"--train-size {args.train_size} is larger than the "
                        f"{len(x_train)} training examples.")
    return x_train[:args.train_size], y_train[:args.train_size]


def run(command, args, errors=(DataError, Diverged)):
    """Run command(args): its exit status; 1 after an error, told in one sentence; 130
    after Ctrl-C. The errors: those of `errors`, an OSError and a MemoryError."""
    try:
        return command(args)
    except BrokenPipeError:                 # the reader left, as in `... | head -1`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())    # quietly
        return 1
    except (*errors, OSError, MemoryError) as exc:          # an OSError names its file
        print(f"error: {exc.filename}: {exc.strerror}." if getattr(exc, "filename", None)
              else f"error: {exc or 'not enough memory.'}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


def main(argv=None):
    """The command line of this script: returns its exit status."""
    parser = argparse.ArgumentParser(description=__doc__[:__doc__.index("\n\n")])
    add_options(parser, lr=0.001)
    return run(walk_the_tp, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
