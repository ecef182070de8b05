"""Questions 2 and 3: every array of the forward and backward passes has the shape the
TP's equations give it, for one example and for a batch of B; and the network is the
one the TP specifies (Figure 2, Tasks 5 and 6). Only the tests marked "TP" pin the TP's
own numbers: the others take the shapes from init_weights, so that they follow a change
of the network."""

import numpy as np
import pytest

import mnist_ffnn


def test_tp_network_is_784_128_64_10_without_biases():
    shapes = [w.shape for w in mnist_ffnn.init_weights(np.random.default_rng(0))]
    assert shapes == [(784, 128), (128, 64), (64, 10)], \
        "TP, Figure 2 and Task 6: three weight matrices w1, w2, w3 between layers of 784, " \
        "128, 64 and 10 neurons, and nothing else (no biases)"


def test_weights_are_standard_normal_divided_by_sqrt_n():
    """TP, Task 5: each (m, n) matrix is N(0, 1) / sqrt(n): mean 0 and standard deviation
    1/sqrt(n), each within 5 standard errors of its estimate from the matrix's draws."""
    for m, n in ((784, 128), (128, 64), (64, 10)):
        w = mnist_ffnn.layer_weights(m, n, np.random.default_rng(0))
        assert w.shape == (m, n) and w.dtype == np.float32
        assert abs(w.mean() * np.sqrt(n)) < 5 / np.sqrt(w.size)
        assert abs(w.std() * np.sqrt(n) - 1) < 5 / np.sqrt(2 * w.size)


@pytest.mark.parametrize("batch", [None, 1, 7])
def test_forward_and_backward_shapes(batch):
    """Questions 2 and 3: z_i and a_i have n_i values per example (a_0 the input), and
    each weight change dw_i = a_{i-1}^T . e_i has the shape of its w_i, summed over the
    batch: the same functions of mnist_ffnn.py take one example or a batch."""
    rng = np.random.default_rng(1)
    weights = mnist_ffnn.init_weights(rng)
    matrices = [w for w in weights if w.ndim == 2]              # biases, if any, aside
    sizes = [matrices[0].shape[0]] + [w.shape[1] for w in matrices]    # n_0 .. n_3
    lead = () if batch is None else (batch,)
    a0 = rng.random(lead + (sizes[0],)).astype(np.float32)
    y = np.zeros(lead + (sizes[-1],), np.float32)
    y[..., 3] = 1
    activations, zs = mnist_ffnn.forward_pass(a0, weights)
    assert [a.shape for a in activations] == [lead + (n,) for n in sizes]
    assert [z.shape for z in zs] == [lead + (n,) for n in sizes[1:]]
    deltas = mnist_ffnn.backpropagation(activations, zs, y, weights)
    assert [d.shape for d in deltas] == [w.shape for w in weights]
    assert all(a.dtype == np.float32 for a in activations + zs + deltas)
    np.testing.assert_allclose(activations[-1].sum(axis=-1), 1, rtol=1e-5)  # distributions


def test_an_int_seed_draws_independent_reproducible_layers():
    """init_weights(0) draws each layer on from the last, from one stream: no layer
    repeats another's draws, and the same seed draws the same network."""
    first, again = mnist_ffnn.init_weights(0), mnist_ffnn.init_weights(0)
    for w, v in zip(first, again):
        np.testing.assert_array_equal(w, v)
    matrices = [w for w in first if w.ndim == 2]        # biases, if any, may be zeros
    for w, v in zip(matrices, matrices[1:]):            # each layer against the next
        n = min(w.size, v.size)
        a = w.ravel()[:n] * np.sqrt(w.shape[1])          # back to the N(0, 1) draws
        b = v.ravel()[:n] * np.sqrt(v.shape[1])
        assert abs(np.corrcoef(a, b)[0, 1]) < 0.1
    assert not np.array_equal(mnist_ffnn.init_weights(1)[0], first[0])


def test_one_image_is_preprocessed_as_one_example():
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    one = mnist_ffnn.preprocess_inputs(images[1])
    assert one.shape == (784,)
    np.testing.assert_array_equal(one, mnist_ffnn.preprocess_inputs(images)[1])
