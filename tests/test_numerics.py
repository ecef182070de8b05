"""sigmoid, S' and softmax: values, stability at extreme inputs, no warnings."""

import warnings

import numpy as np
import pytest

import mnist_ffnn
from mnist_ffnn import sigmoid, sigmoid_prime, softmax

EXTREMES = np.array([-1e4, -1000, -710, -100, -30, -1, 0, 1, 30, 100, 710, 1000, 1e4])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_and_warning_free_at_extremes(dtype):
    x = EXTREMES.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # any RuntimeWarning fails
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            values = [sigmoid(x), sigmoid_prime(x), softmax(x),
                      softmax(np.stack([x, -x, x / 3]))]
    for v in values:
        assert v.dtype == dtype and np.all(np.isfinite(v))
    s, sp = values[0], values[1]
    assert s[0] == 0 and s[-1] == 1 and sp[0] == 0 and sp[-1] == 0
    assert np.all((s >= 0) & (s <= 1)) and np.all(np.diff(s) >= 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_matches_its_definition(dtype):
    """S = (1 + tanh(x/2)) / 2 is the TP's 1 / (1 + e^-x) to within two roundings of a
    value near 1 (the spacing of floats there), computed here in float64 (or long
    double for the float64 case) from the TP's formula."""
    x = np.linspace(-80, 80, 20001).astype(dtype)
    exact = 1 / (1 + np.exp(-x.astype(np.longdouble)))
    spacing = np.finfo(dtype).eps
    assert np.max(np.abs(sigmoid(x) - exact)) <= 2 * spacing
    middle = np.abs(x) < 2                         # and relatively where S is not small
    np.testing.assert_allclose(sigmoid(x[middle]), exact[middle].astype(dtype),
                               rtol=4 * spacing)


def test_sigmoid_prime_matches_the_tp_formula_where_it_is_finite():
    x = np.linspace(-700, 700, 20001)
    with np.errstate(over="ignore"):
        denominator = (np.exp(-x) + 1) ** 2          # overflows for x < -354
        tp = np.exp(-x) / denominator
    finite = np.isfinite(denominator)
    assert finite.mean() > 0.7
    np.testing.assert_allclose(sigmoid_prime(x)[finite], tp[finite], rtol=1e-12, atol=0)
    # and it is the derivative of sigmoid (central differences)
    x = np.linspace(-20, 20, 401)
    h = 1e-5
    np.testing.assert_allclose(sigmoid_prime(x), (sigmoid(x + h) - sigmoid(x - h)) / (2 * h),
                               rtol=1e-6, atol=1e-10)


def test_softmax_rows_are_distributions_and_follow_the_formula():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 5, (50, 10))
    s = softmax(z)
    np.testing.assert_allclose(s.sum(axis=1), 1, rtol=1e-12)
    np.testing.assert_allclose(s, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True),
                               rtol=1e-12)
    np.testing.assert_allclose(softmax(z[7]), s[7], rtol=1e-15)    # one vector = one row
    assert np.all(np.argmax(s, axis=1) == np.argmax(z, axis=1))
    big = softmax(np.array([1e4, 1e4 - 1, -1e4]))
    np.testing.assert_allclose(big, [1 / (1 + np.exp(-1)), 1 / (1 + np.e), 0], rtol=1e-12)


def test_preprocessing():
    images = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    images = images.astype(np.uint8)
    x = mnist_ffnn.preprocess_inputs(images)
    assert x.shape == (2, 784) and x.dtype == np.float32
    assert x.min() == 0 and x.max() == 1
    np.testing.assert_allclose(x[1, :5], images[1, 0, :5] / 255, rtol=1e-7)
    y = mnist_ffnn.preprocess_outputs(np.array([7, 0, 9]), np.float64)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, np.eye(10)[[7, 0, 9]])
