"""backpropagation is the gradient of the loss: checked by gradient_errors (the code
behind --check-gradients) against centred finite differences of the loss, in float64,
on random and on trained weights; that check is shown to catch a wrong backpropagation;
and the loss is the one the TP's equations differentiate, the cross-entropy of the
network of the TP, written here independently of the project's functions."""

import numpy as np
import pytest

import mnist_ffnn
import mnist_ffnn_batched
from conftest import weight_shapes
from mnist_ffnn_batched import (GRADIENT_TOLERANCE, GradientError, gradient_errors,
                                weight_names)


def tp_loss(x, y):
    """The TP's loss on (x, y) as a function of any list of weight matrices [w1, ...,
    wk]: -sum y log softmax(z_k), where a_0 = x, z_i = a_{i-1} . w_i, a_i = S(z_i) for
    the hidden layers. Written without the project's functions."""
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
    x = rng.random(lead + (784,))
    y = mnist_ffnn.preprocess_outputs(rng.integers(0, 10, batch or 1),
                                      np.float64).reshape(lead + (10,))
    return weights, x, y


def test_the_loss_is_the_tp_networks_cross_entropy():
    message = "TP, Tasks 5-8: weight matrices only (no biases), sigmoid hidden layers, " \
              "a softmax output"
    weights, x, y = make_case(5)
    assert all(w.ndim == 2 for w in weights), message
    _, zs = mnist_ffnn.forward_pass(x, weights)
    assert mnist_ffnn_batched.cross_entropy(zs[-1], y) == pytest.approx(
        tp_loss(x, y)(weights), rel=1e-12), message


@pytest.mark.parametrize("batch", [None, 1, 5])
def test_backpropagation_matches_finite_differences(batch):
    weights, x, y = make_case(batch)
    module = mnist_ffnn if batch is None else mnist_ffnn_batched
    errors = gradient_errors(x, y, weights, backprop=module.backpropagation,
                             forward=module.forward_pass)
    assert max(errors) < GRADIENT_TOLERANCE, errors
    deltas = module.backpropagation(*module.forward_pass(x, weights), y, weights)
    assert min(np.abs(d).max() for d in deltas) > 1e-3   # not trivially 0 == 0


def test_the_check_holds_on_trained_weights(trained, mnist):
    """On a trained network, the examples it is sure of have a loss and a gradient near
    0, where an entry-wise relative error is all rounding (it failed such weights): the
    check must pass on them, as on those it gets most wrong (--check-gradients)."""
    weights = [w.copy() for w in trained[0]]
    x, y = mnist[0][:10000], mnist[1][:10000]
    mnist_ffnn_batched.train(x, y, x[:10], y[:10], weights, epochs=3, lr=0.02,
                             batch_size=20, rng=np.random.default_rng(1),
                             log=lambda line: None)
    losses = -np.log(np.sum(mnist_ffnn_batched.network_output(x, weights) * y, axis=1))
    assert losses.min() < 1e-4                       # the hard case is there
    for chosen in (np.argsort(losses)[:10], np.argsort(losses)[-10:]):
        errors = gradient_errors(x[chosen], y[chosen], weights)
        assert max(errors) < GRADIENT_TOLERANCE, errors
    mnist_ffnn_batched.check_gradients(x, y, weights, log=lambda line: None)


def broken(part, correct=mnist_ffnn_batched.backpropagation):
    """backpropagation with one deliberate mistake, as a student might make it."""
    def backpropagation(activations, zs, y, weights):
        deltas = correct(activations, zs, y, weights)
        if part == "sign of the output error":           # e_out = y - a_out
            deltas = [-d for d in deltas]
        elif part == "last change off by 0.1 %":
            deltas[-1] = 1.001 * deltas[-1]
        elif part == "input pixels shifted by one":        # a_0 misaligned with e_1
            deltas[0] = np.roll(deltas[0], 1, axis=0)
        return deltas
    return backpropagation


@pytest.mark.parametrize("part, wrong", [("sign of the output error", "all"),
                                         ("last change off by 0.1 %", "last"),
                                         ("input pixels shifted by one", "first")])
def test_the_check_catches_a_broken_backpropagation(part, wrong):
    weights, x, y = make_case(5)
    errors = gradient_errors(x, y, weights, backprop=broken(part))
    expected = {"all": list(range(len(weights))), "last": [len(weights) - 1],
                "first": [0]}[wrong]
    assert [i for i, e in enumerate(errors) if e > GRADIENT_TOLERANCE] == expected, errors


@pytest.mark.parametrize("change", ["one too many", "one too few", "wrong shape"])
def test_the_check_refuses_changes_that_do_not_match_the_weights(change):
    """Every array of weights gets its change checked: a backpropagation that returns
    more or fewer arrays than there are weights, or one of another shape, is an error,
    not a silence."""
    weights, x, y = make_case(3)

    def backprop(activations, zs, y, weights):
        deltas = mnist_ffnn_batched.backpropagation(activations, zs, y, weights)
        if change == "one too many":
            return deltas + [deltas[0]]
        if change == "one too few":
            return deltas[:-1]
        return [deltas[0].T] + deltas[1:]
    with pytest.raises(GradientError, match="returns|shape"):
        gradient_errors(x, y, weights, backprop=backprop)


def test_check_gradients_on_the_command_line(fake_mnist, capsys):
    assert mnist_ffnn_batched.main(["--data-dir", fake_mnist, "--epochs", "1",
                                    "--check-gradients"]) == 0
    lines = capsys.readouterr().out.splitlines()
    shapes = weight_shapes()
    assert lines[0].startswith("Checking backpropagation against centred finite "
                               "differences")
    checked = lines[1:1 + len(shapes)]
    assert [line.split(":")[0].strip() for line in checked] == [
        f"{name} {shape}" for name, shape in zip(weight_names(shapes), shapes)]
    assert all(line.endswith("  ok") for line in checked)
    assert lines[1 + len(shapes)].startswith("Epoch 1/1")


def test_check_gradients_stops_a_broken_backpropagation(fake_mnist, capsys, monkeypatch):
    monkeypatch.setattr(mnist_ffnn_batched, "backpropagation",
                        broken("input pixels shifted by one"))
    assert mnist_ffnn_batched.main(["--data-dir", fake_mnist, "--check-gradients"]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert "WRONG (> 1e-06)" in lines[1] and lines[1].startswith("  w1 ")
    assert all(line.endswith("  ok") for line in lines[2:])
    assert "Epoch" not in captured.out                      # stopped before training
    assert captured.err == ("error: backpropagation does not give the gradient of the loss "
                            "for w1: check its equations (Task 16).\n")


def network_loss(x, y, weights):
    """The network's own loss, the summed cross-entropy of forward_pass's output."""
    _, zs = mnist_ffnn_batched.forward_pass(x, weights)
    return mnist_ffnn_batched.cross_entropy(zs[-1], y)


def test_a_gradient_step_lowers_the_loss():
    weights, x, y = make_case(20, seed=3)
    deltas = mnist_ffnn_batched.backpropagation(
        *mnist_ffnn_batched.forward_pass(x, weights), y, weights)
    before = network_loss(x, y, weights)
    mnist_ffnn.update_weights(weights, deltas, 1e-5)          # a small step down
    assert network_loss(x, y, weights) < before
