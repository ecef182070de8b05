"""Questions 2 and 3: every array of the forward and backward passes has the shape the
TP's equations give it, for one example and for a batch of B; and the network is the
one the TP specifies (Figure 2, Tasks 5-6). The shapes are derived from LAYER_SIZES and
from init_weights, the code's one source for them: only the tests marked "TP:" pin the
TP's own numbers."""

import numpy as np
import pytest

import mnist_ffnn
import mnist_ffnn_batched
from conftest import weight_shapes
from mnist_ffnn import LAYER_SIZES


def test_tp_network_is_784_128_64_10_without_biases():
    assert LAYER_SIZES == (784, 128, 64, 10), \
        "TP, Figure 2: layers of 784, 128, 64 and 10 neurons"
    assert weight_shapes() == [(784, 128), (128, 64), (64, 10)], \
        "TP, Task 6: three weight matrices w1, w2, w3, from each layer to the next, " \
        "and nothing else (no biases)"


def test_weights_are_standard_normal_scaled_by_one_over_sqrt_n():
    """Task 5: each (m, n) matrix is N(0, 1) / sqrt(n): mean 0 and standard deviation
    1/sqrt(n), each within 5 standard errors of its estimate from the matrix's draws."""
    weights = mnist_ffnn.init_weights(np.random.default_rng(0))
    assert all(w.dtype == np.float32 for w in weights)
    for w in weights:
        if w.ndim == 2:
            n = w.shape[1]
            assert abs(w.mean() * np.sqrt(n)) < 5 / np.sqrt(w.size)
            assert abs(w.std() * np.sqrt(n) - 1) < 5 / np.sqrt(2 * w.size)


@pytest.mark.parametrize("batch", [None, 1, 7])
def test_forward_and_backward_shapes(batch):
    """Questions 2 and 3: a_i has n_i values per example (n_0 = the input), z_i too,
    and each weight change dw_i = a_{i-1}^T . e_i has the shape of its w_i, summed over
    the batch. One example (no batch axis) goes through mnist_ffnn.py, a batch of B
    through mnist_ffnn_batched.py."""
    rng = np.random.default_rng(1)
    weights = mnist_ffnn.init_weights(rng)
    lead = () if batch is None else (batch,)
    a0 = rng.random(lead + (LAYER_SIZES[0],)).astype(np.float32)
    y = np.zeros(lead + (LAYER_SIZES[-1],), np.float32)
    y[..., 3] = 1
    module = mnist_ffnn if batch is None else mnist_ffnn_batched
    activations, zs = module.forward_pass(a0, weights)
    assert [a.shape for a in activations] == [lead + (n,) for n in LAYER_SIZES]
    assert [z.shape for z in zs] == [lead + (n,) for n in LAYER_SIZES[1:]]
    deltas = module.backpropagation(activations, zs, y, weights)
    assert [d.shape for d in deltas] == [w.shape for w in weights]
    assert all(a.dtype == np.float32 for a in activations + zs + deltas)
    output = activations[-1]                           # a distribution per example
    np.testing.assert_allclose(output.sum(axis=-1), 1, rtol=1e-5)
