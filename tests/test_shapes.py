"""Questions 2 and 3: every array of the forward and backward equations has the shape
the TP's equations give, for one example and for a batch of B."""

import sys

import numpy as np
import pytest

import mnist_ffnn
import mnist_ffnn_batched

N = (784, 128, 64, 10)   # n_0 .. n_3, the layer sizes of the TP's Figure 2


def locals_at_return(function, *args):
    """Call function(*args); return (its result, its local variables as it returns).
    This lets the test see the error values e_i that backpropagation computes inside."""
    seen = {}

    def profile(frame, event, arg):
        if event == "return" and frame.f_code is function.__code__:
            seen.update(frame.f_locals)

    sys.setprofile(profile)
    try:
        result = function(*args)
    finally:
        sys.setprofile(None)
    return result, seen


def test_weights_shapes_and_scale():
    w1, w2, w3 = mnist_ffnn.init_weights(np.random.default_rng(0))
    assert [w.shape for w in (w1, w2, w3)] == [(784, 128), (128, 64), (64, 10)]
    assert all(w.dtype == np.float32 for w in (w1, w2, w3))
    # N(0, 1) / sqrt(n): mean 0 and standard deviation 1/sqrt(n_i), each within 5
    # standard errors of its estimate from w.size draws.
    for w, n in zip((w1, w2, w3), N[1:]):
        assert abs(w.mean() * np.sqrt(n)) < 5 / np.sqrt(w.size)
        assert abs(w.std() * np.sqrt(n) - 1) < 5 / np.sqrt(2 * w.size)


@pytest.mark.parametrize("batch", [None, 1, 7])
def test_forward_and_backward_shapes(batch):
    rng = np.random.default_rng(1)
    weights = mnist_ffnn.init_weights(rng)
    lead = () if batch is None else (batch,)
    a0 = rng.random(lead + (784,)).astype(np.float32)
    y = np.zeros(lead + (10,), np.float32)
    y[..., 3] = 1
    module = mnist_ffnn if batch is None else mnist_ffnn_batched
    activations, zs = module.forward_pass(a0, weights)
    assert [a.shape for a in activations] == [lead + (n,) for n in N]     # a_0 .. a_3
    assert [z.shape for z in zs] == [lead + (n,) for n in N[1:]]          # z_1 .. z_3
    deltas, inside = locals_at_return(module.backpropagation, activations, zs, y, weights)
    es = [inside["e1"], inside["e2"], inside["e3"]]
    assert [e.shape for e in es] == [lead + (n,) for n in N[1:]]          # e_i ~ a_i
    assert [d.shape for d in deltas] == [w.shape for w in weights]        # δw_i ~ w_i
    assert all(a.dtype == np.float32 for a in activations + zs + es + deltas)
