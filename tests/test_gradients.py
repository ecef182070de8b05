"""backpropagation is the gradient of the loss: examples/check_gradients.py compares it
with centred finite differences of the loss, in float64, and is shown to catch a wrong
backpropagation; and the loss is the one the TP's equations differentiate, the
cross-entropy of the TP's network, written here independently of the project."""

import numpy as np
import pytest

import check_gradients
import mnist_ffnn
import mnist_ffnn_batched
from check_gradients import TOLERANCE, gradient_errors
from conftest import run_script
from mnist_ffnn import DataError


def tp_loss(x, y):
    """The TP's loss on (x, y) for any list of weight matrices [w1, ..., wk]:
    -sum y log softmax(z_k), with a_0 = x, z_i = a_{i-1} . w_i and a_i = S(z_i) in the
    hidden layers. Written without the project's functions."""
    def loss(weights):
        a = x
        for w in weights[:-1]:
            a = 1 / (1 + np.exp(-(a @ w)))
        z = np.atleast_2d(a @ weights[-1])
        log_softmax = z - z.max(axis=1, keepdims=True)
        log_softmax -= np.log(np.exp(log_softmax).sum(axis=1, keepdims=True))
        return -np.sum(np.atleast_2d(y) * log_softmax)
    return loss


def make_case(batch, seed=0):
    """Weights (float64) and a batch x, y (one example if batch is None), scaled so
    that every layer's gradient is far from zero."""
    rng = np.random.default_rng(seed)
    weights = [3 * w for w in mnist_ffnn.init_weights(rng, np.float64)]
    lead = () if batch is None else (batch,)
    x = rng.random(lead + (weights[0].shape[0],))
    y = mnist_ffnn.preprocess_outputs(rng.integers(0, 10, batch or 1),
                                      np.float64).reshape(lead + (10,))
    return weights, x, y


def test_the_loss_is_the_tp_networks_cross_entropy():
    weights, x, y = make_case(5)
    assert [w.ndim for w in weights] == [2, 2, 2], "TP, Tasks 5-8: three weight " \
        "matrices and nothing else (no biases)"
    _, zs = mnist_ffnn.forward_pass(x, weights)
    assert mnist_ffnn_batched.cross_entropy(zs[-1], y) == pytest.approx(
        tp_loss(x, y)(weights), rel=1e-12), "TP, Tasks 5-8: weight matrices only (no " \
        "biases), sigmoid hidden layers, a softmax output"
    assert np.isfinite(mnist_ffnn_batched.cross_entropy(np.array([[1e4, -1e4] + [0] * 8]),
                                                        np.eye(10)[[1]]))


@pytest.mark.parametrize("batch", [None, 1, 5])
def test_backpropagation_matches_finite_differences(batch):
    weights, x, y = make_case(batch)
    errors = gradient_errors(x, y, weights)                 # mnist_ffnn.backpropagation
    assert max(errors) < TOLERANCE, errors
    deltas = mnist_ffnn.backpropagation(*mnist_ffnn.forward_pass(x, weights), y, weights)
    assert min(np.abs(d).max() for d in deltas) > 1e-3      # not trivially 0 == 0


def broken(part, correct=mnist_ffnn.backpropagation):
    """backpropagation with one mistake, as a student might make it."""
    def backpropagation(activations, zs, y, weights):
        deltas = correct(activations, zs, y, weights)
        if part == "sign of the output error":                # e3 = y - a3
            return [-d for d in deltas]
        if part == "last change off by 0.1 %":
            return deltas[:-1] + [1.001 * deltas[-1]]
        return [np.roll(deltas[0], 1, axis=0)] + deltas[1:]    # a0 misaligned with e1
    return backpropagation


@pytest.mark.parametrize("part, wrong", [("sign of the output error", "all"),
                                         ("last change off by 0.1 %", "last"),
                                         ("input pixels shifted by one", "first")])
def test_the_check_catches_a_broken_backpropagation(part, wrong):
    weights, x, y = make_case(5)
    errors = gradient_errors(x, y, weights, backprop=broken(part))
    every = list(range(len(weights)))
    expected = {"all": every, "last": every[-1:], "first": every[:1]}[wrong]
    assert [i for i, e in enumerate(errors) if e > TOLERANCE] == expected, errors


@pytest.mark.parametrize("change", ["one too many", "one too few", "wrong shape"])
def test_the_check_refuses_changes_that_do_not_match_the_weights(change):
    weights, x, y = make_case(3)

    def backprop(activations, zs, y, weights):
        deltas = mnist_ffnn.backpropagation(activations, zs, y, weights)
        return {"one too many": deltas + [deltas[0]], "one too few": deltas[:-1],
                "wrong shape": [deltas[0].T] + deltas[1:]}[change]
    with pytest.raises(DataError, match="one change per array"):
        gradient_errors(x, y, weights, backprop=backprop)


def test_the_command_names_every_array_and_passes_on_a_trained_network(trained):
    result = run_script("examples/check_gradients.py", trained[1])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        f"weights[{i}] {w.shape}" for i, w in enumerate(trained[0])]
    assert all(line.endswith("  ok") for line in lines[1:])


def test_the_command_stops_a_broken_backpropagation(capsys, monkeypatch):
    monkeypatch.setattr(mnist_ffnn, "backpropagation", broken("input pixels shifted by one"))
    assert check_gradients.main([]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[1].startswith("  weights[0] ") and "WRONG" in lines[1]
    assert all(line.endswith("  ok") for line in lines[2:])
    assert captured.err.startswith("error: ") and "weights[0]" in captured.err
    assert "check its equations" in captured.err


def test_a_gradient_step_lowers_the_loss():
    weights, x, y = make_case(20, seed=3)

    def loss(weights):
        activations, zs = mnist_ffnn.forward_pass(x, weights)
        return mnist_ffnn_batched.cross_entropy(zs[-1], y)
    deltas = mnist_ffnn.backpropagation(*mnist_ffnn.forward_pass(x, weights), y, weights)
    before = loss(weights)
    mnist_ffnn.update_weights(weights, deltas, 1e-5)                # a small step down
    assert loss(weights) < before
