"""examples/plots.py: the five figures of a saved network, each what it says it shows."""

import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure

import mnist_ffnn
import plots
from conftest import run_script

NAMES = ["learning_curves.png", "confusion_matrix.png", "misclassified.png",
         "w1_tiles.png", "hidden_activations.png"]


def test_the_five_figures_are_written(trained, tmp_path):
    result = run_script("examples/plots.py", trained[1], tmp_path / "figures")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == sorted(NAMES)
    for name in NAMES:
        image = matplotlib.image.imread(tmp_path / "figures" / name)[..., :3]
        assert image.shape[0] > 200 and image.shape[1] > 400 and image.std() > 0.01
        blank = np.all(image.min(axis=0) > 0.99, axis=-1)         # white columns
        edges = np.flatnonzero(np.diff(np.concatenate([[0], blank, [0]])))
        widest = max(np.diff(edges)[::2], default=0)              # white columns in a row
        assert widest < 0.2 * len(blank), f"{name}: a blank band {widest} pixels wide"


def test_a_network_without_history_is_refused(trained, tmp_path, capsys):
    import mnist_ffnn_batched
    mnist_ffnn_batched.save_model(tmp_path / "new.npz", trained[0], [], [])
    assert plots.main([str(tmp_path / "new.npz"), str(tmp_path)]) == 1
    assert capsys.readouterr().err.endswith("it holds no training history to draw.\n")


def shown(draw, *args):
    """The first image that draw(figure, *args) shows with imshow."""
    figure = Figure()
    draw(figure, *args)
    return figure.axes[0].images[0].get_array()


@pytest.mark.parametrize("neurons, across", [(128, 16), (10, 5), (37, 9), (256, 23)])
def test_the_w1_tiles_are_the_columns_of_w1(neurons, across):
    """Column k of w1 is the 28 x 28 tile at row k // across, column k % across, for a
    first layer of any width."""
    w1 = np.random.default_rng(0).standard_normal((784, neurons))
    mosaic = shown(plots.w1_tiles, w1)
    assert mosaic.shape == (-(-neurons // across) * 30, across * 30)
    for k in (0, across + 1, neurons - 1):
        row, col = divmod(k, across)
        np.testing.assert_array_equal(mosaic[30 * row + 1:30 * row + 29,
                                             30 * col + 1:30 * col + 29],
                                      w1[:, k].reshape(28, 28))


def test_the_hidden_activations_are_the_means_per_digit(trained, mnist):
    x, labels = mnist[2][:500], np.argmax(mnist[3][:500], axis=1)
    image = shown(plots.hidden_activations, x, labels, trained[0])
    assert image.shape == (10, trained[0][0].shape[1])
    a1 = mnist_ffnn.forward_pass(x, trained[0])[0][1]
    for digit in (0, 7):                  # each row holds that digit's mean a1, sorted
        np.testing.assert_allclose(np.sort(image[digit]),
                                   np.sort(a1[labels == digit].mean(axis=0)), rtol=1e-5)
