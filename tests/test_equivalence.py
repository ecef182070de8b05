"""One backpropagation for one example and for a batch: a batch's changes are the sum of
its examples', and batches of one train exactly as mnist_ffnn.py does."""

import numpy as np

import mnist_ffnn
import mnist_ffnn_batched


def test_a_batch_gives_the_sum_of_its_examples_changes():
    """TP, Task 16: backpropagation of a batch of 7 gives, for each w_i, the sum of the
    changes that its examples give one at a time (to 1e-9, in float64)."""
    rng = np.random.default_rng(0)
    weights = mnist_ffnn.init_weights(rng, np.float64)
    x = rng.random((7, weights[0].shape[0]))
    y = mnist_ffnn.preprocess_outputs(rng.integers(0, 10, 7), np.float64)
    batched = mnist_ffnn.backpropagation(*mnist_ffnn.forward_pass(x, weights), y, weights)
    summed = [np.zeros_like(w) for w in weights]
    for xi, yi in zip(x, y):
        deltas = mnist_ffnn.backpropagation(*mnist_ffnn.forward_pass(xi, weights), yi,
                                            weights)
        summed = [s + d for s, d in zip(summed, deltas)]
    for b, s in zip(batched, summed):
        assert b.shape == s.shape
        np.testing.assert_allclose(b, s, rtol=0, atol=1e-9)
    assert min(np.abs(d).max() for d in batched) > 1e-3        # not trivially 0 == 0


def test_batch_of_one_trains_like_the_per_example_script(capsys):
    rng = np.random.default_rng(1)
    start = mnist_ffnn.init_weights(np.random.default_rng(2), np.float64)
    x = rng.random((40, start[0].shape[0]))
    y = mnist_ffnn.preprocess_outputs(rng.integers(0, 10, 40), np.float64)
    per_example, batched = [w.copy() for w in start], [w.copy() for w in start]
    history = mnist_ffnn.train(x, y, x, y, per_example, epochs=2, lr=0.05)
    batched_history = mnist_ffnn_batched.train(x, y, x, y, batched, epochs=2, lr=0.05,
                                               batch_size=1, rng=None)
    for a, b in zip(per_example, batched):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg="TP, Task 18: "
                                   "batches of one train as mnist_ffnn.py does")
    assert not np.allclose(per_example[0], start[0])       # training did change w1
    assert [r["test_error"] for r in history] == [r["test_error"] for r in batched_history]
    lines = capsys.readouterr().out.splitlines()             # Task 15: a line an epoch
    assert [line[:9] for line in lines] == ["Epoch 1/2", "Epoch 2/2"] * 2


def test_compute_error_counts_the_misclassified_examples():
    """compute_error (the whole set at once) is the share of examples whose prediction,
    made one at a time by forward_pass, differs from the label."""
    rng = np.random.default_rng(3)
    weights = mnist_ffnn.init_weights(rng)
    x = rng.random((200, weights[0].shape[0])).astype(np.float32)
    predicted = np.array([np.argmax(mnist_ffnn.forward_pass(xi, weights)[0][-1])
                          for xi in x])                      # one at a time, as Task 9
    labels = rng.integers(0, 10, 200)
    labels[:50] = predicted[:50]                             # at least 50 right
    expected = np.count_nonzero(predicted != labels) / 200
    assert mnist_ffnn.compute_error(x, mnist_ffnn.preprocess_outputs(labels),
                                    weights) == expected
    assert mnist_ffnn.compute_error(x, mnist_ffnn.preprocess_outputs(predicted),
                                    weights) == 0.0


def test_one_batch_of_the_whole_set_is_not_shuffled():
    """Task 17: with one batch the order changes nothing but the copy of the whole set,
    which train then skips: a Generator trains exactly as no shuffling."""
    rng = np.random.default_rng(3)
    x, y = rng.random((50, 784)), mnist_ffnn.preprocess_outputs(rng.integers(0, 10, 50))
    first = mnist_ffnn.init_weights(0)
    second = [w.copy() for w in first]
    state = rng.bit_generator.state
    mnist_ffnn_batched.train(x, y, x, y, first, epochs=2, batch_size=50, rng=rng)
    assert rng.bit_generator.state == state                      # no permutation drawn
    mnist_ffnn_batched.train(x, y, x, y, second, epochs=2, batch_size=50, rng=None)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
