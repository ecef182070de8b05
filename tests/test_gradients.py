"""backpropagation is the gradient of the loss the TP's equations differentiate: the
cross-entropy of softmax(z_3), summed over the batch. Checked by gradient_errors (the
code behind --check-gradients) against centred finite differences of an independent
implementation of that loss, in float64; and that check is shown to catch a broken
backpropagation."""

import numpy as np
import pytest

import mnist_ffnn
import mnist_ffnn_batched
from mnist_ffnn_batched import GRADIENT_TOLERANCE, gradient_errors


def reference_loss(x, y):
    """-sum y log softmax(z3) on (x, y), written without the project's functions."""
    def loss(weights):
        w1, w2, w3 = weights
        a1 = 1 / (1 + np.exp(-(x @ w1)))
        a2 = 1 / (1 + np.exp(-(a1 @ w2)))
        z3 = np.atleast_2d(a2 @ w3)
        log_softmax = z3 - z3.max(axis=1, keepdims=True)
        log_softmax -= np.log(np.exp(log_softmax).sum(axis=1, keepdims=True))
        return -np.sum(np.atleast_2d(y) * log_softmax)
    return loss


def make_case(batch, seed=0):
    rng = np.random.default_rng(seed)
    weights = mnist_ffnn.init_weights(rng, np.float64)
    # Scale up the weights so that every layer's gradient is far from zero.
    weights = [3 * w for w in weights]
    lead = () if batch is None else (batch,)
    x = rng.random(lead + (784,))
    labels = rng.integers(0, 10, batch or 1)
    y = mnist_ffnn.preprocess_outputs(labels, np.float64).reshape(lead + (10,))
    return weights, x, y


@pytest.mark.parametrize("batch", [None, 1, 5])
def test_backpropagation_matches_finite_differences(batch):
    weights, x, y = make_case(batch)
    module = mnist_ffnn if batch is None else mnist_ffnn_batched
    errors = gradient_errors(x, y, weights, backprop=module.backpropagation,
                             loss=reference_loss(x, y))
    assert max(errors) < GRADIENT_TOLERANCE, errors
    deltas = module.backpropagation(*module.forward_pass(x, weights), y, weights)
    assert min(np.abs(d).max() for d in deltas) > 1e-3   # not trivially 0 == 0


def broken(part, correct=mnist_ffnn_batched.backpropagation):
    """backpropagation with one deliberate mistake, as a student might make it."""
    def backpropagation(activations, zs, y, weights):
        deltas = correct(activations, zs, y, weights)
        if part == "S instead of S'":                 # e1 = (e2 . w2^T) * S(z1)
            a0, a1, a2, a3 = activations
            e3 = a3 - y
            e2 = (e3 @ weights[2].T) * a2 * (1 - a2)
            deltas[0] = a0.T @ ((e2 @ weights[1].T) * a1)
        elif part == "sign of e3":                    # e3 = y - a3
            deltas = [-d for d in deltas]
        elif part == "w3 off by 0.1 %":
            deltas[2] = 1.001 * deltas[2]
        return deltas
    return backpropagation


@pytest.mark.parametrize("part, wrong", [("S instead of S'", [0]),
                                         ("sign of e3", [0, 1, 2]),
                                         ("w3 off by 0.1 %", [2])])
def test_the_check_catches_a_broken_backpropagation(part, wrong):
    weights, x, y = make_case(5)
    errors = gradient_errors(x, y, weights, backprop=broken(part), loss=reference_loss(x, y))
    assert [i for i, e in enumerate(errors) if e > GRADIENT_TOLERANCE] == wrong, errors


def test_check_gradients_on_the_command_line(fake_mnist, capsys):
    assert mnist_ffnn_batched.main(["--data-dir", str(fake_mnist), "--epochs", "1",
                                    "--check-gradients"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Checking backpropagation against centred finite "
                               "differences")
    assert [line.split(":")[0].strip() for line in lines[1:4]] == ["w1", "w2", "w3"]
    assert all(line.endswith("  ok") for line in lines[1:4])
    assert lines[4].startswith("Epoch 1/1")


def test_check_gradients_stops_a_broken_backpropagation(fake_mnist, capsys, monkeypatch):
    monkeypatch.setattr(mnist_ffnn_batched, "backpropagation", broken("S instead of S'"))
    assert mnist_ffnn_batched.main(["--data-dir", str(fake_mnist), "--check-gradients"]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert "WRONG (> 1e-06)" in lines[1] and lines[1].startswith("  w1:")
    assert lines[2].endswith("  ok") and lines[3].endswith("  ok")
    assert "Epoch" not in captured.out                      # stopped before training
    assert captured.err == ("error: backpropagation does not give the gradient of the loss "
                            "for w1: check its equations (Task 16)\n")


def test_a_gradient_step_lowers_the_loss():
    weights, x, y = make_case(20, seed=3)
    deltas = mnist_ffnn_batched.backpropagation(
        *mnist_ffnn_batched.forward_pass(x, weights), y, weights)
    before = reference_loss(x, y)(weights)
    mnist_ffnn.update_weights(weights, deltas, 1e-3)
    assert reference_loss(x, y)(weights) < before
