"""examples/why.py: where more ink in the input would raise or lower the network's answer.
The gradient of the answer's log-probability with respect to the input, one more step
of the TP's backpropagation, and a picture of it beside the input, shared by
examples/predict.py (--why) and examples/draw.py."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))     # the TP's scripts
from mnist_ffnn import backpropagation, forward_pass  # noqa: E402


def input_gradient(x, weights, k=None):
    """The answer k (by default the one the network reads in the input x (784,)) and the
    gradient (784,) of log a3_k with respect to x: where it is positive, more ink would
    raise the answer.

    With y the one-hot of k, e3 = a3 - y is the gradient of -log a3_k, and the TP's
    backpropagation carries it back to e1, the gradient with respect to z1; then
    e0 = e1 . w1^T is the one with respect to the input, as z1 = x . w1. For one
    example, backpropagation's dw1 is a0^T . e1: with a0 replaced by [1], it is e1
    itself, (1, 128). So -e0 is the gradient of log a3_k. It is computed in float64:
    for an answer near 100 % it is tiny (1e-8), and float32's rounding of a3 then
    makes it mostly noise (tests/test_predict.py, a saturated network)."""
    x, weights = np.asarray(x, np.float64), [w.astype(np.float64) for w in weights]
    activations, zs = forward_pass(x, weights)
    k = int(np.argmax(activations[-1])) if k is None else k
    y = np.eye(10, dtype=x.dtype)[k]
    e1 = backpropagation([np.ones(1, x.dtype)] + activations[1:], zs, y, weights)[0]
    e0 = e1 @ weights[0].T                             # (1, 128) . (128, 784) -> (1, 784)
    return k, -e0.reshape(-1)


def show_gradient(why, gradient):
    """Show gradient (784,) in the image `why`: red where more ink would raise the
    answer, blue where it would lower it, the colours scaled to its largest value, which
    the title gives (tiny when the answer is near 100 %)."""
    strongest = np.abs(gradient).max()
    why.set_data(gradient.reshape(28, 28))
    why.set_clim(-max(strongest, 1e-12), max(strongest, 1e-12))
    why.axes.set_title(f"Why: red raises the answer,\nblue lowers it\n"
                       f"(strongest: {strongest:.0e})")


def show_why(input_axes, why_axes, x, gradient):
    """Draw the input x (784,) in input_axes and its gradient (784,) in why_axes (see
    show_gradient). Returns the two images."""
    seen = input_axes.imshow(x.reshape(28, 28), cmap="gray", vmin=0, vmax=1)
    why = why_axes.imshow(np.zeros((28, 28)), cmap="bwr")
    input_axes.set(title="What the network read\n(as fitted, 28 x 28)", xticks=[],
                   yticks=[])
    why_axes.set(xticks=[], yticks=[])
    show_gradient(why, gradient)
    return seen, why


def save_why(path, x, weights, title, k=None):
    """Save to `path` (a PNG) the input x (784,) beside the gradient of answer k (by
    default the one x reads as), under `title`."""
    from matplotlib.figure import Figure              # no window: works without display
    figure = Figure(figsize=(6, 3.4), layout="constrained")
    k, gradient = input_gradient(x, weights, k)
    show_why(*figure.subplots(1, 2), x, gradient)
    figure.suptitle(title)
    figure.savefig(path)
