"""backpropagation is the gradient of the loss the TP's equations differentiate:
the cross-entropy of softmax(z_3), summed over the batch. Checked against central
finite differences of an independent implementation of that loss, in float64."""

import numpy as np
import pytest

import mnist_ffnn
import mnist_ffnn_batched


def reference_loss(x, y, weights):
    """-sum y log softmax(z3), written without the project's functions."""
    w1, w2, w3 = weights
    a1 = 1 / (1 + np.exp(-(x @ w1)))
    a2 = 1 / (1 + np.exp(-(a1 @ w2)))
    z3 = np.atleast_2d(a2 @ w3)
    log_softmax = z3 - z3.max(axis=1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(axis=1, keepdims=True))
    return -np.sum(np.atleast_2d(y) * log_softmax)


def setup(batch, seed=0):
    rng = np.random.default_rng(seed)
    weights = mnist_ffnn.init_weights(rng, np.float64)
    # Scale up the weights so that every layer's gradient is far from zero.
    weights = [3 * w for w in weights]
    lead = () if batch is None else (batch,)
    x = rng.random(lead + (784,))
    labels = rng.integers(0, 10, batch or 1)
    y = mnist_ffnn.preprocess_outputs(labels, np.float64).reshape(lead + (10,))
    return rng, weights, x, y


@pytest.mark.parametrize("batch", [None, 1, 5])
def test_backpropagation_matches_finite_differences(batch):
    rng, weights, x, y = setup(batch)
    module = mnist_ffnn if batch is None else mnist_ffnn_batched
    deltas = module.backpropagation(*module.forward_pass(x, weights), y, weights)
    eps = 1e-6
    for i, (w, dw) in enumerate(zip(weights, deltas)):
        # 25 single entries, chosen among the largest gradients and at random.
        flat = np.concatenate([np.argsort(np.abs(dw).ravel())[-10:],
                               rng.choice(w.size, 15, replace=False)])
        for k in flat:
            idx = np.unravel_index(k, w.shape)
            plus = [v.copy() for v in weights]
            minus = [v.copy() for v in weights]
            plus[i][idx] += eps
            minus[i][idx] -= eps
            numeric = (reference_loss(x, y, plus) - reference_loss(x, y, minus)) / (2 * eps)
            assert numeric == pytest.approx(dw[idx], rel=1e-5, abs=1e-8), (i, idx)
        # The whole matrix: the derivative along a random direction d is <dw, d>.
        d = rng.standard_normal(w.shape)
        plus = [v + eps * d if j == i else v for j, v in enumerate(weights)]
        minus = [v - eps * d if j == i else v for j, v in enumerate(weights)]
        numeric = (reference_loss(x, y, plus) - reference_loss(x, y, minus)) / (2 * eps)
        assert numeric == pytest.approx(np.sum(dw * d), rel=1e-6)
        assert np.abs(dw).max() > 1e-4      # the check above was not trivially 0 == 0


def test_a_gradient_step_lowers_the_loss():
    _, weights, x, y = setup(20, seed=3)
    deltas = mnist_ffnn_batched.backpropagation(
        *mnist_ffnn_batched.forward_pass(x, weights), y, weights)
    before = reference_loss(x, y, weights)
    mnist_ffnn.update_weights(weights, deltas, 1e-3)
    assert reference_loss(x, y, weights) < before
