"""mnist_ffnn.py -- TP 4-6, Tasks 1 to 15: a 784-128-64-10 neural network in pure NumPy,
trained on MNIST by backpropagation, one example at a time.

Two hidden layers of 128 and 64 sigmoid neurons, 10 softmax outputs, no biases, weights
drawn from N(0, 1) and scaled by 1/sqrt(n). In the TP's notation, with a_0 the input,
z_i the weighted sums, a_i the activations, e_i the error values, dw_i (the TP's δw_i)
the weight changes and λ the learning rate:

    z_1 = a_0 . w_1   a_1 = S(z_1)        e_3 = a_3 - y                   dw_3 = a_2^T . e_3
    z_2 = a_1 . w_2   a_2 = S(z_2)        e_2 = (e_3 . w_3^T) * S'(z_2)   dw_2 = a_1^T . e_2
    z_3 = a_2 . w_3   a_3 = softmax(z_3)  e_1 = (e_2 . w_2^T) * S'(z_1)   dw_1 = a_0^T . e_1
                                          then w_i <- w_i - λ dw_i

The functions follow the TP's tasks in order, every computation on examples, pixels or
neurons a NumPy array operation (the only loops over them: train's). `walk_the_tp` runs
them as a student does (`python mnist_ffnn.py`; options: `--help`). Tasks 16-18 and all
that goes beyond the TP, the command line's plumbing included, are in
mnist_ffnn_batched.py, which must sit next to this file. Importing it trains nothing.
"""

import gzip
import os
import stat
import sys
import time
import zlib
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"
LAYER_SIZES = (784, 128, 64, 10)     # n_0 (the 28 x 28 pixels) .. n_3 (the ten digits)


class DataError(Exception):
    """A data file or value is unusable: the message is one sentence naming it."""


class Diverged(ArithmeticError):
    """Training produced non-finite weights (or a loss above the batched script's limit)."""


# ---- Tasks 1-2: reading and looking at the MNIST files ----------------------------------

IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
             0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
CHUNK = 1 << 16                      # read_idx reads a file 64 KiB at a time


def read_idx(filepath):
    """Task 1 (our hardened version of the reader the TP provides): the ndarray in an idx
    file, raw or gzip: two zero bytes, a type code, the number d of dimensions, d
    big-endian uint32 sizes, then the values in C order. Native byte order; memory taken
    only once the file is seen to hold the values (a gzip stream is read twice: counted,
    then copied). Anything else raises DataError, one sentence naming the file."""
    path = Path(filepath)
    with open(path, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise DataError(f"{path}: not a regular file.")
        compressed = f.read(2) == b"\x1f\x8b"
        size = os.fstat(f.fileno()).st_size
    try:
        with (gzip.open(path, "rb") if compressed else open(path, "rb")) as f:
            return _read_idx(f, path, None if compressed else size)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: corrupt gzip file ({exc}).") from None


def _read_idx(f, path, size):
    """read_idx's work on the open file f of `path`: `size` bytes, or None for a gzip
    stream, whose size is only known once read."""
    magic = f.read(4)
    if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] not in IDX_TYPES:
        raise DataError(f"{path}: not an idx file (it does not start with two zero bytes "
                        "and a type code 08, 09, 0B, 0C, 0D or 0E).")
    dtype, ndim = IDX_TYPES[magic[2]], magic[3]
    header = f.read(4 * ndim)
    if len(header) < 4 * ndim or ndim > 32:
        raise DataError(f"{path}: bad idx header ({ndim} dimensions announced, at most "
                        f"32 accepted; {len(header)} bytes of sizes present).")
    shape = tuple(np.frombuffer(header, ">u4").tolist())
    announced = np.prod(shape, dtype=object) * dtype.itemsize      # exact: Python ints
    start = 4 + 4 * ndim
    if size is not None:                                           # a raw file
        found = size - start
    else:                                   # gzip: count at most announced + 1 bytes
        found = 0
        while found <= announced and (chunk := f.read(min(announced + 1 - found, CHUNK))):
            found += len(chunk)
    if found != announced:
        holds = f"more than {announced}" if size is None and found > announced else found
        raise DataError(f"{path}: {'truncated' if found < announced else 'oversized'} idx "
                        f"file (its header announces shape {shape}, i.e. {announced} bytes "
                        f"of values; it holds {holds}).")
    try:
        values = np.empty(shape, dtype)
    except ValueError:                       # e.g. (0, 2**32 - 1, 2**32 - 1, 2**32 - 1)
        raise DataError(f"{path}: the shape {shape} of its idx header is too large for "
                        "NumPy.") from None
    except MemoryError:
        raise DataError(f"{path}: its {announced} bytes of values (shape {shape}) do not "
                        "fit in memory.") from None
    f.seek(start)                            # gzip: decompress again, from the start
    buffer, filled = memoryview(values.reshape(-1).view(np.uint8)), 0
    while filled < announced and (n := f.readinto(buffer[filled:filled + CHUNK])):
        filled += n
    if filled != announced:                  # the file changed while it was read
        raise DataError(f"{path}: changed while it was being read.")
    return values.astype(dtype.newbyteorder("="), copy=False)     # native byte order


MNIST_FILES = {"x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),  # TP's
               "y_train": ("train-labels-idx1-ubyte", "train-labels.idx3-ubyte"),
               "x_test": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
               "y_test": ("t10k-labels-idx1-ubyte", "t10k-labels.idx3-ubyte")}


def mnist_paths(data_dir=DATA_DIR):
    """The paths of the four MNIST files in `data_dir` (raw or .gz, either name), as a
    dict {"x_train": path, ...}; DataError if the directory or a file is missing."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        problem = "is not a directory" if data_dir.exists() else "does not exist"
        raise DataError(f"data directory {data_dir} {problem}.")
    paths = {}
    for key, names in MNIST_FILES.items():                  # the four files
        candidates = [data_dir / (name + ext) for name in names for ext in ("", ".gz")]
        paths[key] = next((p for p in candidates if p.is_file()), None)
        if paths[key] is None:
            raise DataError(f"no {' or '.join(p.name for p in candidates)} in {data_dir}.")
    return paths


def load_mnist(data_dir=DATA_DIR):
    """Task 1: x_train (N, 28, 28), y_train (N,), x_test (M, 28, 28), y_test (M,), all
    uint8, from the four idx files of `data_dir`, checked to fit together (DataError if
    not). Any MNIST-format set (Fashion-MNIST...) will do."""
    paths = mnist_paths(data_dir)
    arrays = {key: read_idx(path) for key, path in paths.items()}
    for images, labels in (("x_train", "y_train"), ("x_test", "y_test")):
        x, y = arrays[images], arrays[labels]
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28) or not len(x):
            raise DataError(f"{paths[images]}: expected images, uint8 of shape (N, 28, 28) "
                            f"with N > 0; found {x.dtype} {x.shape}.")
        if y.dtype != np.uint8 or y.shape != (len(x),) or y.max() > 9:
            raise DataError(f"{paths[labels]}: expected {len(x)} labels 0-9 (uint8), found "
                            f"{y.dtype} {y.shape}{f' up to {y.max()}' if y.size else ''}.")
    return arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"]


def digit_as_text(image):
    """Task 2: a grey image (28, 28) of uint8 as text (report.md has the plt.imshow view).
    Fancy indexing picks every character at once: palette[image // 26] gives each pixel
    one of ten, ' ' (0) to '@' (255), written twice (a character is twice as tall as
    wide); blank rows are dropped."""
    picture = np.array(list(" .:-=+*#%@"))[image[image.any(axis=1)] // 26]   # palette
    return "\n".join(map("".join, np.repeat(picture, 2, axis=1)))


# ---- Tasks 3-4: preprocessing -----------------------------------------------------------

def preprocess_inputs(images, dtype=np.float32):
    """Task 3: images (N, 28, 28) of uint8 -> inputs (N, 784) in [0, 1], of `dtype`: a
    view, then one division computed in `dtype` (no 376 MB float64 copy of the set)."""
    return np.divide(images.reshape(len(images), -1), 255, dtype=dtype)


def preprocess_outputs(labels, dtype=np.float32):
    """Task 4: digit labels (N,) -> one-hot expected outputs (N, 10) of `dtype`."""
    one_hot = np.zeros((len(labels), 10), dtype=dtype)
    one_hot[np.arange(len(labels)), labels] = 1       # fancy indexing on both axes
    return one_hot


def preprocess(x_train, y_train, x_test, y_test, train_size=None, dtype=np.float32):
    """Tasks 3 and 4 on the four arrays of Task 1: (x_train (N, 784), y_train (N, 10),
    x_test, y_test) of `dtype`, keeping only the first `train_size` training examples
    (all if None; DataError if there are fewer)."""
    if train_size is not None and train_size > len(x_train):
        raise DataError(f"--train-size {train_size} is larger than the {len(x_train)} "
                        "training examples.")
    return (preprocess_inputs(x_train[:train_size], dtype),
            preprocess_outputs(y_train[:train_size], dtype),
            preprocess_inputs(x_test, dtype), preprocess_outputs(y_test, dtype))


# ---- Tasks 5-7: the components of the FFNN ----------------------------------------------

def layer_weights(m, n, rng=None, dtype=np.float32):
    """Task 5: the weights (m, n) from a layer of m neurons to one of n, drawn from
    N(0, 1) by the Generator `rng` (a new one if None; in float64, then cast) and scaled
    by 1/sqrt(n)."""
    rng = np.random.default_rng() if rng is None else rng
    return (rng.standard_normal((m, n)) / np.sqrt(n)).astype(dtype)


def init_weights(rng, dtype=np.float32):
    """Task 6: the three weight matrices [w1 (784, 128), w2 (128, 64), w3 (64, 10)]."""
    n0, n1, n2, n3 = LAYER_SIZES
    w1 = layer_weights(n0, n1, rng, dtype)
    w2 = layer_weights(n1, n2, rng, dtype)
    w3 = layer_weights(n2, n3, rng, dtype)
    return [w1, w2, w3]


def sigmoid(x):
    """Task 7: S(x) = 1 / (1 + e^-x), element-wise on an array of any shape. Computed
    as (1 + tanh(x/2)) / 2, the same function (multiply the fraction above and below by
    e^(x/2)), which never overflows: e^-x overflows in float32 below x = -88.72."""
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def sigmoid_prime(x):
    """Task 7: S'(x) = e^-x / (e^-x + 1)^2, element-wise on an array of any shape. As
    written, it overflows in float32 ((e^-x + 1)^2 below x = -44.4; e^-x below -88.72,
    giving inf / inf = nan); S' is even, so we evaluate it at |x|, where e^-|x| <= 1."""
    e = np.exp(-np.abs(x))
    return e / (e + 1) ** 2


def softmax(z):
    """Task 7: σ(z)_i = e^(z_i - X) / sum_j e^(z_j - X), where X = max_j z_j (so that
    e^(...) <= 1). z is one vector (10,) or a stack of them (B, 10) (Task 16): max and
    sum run over the last axis, kept (keepdims), so each row is normalised on its own."""
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


# ---- Tasks 8-12: feed-forward pass, backpropagation, update, evaluation -----------------

def forward_pass(a0, weights):
    """Tasks 8 and 10: push the input a0 (784,) through the network [w1, w2, w3].
    Returns ([a0, a1 (128,), a2 (64,), a3 (10,)], [z1 (128,), z2 (64,), z3 (10,)]): the
    output a3, a distribution over the ten digits, and the values backpropagation needs.
    `@` treats the leading axes of a0 as a stack of inputs, so a set a0 (N, 784) goes
    through at once (Tasks 12 and 16): every array then gains the axis N."""
    w1, w2, w3 = weights
    z1 = a0 @ w1                  # (784,) . (784, 128) -> (128,)
    a1 = sigmoid(z1)
    z2 = a1 @ w2                  # (128,) . (128, 64) -> (64,)
    a2 = sigmoid(z2)
    z3 = a2 @ w3                  # (64,) . (64, 10) -> (10,)
    a3 = softmax(z3)
    return [a0, a1, a2, a3], [z1, z2, z3]


def backpropagation(activations, zs, y, weights):
    """Task 10: the weight changes [dw1 (784, 128), dw2 (128, 64), dw3 (64, 10)] of one
    example, from its forward pass (activations, zs) and its expected output y (10,).
    The error values e_i have the shapes of the a_i (Question 3); e3 = a3 - y is the
    derivative of the cross-entropy -sum(y log a3) with respect to z3. a_{i-1}^T . e_i
    is a column times a row, an outer product: np.outer, since a 1-D array has no column
    form (a.T has a's shape, and a.T @ e fails for (64,) and (10,))."""
    a0, a1, a2, a3 = activations
    z1, z2, z3 = zs
    w1, w2, w3 = weights
    e3 = a3 - y                                   # (10,)
    e2 = (e3 @ w3.T) * sigmoid_prime(z2)          # (10,) . (10, 64) -> (64,), ⊙ (64,)
    e1 = (e2 @ w2.T) * sigmoid_prime(z1)          # (64,) . (64, 128) -> (128,), ⊙ (128,)
    return [np.outer(a0, e1), np.outer(a1, e2), np.outer(a2, e3)]


def update_weights(weights, deltas, lr):
    """Task 11: w_i <- w_i - lr * dw_i for each weight matrix w_i and its change dw_i,
    in place (the loop goes over the matrices, not over their values)."""
    for w, dw in zip(weights, deltas):
        w -= lr * dw


def compute_error(x, y, weights):
    """Task 12: the error rate (in [0, 1]) on inputs x (N, 784) with one-hot expected
    outputs y (N, 10): the whole set goes through forward_pass at once, argmax gives the
    digits, and the mean of the Boolean array "they differ" is the share of errors."""
    activations, zs = forward_pass(x, weights)
    a3 = activations[-1]                                            # (N, 10)
    return float(np.mean(np.argmax(a3, axis=-1) != np.argmax(y, axis=-1)))


# ---- Tasks 14-15: training, one example at a time ---------------------------------------

def train(x_train, y_train, x_test, y_test, weights, epochs=30, lr=0.001):
    """Task 14: train `weights` in place, one example at a time, for `epochs` epochs.
    x_train (N, 784), y_train (N, 10): the training set, in its order. After each epoch,
    prints its number, the error rate on x_test, y_test and its seconds of training
    (Task 15). Returns the list of the epochs' {epoch, test_error, seconds}; raises
    Diverged if the weights stop being finite (a learning rate far too large)."""
    history = []
    for epoch in range(1, epochs + 1):                      # the outer loop: epochs
        start = time.perf_counter()
        for a0, y in zip(x_train, y_train):                 # the inner loop: examples
            activations, zs = forward_pass(a0, weights)                 # Task 8
            deltas = backpropagation(activations, zs, y, weights)       # Task 10
            update_weights(weights, deltas, lr)                         # Task 11
        seconds = time.perf_counter() - start
        if not all(np.isfinite(w).all() for w in weights):             # λ far too large
            raise Diverged(f"training diverged in epoch {epoch}: the weights are no "
                           "longer finite; use a smaller learning rate.")
        error_rate = compute_error(x_test, y_test, weights)             # Task 12
        print(f"Epoch {epoch:>{len(str(epochs))}}/{epochs}  test error "
              f"{100 * error_rate:5.2f}%  ({seconds:.2f} s)", flush=True)
        history.append({"epoch": epoch, "test_error": error_rate, "seconds": seconds})
    return history


# ---- The TP from Task 1 to Task 15, as a student runs it --------------------------------

def walk_the_tp(args):
    """Question 1, Tasks 2, 9, 13, then train (Task 15) and print the test error, with
    the options `args` (epochs, lr, seed, train_size, data_dir, dtype). Returns 0."""
    x_train, y_train, x_test, y_test = load_mnist(args.data_dir)              # Task 1
    prepared = preprocess(x_train, y_train, x_test, y_test, args.train_size,
                          args.dtype)                                       # Tasks 3-4
    print(f"Question 1: x_train {x_train.shape} and x_test {x_test.shape} (image, row, "
          f"column), y_train {y_train.shape} and y_test {y_test.shape} (image), uint8")
    print(f"Task 2: x_train[0] without its blank rows, labelled {y_train[0]}:\n"
          f"{digit_as_text(x_train[0])}\nand its slice [12:17, 10:17], across a stroke:\n"
          f"{x_train[0, 12:17, 10:17]}")
    labels = y_train[:args.train_size]                        # to check Task 4 below
    x_train, y_train, x_test, y_test = prepared
    labels_back = np.array_equal(np.argmax(y_train, axis=1), labels)
    print(f"Tasks 3-4: x_train {x_train.shape} {x_train.dtype} from {x_train.min()} to "
          f"{x_train.max()}, y_train[0] = {y_train[0]} (one-hot; argmax gives every "
          f"label back: {labels_back})")
    weights = init_weights(np.random.default_rng(args.seed), args.dtype)     # Tasks 5-6
    activations, zs = forward_pass(x_train[0], weights)                       # Task 9
    a3 = activations[-1]
    print(f"Task 9: forward_pass(x_train[0]) = {np.array2string(a3, precision=3)}, "
          f"sum {a3.sum():.3f}, largest for digit {np.argmax(a3)}")
    print(f"Task 13: test error of the untrained network: "      # why: report.md
          f"{100 * compute_error(x_test, y_test, weights):.2f}% (guessing: 90%)")
    print(f"Task 15: training on {len(x_train)} examples, one at a time, λ = {args.lr}")
    with np.errstate(over="ignore", invalid="ignore"):     # train checks the weights
        history = train(x_train, y_train, x_test, y_test, weights, args.epochs, args.lr)
    error_rate = (history[-1]["test_error"] if history       # the last epoch's figure
                  else compute_error(x_test, y_test, weights))
    wrong = round(error_rate * len(x_test))
    print(f"Test error: {100 * error_rate:.2f}% ({wrong}/{len(x_test)} misclassified)")
    return 0


def main(argv=None):
    """The command line: returns the exit status. Its plumbing (options, one-sentence
    errors, exit statuses) is beyond the TP and lives in the batched script, which
    imports this file as the module mnist_ffnn and runs its walk_the_tp."""
    from mnist_ffnn_batched import per_example_command_line
    return per_example_command_line(argv)


if __name__ == "__main__":
    sys.exit(main())
