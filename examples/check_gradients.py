"""examples/check_gradients.py: check that backpropagation (mnist_ffnn.py, used by both
scripts) computes the gradient of the loss, by comparing each weight change dw_i with
finite differences of the loss.

    python examples/check_gradients.py [MODEL]

The network is the one saved in MODEL by `python mnist_ffnn_batched.py --save MODEL`,
or a new one (seed 0). The batch is the ten training examples of largest loss, whose
gradient is far from 0. All is in float64, where a correct backpropagation gives errors
near 1e-11 and a wrong equation 1e-4 or more. Change an equation of Task 10 and see.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))     # the TP's scripts
import mnist_ffnn  # noqa: E402
from mnist_ffnn import (DATA_DIR, DataError, forward_pass, init_weights,  # noqa: E402
                        load_mnist, preprocess_inputs, preprocess_outputs, run)
from mnist_ffnn_batched import cross_entropy, load_model  # noqa: E402

TOLERANCE = 1e-6


def gradient_errors(x, y, weights, backprop=None, forward=forward_pass, loss=None,
                    eps=1e-5, rng=None):
    """For each array w_i of `weights`, how far backprop's dw_i (mnist_ffnn's
    backpropagation if None) is from the centred finite differences of the loss L on the
    batch x (B, 784), y (B, 10), in float64. `loss` takes a list of weights (None: the
    summed cross-entropy of forward's z3).

    (L(w + eps d) - L(w - eps d)) / (2 eps) estimates the derivative of L along a
    direction d, sum(dw_i * d). The error is |numeric - analytic| / (|dw_i| |d| +
    |numeric|), relative to the whole gradient, so that it stays small where the
    derivative along d is near 0. The directions d: the five largest entries of dw_i,
    five drawn among those at least a tenth of the largest, and one random direction
    over the whole array; the worst is kept. DataError if backprop does not return one
    array of the right shape for each array of weights.
    """
    backprop = mnist_ffnn.backpropagation if backprop is None else backprop
    rng = np.random.default_rng(0) if rng is None else rng
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    weights = [np.array(w, np.float64) for w in weights]
    if loss is None:
        def loss(ws):
            activations, zs = forward(x, ws)
            return cross_entropy(zs[-1], y)
    deltas = backprop(*forward(x, weights), y, weights)
    if [np.shape(d) for d in deltas] != [w.shape for w in weights]:
        raise DataError(f"backpropagation returns changes of the shapes "
                        f"{[np.shape(d) for d in deltas]} for weights of the shapes "
                        f"{[w.shape for w in weights]}: one change per array is needed.")
    errors = []
    for i, (w, dw) in enumerate(zip(weights, deltas)):            # each array of weights
        size = np.abs(dw).ravel()
        large = np.flatnonzero(size >= size.max() / 10)
        picked = np.concatenate([np.argsort(size)[-5:], rng.choice(large, 5)])
        entries = np.zeros((len(picked), w.size))
        entries[np.arange(len(picked)), picked] = 1               # one entry each
        directions = [*entries.reshape(-1, *w.shape), rng.standard_normal(w.shape)]
        worst = 0.0
        for d in directions:                              # eleven directions per array
            plus = [v + eps * d if j == i else v for j, v in enumerate(weights)]
            minus = [v - eps * d if j == i else v for j, v in enumerate(weights)]
            numeric = (loss(plus) - loss(minus)) / (2 * eps)
            analytic = np.sum(dw * d)
            scale = np.linalg.norm(dw) * np.linalg.norm(d) + abs(numeric)
            worst = max(worst, abs(numeric - analytic) / scale if scale else 0.0)
        errors.append(float(worst))
    return errors


def check(args):
    """Print the error of each array of weights (weights[0] (784, 128): error 4.0e-11
    ok). Returns the exit status; DataError if one is above TOLERANCE."""
    weights = load_model(args.model)[0] if args.model else init_weights(0)
    x_train, y_train, x_test, y_test = load_mnist(args.data_dir)
    x, y = preprocess_inputs(x_train), preprocess_outputs(y_train)
    activations, zs = forward_pass(x, weights)
    right = np.sum(activations[-1] * y, axis=1)        # a3 of the true digit, (N,)
    worst = np.argsort(right)[:10]      # the ten least probable: the largest losses
    print("Backpropagation against centred finite differences of the loss, in float64, "
          "on the 10 training examples of largest loss:")
    errors = gradient_errors(x[worst], y[worst], weights)
    names = [f"weights[{i}]" for i in range(len(weights))]
    for name, w, error in zip(names, weights, errors):             # one line per array
        print(f"  {name} {w.shape}: error {error:.1e}  "
              f"{'ok' if error <= TOLERANCE else f'WRONG (above {TOLERANCE})'}")
    wrong = [name for name, error in zip(names, errors) if error > TOLERANCE]
    if wrong:
        raise DataError(f"backpropagation does not give the gradient of the loss for "
                        f"{', '.join(wrong)}: check its equations (Task 10).")
    return 0


def main(argv=None):
    """The command line: returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__[:__doc__.index("\n\n")])
    parser.add_argument("model", type=Path, nargs="?",
                        help="a network saved by --save (.npz); default: a new one")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, metavar="DIR",
                        help="folder of the MNIST files (default: data/)")
    return run(check, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
