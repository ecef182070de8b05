"""examples/plots.py: five figures of a network saved by
`python mnist_ffnn_batched.py --save MODEL`, as PNG files in the folder DIR.

    python examples/plots.py MODEL DIR

learning_curves.png (the loss and error rates per epoch, from the history saved with
the network), confusion_matrix.png and misclassified.png (on the test set), w1_tiles.png
(each column of w1 as a 28 x 28 image) and hidden_activations.png (the mean activation
of each first-layer neuron for each digit).
"""

import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))     # the TP's scripts
from mnist_ffnn import (DATA_DIR, DataError, forward_pass, load_mnist,  # noqa: E402
                        preprocess_inputs, run)
from mnist_ffnn_batched import load_model  # noqa: E402


def save_figure(figure, path):
    """Write the matplotlib Figure as a PNG file `path`: to a temporary file beside it,
    then renamed over it, so that no half-written figure is ever left."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        figure.savefig(temporary, format="png", dpi=100)
        os.replace(temporary, path)
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror}.") from None
    finally:
        temporary.unlink(missing_ok=True)


def learning_curves(figure, history):
    """The mean training loss and the error rates of each epoch of `history`."""
    loss_axes, error_axes = figure.subplots(1, 2)
    epochs = [record["epoch"] for record in history]     # numbered on across --load runs
    loss_axes.plot(epochs, [record["loss"] for record in history], marker="o")
    loss_axes.set(title="Training loss", xlabel="epoch", ylabel="mean cross-entropy",
                  yscale="log")
    for key, marker in (("test_error", "o"), ("validation_error", "s")):
        kept = [record for record in history if key in record]
        if kept:
            error_axes.plot([record["epoch"] for record in kept],
                            [100 * record[key] for record in kept], marker=marker,
                            label=key[:-6])
    error_axes.set(title="Error rate after each epoch", xlabel="epoch", ylabel="error (%)")
    error_axes.legend()
    for axes in (loss_axes, error_axes):
        axes.xaxis.get_major_locator().set_params(integer=True)


def confusion(figure, labels, predicted):
    """The test set's confusion matrix, (10, 10) counts: row = true, column = predicted."""
    counts = np.bincount(10 * labels + predicted, minlength=100).reshape(10, 10)
    axes = figure.subplots()
    image = axes.imshow(np.log1p(counts), cmap="Blues")
    for (row, column), count in np.ndenumerate(counts):          # one label per cell
        axes.text(column, row, count, ha="center", va="center", fontsize=8,
                  color="white" if row == column else "black")
    axes.set(title=f"Confusion matrix of the test set ({np.sum(counts) - np.trace(counts)}"
                   f" errors in {np.sum(counts)})", xlabel="predicted digit",
             ylabel="true digit", xticks=range(10), yticks=range(10))
    figure.colorbar(image, label="log(1 + count)")


def misclassified(figure, x, labels, predicted, count=32):
    """The first `count` misclassified test digits x (N, 784), true -> predicted."""
    wrong = np.flatnonzero(labels != predicted)[:count]
    panels = figure.subplots(4, 8).ravel()
    figure.suptitle("Misclassified test digits (true → predicted)")
    for axes, i in zip(panels, wrong):                           # one panel per digit
        axes.imshow(x[i].reshape(28, 28), cmap="gray_r")
        axes.set_title(f"#{i}: {labels[i]} → {predicted[i]}", fontsize=8)
    for axes in panels:
        axes.axis("off")


def w1_tiles(figure, w1):
    """Each column of w1 (784, n) as a 28 x 28 tile, about twice as many tiles across as
    down (16 x 8 for n = 128): red where ink raises the neuron's z1, blue where it
    lowers it."""
    neurons = w1.shape[1]
    across = min(neurons, math.ceil(math.sqrt(2 * neurons)))     # tiles in a row
    down = math.ceil(neurons / across)
    tiles = np.full((down * across, 30, 30), np.nan)              # a blank border each
    tiles[:neurons, 1:29, 1:29] = w1.T.reshape(neurons, 28, 28)
    mosaic = tiles.reshape(down, across, 30, 30).swapaxes(1, 2).reshape(down * 30, -1)
    limit = np.nanpercentile(np.abs(mosaic), 99.5)
    import matplotlib
    colours = matplotlib.colormaps["RdBu_r"].resampled(32)     # 32 levels: a small file
    axes = figure.subplots()
    image = axes.imshow(mosaic, cmap=colours, vmin=-limit, vmax=limit,
                        interpolation="nearest")
    axes.set_title(f"The {neurons} columns of w1, one per neuron of the first layer")
    axes.axis("off")
    figure.colorbar(image, shrink=0.8, label="weight")


def hidden_activations(figure, x, labels, weights):
    """The mean a1 of each first-layer neuron over the test images of each digit, as a
    (10, 128) image, the neurons sorted by the digit they respond to most."""
    activations, zs = forward_pass(x, weights)
    one_hot = np.eye(10)[labels]                                    # (N, 10)
    means = (one_hot.T @ activations[1]) / one_hot.sum(axis=0)[:, None]     # (10, 128)
    order = np.lexsort((-means.max(axis=0), np.argmax(means, axis=0)))
    axes = figure.subplots()
    image = axes.imshow(means[:, order], aspect="auto", cmap="viridis", vmin=0)
    axes.set(title="Mean activation a1 of each first-layer neuron, per digit (test set)",
             xlabel="neuron (sorted by the digit it responds to most)", ylabel="digit",
             yticks=range(10))
    figure.colorbar(image, label="mean a1")


def plots(args):
    """Write the five figures of the network in args.model to args.folder, saying where.
    Returns the exit status, 0."""
    os.environ["MPLBACKEND"] = "Agg"        # files only: whatever backend was asked for
    from matplotlib.figure import Figure
    weights, runs, history = load_model(args.model)
    if not history:
        raise DataError(f"{args.model}: it holds no training history to draw.")
    x_train, y_train, x_test, labels = load_mnist(args.data_dir)
    x_test = preprocess_inputs(x_test, weights[0].dtype)
    activations, zs = forward_pass(x_test, weights)
    predicted = np.argmax(activations[-1], axis=1)
    if args.folder.exists() and not args.folder.is_dir():
        raise DataError(f"{args.folder} is not a folder.")
    args.folder.mkdir(parents=True, exist_ok=True)
    wide, square = (10, 4.5), (6.5, 5.5)                          # figure sizes, inches
    drawings = {"learning_curves.png": (wide, lambda f: learning_curves(f, history)),
                "confusion_matrix.png": (square, lambda f: confusion(f, labels, predicted)),
                "misclassified.png": (wide, lambda f: misclassified(f, x_test, labels,
                                                                    predicted)),
                "w1_tiles.png": (wide, lambda f: w1_tiles(f, weights[0])),
                "hidden_activations.png": (wide, lambda f: hidden_activations(
                    f, x_test, labels, weights))}
    for name, (size, draw) in drawings.items():                  # the five figures
        figure = Figure(figsize=size, layout="constrained")
        draw(figure)
        save_figure(figure, args.folder / name)
        print(f"Wrote {args.folder / name}")
    return 0


def main(argv=None):
    """The command line: returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__[:__doc__.index("\n\n")])
    parser.add_argument("model", type=Path, help="a network saved by --save (.npz)")
    parser.add_argument("folder", type=Path, metavar="DIR", help="where to write them")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, metavar="DIR",
                        help="folder of the MNIST files (default: data/)")
    return run(plots, parser.parse_args(argv))


if __name__ == "__main__":
    sys.stdout.reconfigure(errors="replace")      # a console that cannot show a file's name
    sys.exit(main())
