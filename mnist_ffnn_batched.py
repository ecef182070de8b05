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

The gradient is summed over the batch, as the TP's equations give it, so the step
λ·dw_i grows with B: a learning rate good for B = 1 is about B times too large for B,
and the default λ here is chosen for the default batch size (see README.md).
"""

import os
import time

if __name__ == "__main__":
    # As in mnist_ffnn.py: one BLAS thread by default, which is faster for batches of up
    # to a few hundred examples (see README.md); OPENBLAS_NUM_THREADS=2 for huge batches.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from mnist_ffnn import (  # noqa: F401  (re-exported: the batched script's whole API)
    DataError, read_idx, load_mnist, load_data, preprocess_inputs, preprocess_outputs,
    layer_weights, init_weights, sigmoid, sigmoid_prime, softmax, forward_pass, errors,
    update_weights, compute_error, end_of_epoch, build_parser, run, cli, _number)

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
          batch_size=DEFAULT_BATCH_SIZE, rng=None, shuffle=True, log=print):
    """Tasks 17-18: train `weights` in place by gradient descent on batches.

    Each epoch cuts the training set (N, 784) into ceil(N / batch_size) batches (the last
    one may be smaller) and, for each, runs forward_pass, backpropagation and
    update_weights with learning rate `lr`. With `shuffle`, the order of the examples is
    drawn anew each epoch from `rng` (a np.random.Generator); batch_size None (or >= N)
    is the whole set as one batch (Task 17), where the order does not matter.
    Returns the list of the epochs' records.
    """
    rng = np.random.default_rng() if rng is None else rng
    n = len(x_train)
    batch_size = n if batch_size is None else batch_size
    history = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(n) if shuffle and batch_size < n else None
        for first in range(0, n, batch_size):                 # the loop over batches
            batch = (slice(first, first + batch_size) if order is None
                     else order[first:first + batch_size])
            activations, zs = forward_pass(x_train[batch], weights)
            deltas = backpropagation(activations, zs, y_train[batch], weights)
            update_weights(weights, deltas, lr)
        history.append(end_of_epoch(epoch, epochs, time.perf_counter() - start,
                                    weights, x_test, y_test, log))
    return history


def batch_size_type(text):
    """argparse type of --batch-size: a positive integer, or 'all' (the whole set)."""
    return "all" if text == "all" else _number(int, 1)(text)


def main(argv=None):
    """Command line of the batched script (Tasks 17-18)."""
    parser = build_parser(__doc__.split("\n\n")[0], epochs=30, lr=DEFAULT_LR)
    parser.add_argument("--batch-size", type=batch_size_type, default=DEFAULT_BATCH_SIZE,
                        help="examples per batch, or 'all' for the whole training set "
                             "as one batch (Task 17)")
    parser.add_argument("--no-shuffle", dest="shuffle", action="store_false",
                        help="keep the training set's order instead of reshuffling it "
                             "every epoch")
    args = parser.parse_args(argv)
    return run(args, lambda data, weights, rng: train(
        *data, weights, epochs=args.epochs, lr=args.lr,
        batch_size=None if args.batch_size == "all" else args.batch_size,
        rng=rng, shuffle=args.shuffle), "mnist_ffnn_batched.py")


if __name__ == "__main__":
    cli(main)
