"""The network learns: a few epochs on a part of the shipped MNIST drive the test error
far below the 90 % of chance."""

import numpy as np

import mnist_ffnn
import mnist_ffnn_batched


def test_random_weights_are_near_chance(mnist):
    _, _, x_test, y_test = mnist
    errors = [mnist_ffnn.compute_error(x_test, y_test, mnist_ffnn.init_weights(
        np.random.default_rng(seed))) for seed in range(3)]
    assert all(0.75 < e < 0.97 for e in errors)


def test_per_example_training_learns(mnist):
    x_train, y_train, x_test, y_test = mnist
    weights = mnist_ffnn.init_weights(np.random.default_rng(0))
    history = mnist_ffnn.train(x_train[:2000], y_train[:2000], x_test[:2000],
                               y_test[:2000], weights, epochs=3, lr=0.01)
    assert history[-1]["test_error"] < 0.30
    assert history[-1]["test_error"] < history[0]["test_error"]


def test_batched_training_learns(mnist):
    x_train, y_train, x_test, y_test = mnist
    rng = np.random.default_rng(0)
    weights = mnist_ffnn.init_weights(rng)
    history = mnist_ffnn_batched.train(x_train[:10000], y_train[:10000], x_test, y_test,
                                       weights, epochs=3, lr=0.02, batch_size=20, rng=rng)
    assert history[-1]["test_error"] < 0.10
    assert history[-1]["loss"] < history[0]["loss"]
