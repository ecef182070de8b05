"""The batched script computes what the per-example script computes, and its shortcut
for small batches (active_pixel_step) what the TP's three steps compute."""

import numpy as np
import pytest

import mnist_ffnn
import mnist_ffnn_batched


def test_batched_deltas_are_the_sum_of_per_example_deltas():
    rng = np.random.default_rng(0)
    weights = mnist_ffnn.init_weights(rng, np.float64)
    x = rng.random((16, 784))
    y = mnist_ffnn.preprocess_outputs(rng.integers(0, 10, 16), np.float64)
    batched = mnist_ffnn_batched.backpropagation(
        *mnist_ffnn_batched.forward_pass(x, weights), y, weights)
    summed = [np.zeros_like(w) for w in weights]
    for xi, yi in zip(x, y):
        deltas = mnist_ffnn.backpropagation(*mnist_ffnn.forward_pass(xi, weights), yi, weights)
        summed = [s + d for s, d in zip(summed, deltas)]
    for b, s in zip(batched, summed):
        np.testing.assert_allclose(b, s, rtol=1e-10, atol=1e-12, err_msg="TP, Task 16: "
                                   "a batch's changes are the sum of its examples'")


def sparse_inputs(rng, n):
    """n inputs (n, 784) in [0, 1], four fifths of their pixels 0, as in MNIST."""
    x = rng.random((n, 784))
    return np.where(x < 0.8, 0, x)


def test_batch_of_one_trains_like_the_per_example_script(capsys):
    rng = np.random.default_rng(1)
    x = sparse_inputs(rng, 40)
    y = mnist_ffnn.preprocess_outputs(rng.integers(0, 10, 40), np.float64)
    start = mnist_ffnn.init_weights(np.random.default_rng(2), np.float64)
    per_example = [w.copy() for w in start]
    batched = [w.copy() for w in start]
    per_example_history = mnist_ffnn.train(x, y, x, y, per_example, epochs=2, lr=0.05)
    batched_history = mnist_ffnn_batched.train(x, y, x, y, batched, epochs=2, lr=0.05,
                                               batch_size=1, rng=None,
                                               log=lambda line: None)
    for a, b in zip(per_example, batched):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg="TP, Task 18: "
                                   "batches of one train as mnist_ffnn.py does")
    assert not np.allclose(per_example[0], start[0])     # training did change w1
    assert ([r["test_error"] for r in per_example_history]
            == [r["test_error"] for r in batched_history])
    printed = capsys.readouterr().out.splitlines()        # Task 15: one line an epoch
    assert [line[:9] for line in printed] == ["Epoch 1/2", "Epoch 2/2"]


@pytest.mark.parametrize("module", [mnist_ffnn, mnist_ffnn_batched])
def test_compute_error_counts_misclassified_examples(module):
    """Each script's compute_error (the whole set at once) is the share of examples
    whose prediction, made one by one by its own forward_pass, differs from the label."""
    rng = np.random.default_rng(3)
    weights = mnist_ffnn.init_weights(rng)
    x = rng.random((200, 784)).astype(np.float32)
    predicted = []
    for xi in x:                                        # one by one, as Task 9 does
        activations, zs = module.forward_pass(xi, weights)
        predicted.append(int(np.argmax(activations[-1])))
    predicted = np.array(predicted)
    labels = rng.integers(0, 10, 200)
    labels[:50] = predicted[:50]                   # at least 50 right
    y = mnist_ffnn.preprocess_outputs(labels)
    expected = np.count_nonzero(predicted != labels) / 200
    assert module.compute_error(x, y, weights) == expected
    y_right = mnist_ffnn.preprocess_outputs(predicted)
    assert module.compute_error(x, y_right, weights) == 0.0


@pytest.mark.parametrize("batch_size", [1, 3, 10])
def test_the_active_pixel_shortcut_is_the_three_steps(batch_size):
    """active_pixel_step (train's path for small batches) changes the weights as the
    TP's three steps on the whole network do, batch after batch (200 batches)."""
    rng = np.random.default_rng(4)
    x = sparse_inputs(rng, 200 * batch_size)
    y = mnist_ffnn.preprocess_outputs(rng.integers(0, 10, len(x)), np.float64)
    start = mnist_ffnn.init_weights(np.random.default_rng(5), np.float64)
    plain, shortcut = [w.copy() for w in start], [w.copy() for w in start]
    for first in range(0, len(x), batch_size):
        a0, yb = x[first:first + batch_size], y[first:first + batch_size]
        activations, zs = mnist_ffnn_batched.forward_pass(a0, plain)
        deltas = mnist_ffnn_batched.backpropagation(activations, zs, yb, plain)
        mnist_ffnn.update_weights(plain, deltas, 0.05)
        zs_shortcut = mnist_ffnn_batched.active_pixel_step(a0, yb, shortcut, 0.05)
        np.testing.assert_allclose(zs_shortcut[-1], zs[-1], rtol=1e-9, atol=1e-12)
    for a, b, w in zip(plain, shortcut, start):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
        assert not np.allclose(a, w)                       # training did change them


@pytest.mark.parametrize("batch_size", [1, 10])
def test_train_does_not_depend_on_the_shortcut(batch_size, monkeypatch):
    """train with its small-batch shortcut gives the weights that train with the TP's
    plain three steps gives (an update rule that the shortcut cannot follow, such as
    momentum, must then do without it)."""
    rng = np.random.default_rng(6)
    x = sparse_inputs(rng, 300)
    y = mnist_ffnn.preprocess_outputs(rng.integers(0, 10, 300), np.float64)
    start = mnist_ffnn.init_weights(np.random.default_rng(7), np.float64)
    results = []
    for small_batch in (mnist_ffnn_batched.SMALL_BATCH, 0):       # shortcut, then none
        monkeypatch.setattr(mnist_ffnn_batched, "SMALL_BATCH", small_batch)
        weights = [w.copy() for w in start]
        mnist_ffnn_batched.train(x, y, x, y, weights, epochs=2, lr=0.05,
                                 batch_size=batch_size, rng=np.random.default_rng(8),
                                 log=lambda line: None)
        results.append(weights)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
