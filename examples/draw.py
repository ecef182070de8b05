"""examples/draw.py: draw a digit with the mouse and watch a network saved by
`python mnist_ffnn_batched.py --save MODEL` read it, as you draw.

    python examples/draw.py MODEL

A matplotlib window (it needs a display) shows the canvas, the 28 x 28 input that the
network reads from it as fitted (made as examples/predict.py makes it from a photo,
whose answer is the mean of this reading and one with the slant undone), why: where
more ink would raise that answer (red) or lower it (blue), and the ten probabilities.
The left button draws; the right button, or any key, clears; q also closes the window.
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))     # the TP's scripts
from mnist_ffnn import DataError, run  # noqa: E402
from mnist_ffnn_batched import load_model  # noqa: E402
from reader import mnist_input  # noqa: E402
from predict import probabilities  # noqa: E402
from why import input_gradient, show_gradient, show_why  # noqa: E402


class DrawingBoard:
    """The canvas, the input the network sees, why it answers as it does and its ten
    probabilities, in a matplotlib figure, redrawn after each stroke; plain matplotlib
    events drive it."""

    SIZE = 140        # canvas pixels: 5 per MNIST pixel
    PEN = 7.0         # the pen's radius, in canvas pixels
    FIGSIZE = (12.5, 4)  # inches: the titles fit, the window fits a 1366-pixel screen

    def __init__(self, weights, figure):
        """Lay out the board in `figure` for the network `weights`."""
        self.weights, self.figure, self.pen = weights, figure, None
        self.ink = np.zeros((self.SIZE, self.SIZE))
        self.pixels = np.stack(np.meshgrid(np.arange(self.SIZE), np.arange(self.SIZE)), -1)
        self.probabilities = np.zeros(10)
        self.canvas_axes, seen_axes, why_axes, self.bar_axes = figure.subplots(
            1, 4, width_ratios=(1, 1, 1, 1.3))
        self.canvas_image = self.canvas_axes.imshow(self.ink, cmap="gray", vmin=0, vmax=1)
        self.canvas_axes.set(title="Draw with the left button\nright button or a key: clear"
                                   "\nq: close", xticks=[], yticks=[])
        self.gradient = np.zeros(784)
        self.seen_image, self.why_image = show_why(seen_axes, why_axes, np.zeros(784),
                                                   self.gradient)
        self.bars = self.bar_axes.bar(range(10), self.probabilities)
        self.bar_axes.set(ylim=(0, 1), xticks=range(10), xlabel="digit",
                          ylabel="probability")
        figure.canvas.mpl_connect("button_press_event", self.on_press)
        figure.canvas.mpl_connect("motion_notify_event", self.on_move)
        figure.canvas.mpl_connect("button_release_event", self.on_release)
        figure.canvas.mpl_connect("key_press_event", lambda event: self.clear())
        self.update()

    def on_press(self, event):
        """Left button: put the pen down there; right button: clear."""
        if event.inaxes is self.canvas_axes and event.button == 1:
            self.pen = (event.xdata, event.ydata)
            self.paint(self.pen, self.pen)
        elif event.button == 3:
            self.clear()

    def on_move(self, event):
        """While the pen is down, ink the segment from where it was to where it is."""
        if self.pen is not None and event.inaxes is self.canvas_axes:
            self.paint(self.pen, (event.xdata, event.ydata))
            self.pen = (event.xdata, event.ydata)

    def on_release(self, event):
        """Lift the pen."""
        self.pen = None

    def paint(self, start, end):
        """Ink the segment from `start` to `end`, (x, y) in canvas pixels, with a round
        pen: every pixel at once, by its distance to the segment."""
        start, end = np.asarray(start, float), np.asarray(end, float)
        along = end - start
        t = np.clip((self.pixels - start) @ along / max(along @ along, 1e-12), 0, 1)
        distance = np.linalg.norm(self.pixels - (start + t[..., None] * along), axis=-1)
        self.ink = np.maximum(self.ink, np.clip(self.PEN - distance, 0, 1))
        self.update()

    def clear(self):
        """Wipe the canvas."""
        self.ink[:] = 0
        self.pen = None
        self.update()

    def update(self):
        """Read the canvas as examples/predict.py reads a picture, and redraw."""
        seen = mnist_input(self.ink)
        if seen is None:                                       # nothing drawn yet
            seen, self.probabilities, self.gradient = np.zeros(784), np.zeros(10), \
                np.zeros(784)
        else:
            self.probabilities = probabilities(seen, self.weights)[0]   # both readings
            seen = seen[0].astype(self.weights[0].dtype)              # the one as fitted
            self.gradient = input_gradient(seen, self.weights,
                                           int(np.argmax(self.probabilities)))[1]
        self.canvas_image.set_data(self.ink)
        self.seen_image.set_data(seen.reshape(28, 28))
        show_gradient(self.why_image, self.gradient)
        digit = int(np.argmax(self.probabilities))
        for k, (bar, probability) in enumerate(zip(self.bars, self.probabilities)):
            bar.set_height(probability)                        # the ten bars
            bar.set_color("C1" if k == digit else "C0")
        self.bar_axes.set_title(f"The network reads a {digit} "
                                f"({self.probabilities[digit]:.0%})\n"
                                if self.probabilities.any() else "Probabilities\n")
        self.figure.canvas.draw_idle()


def open_figure():
    """A matplotlib figure in a window. DataError, in one sentence saying what to do, if
    MPLBACKEND names no backend, if there is no display, or if matplotlib found no GUI
    toolkit (it then falls back to Agg, which draws no window)."""
    try:
        import matplotlib
        for name in matplotlib.rcParams:    # matplotlib's own keys (l: log scale, p: pan,
            if name.startswith("keymap.") and name != "keymap.quit":  # ...) broke the board
                matplotlib.rcParams[name] = []
        matplotlib.rcParams["toolbar"] = "None"
        import matplotlib.pyplot as plt
        figure = plt.figure("Draw a digit", figsize=DrawingBoard.FIGSIZE,
                            layout="constrained")
    except (ValueError, ImportError) as exc:         # a backend unknown, or not installed
        raise DataError(f"MPLBACKEND={os.environ.get('MPLBACKEND', '')!r} is not a backend "
                        "that matplotlib can open here; unset it, or set it to TkAgg or "
                        f"QtAgg ({str(exc).split(';')[0]}).") from None
    if figure.canvas.required_interactive_framework is not None:
        return plt, figure
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        raise DataError("there is no display to open the drawing board on; "
                        "examples/predict.py reads a digit from an image file instead.")
    if os.environ.get("MPLBACKEND"):
        raise DataError(f"MPLBACKEND={os.environ['MPLBACKEND']} opens no window; unset it, "
                        "or set it to TkAgg or QtAgg.")
    raise DataError("there is a display, but matplotlib found no GUI toolkit to open a "
                    "window with: install python3-tk (e.g. sudo apt install python3-tk), "
                    "or PyQt (pip install PyQt6).")


def draw(args):
    """Open the drawing board for the network in args.model, until its window is
    closed. Returns the exit status; DataError if no window can be opened."""
    weights = load_model(args.model)[0]
    plt, figure = open_figure()
    figure.board = DrawingBoard(weights, figure)              # kept alive while shown
    plt.show()
    return 0


def main(argv=None):
    """The command line: returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__[:__doc__.index("\n\n")])
    parser.add_argument("model", type=Path, help="a network saved by --save (.npz)")
    return run(draw, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
