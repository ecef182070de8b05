"""examples/draw.py: the drawing board, driven without a display by synthetic mouse and
key events sent to its figure's canvas, as a user's mouse would send them."""

import numpy as np
import pytest
from matplotlib.backend_bases import KeyEvent, MouseEvent
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import draw
import predict
from conftest import assert_clean_failure, run_script


def stroke(start, end, steps=12):
    """The points of a straight stroke from `start` to `end`, as a mouse reports them."""
    return [tuple(p) for p in np.linspace(start, end, steps)]


# Strokes on the 140 x 140 canvas (x to the right, y down), as a person draws digits.
DIGITS = {
    1: [stroke((70, 20), (72, 120))],
    7: [stroke((35, 25), (105, 25)), stroke((105, 25), (60, 120))],
    0: [[(70 + 30 * np.sin(t), 70 - 45 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 40)]],
    4: [stroke((50, 20), (40, 80)), stroke((40, 80), (110, 80)), stroke((90, 30), (90, 125))],
}


def new_board(weights):
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    canvas = FigureCanvasAgg(figure)                    # an image, no window
    canvas.draw_idle = lambda: None      # a window redraws when idle; here, not per event
    return draw.DrawingBoard(weights, figure)


def send_mouse(board, name, x, y, button=None):
    """A mouse event at (x, y) in the canvas's pixels, sent to the board's figure."""
    canvas = board.figure.canvas
    px, py = board.canvas_axes.transData.transform((x, y))
    canvas.callbacks.process(name, MouseEvent(name, canvas, px, py, button=button))


def draw_strokes(board, strokes):
    """Draw each stroke, a list of (x, y) canvas points, with the left button."""
    board.figure.canvas.draw()                  # lay the figure out: coordinates settle
    for points in strokes:
        send_mouse(board, "button_press_event", *points[0], button=1)
        for point in points[1:]:
            send_mouse(board, "motion_notify_event", *point)
        send_mouse(board, "button_release_event", *points[-1], button=1)


@pytest.mark.parametrize("digit", sorted(DIGITS))
def test_a_drawn_digit_is_read(trained, digit):
    board = new_board(trained[0])
    assert not board.probabilities.any()               # nothing drawn: no reading yet
    draw_strokes(board, DIGITS[digit])
    assert board.ink.max() == 1 and 0.03 < board.ink.mean() < 0.3
    assert int(np.argmax(board.probabilities)) == digit
    assert board.probabilities.sum() == pytest.approx(1, abs=1e-5)
    np.testing.assert_allclose([bar.get_height() for bar in board.bars], board.probabilities)
    np.testing.assert_allclose(board.seen_image.get_array().ravel(),
                               predict.mnist_input(board.ink)[0])   # read as a picture is
    assert f"reads a {digit}" in board.bar_axes.get_title()
    import why                                   # beside it: the input gradient, shown
    k, gradient = why.input_gradient(np.asarray(board.seen_image.get_array()).ravel().astype(
        np.float32), trained[0], digit)
    np.testing.assert_allclose(board.why_image.get_array().ravel(), gradient, rtol=1e-5)
    assert board.why_image.get_clim() == pytest.approx((-np.abs(gradient).max(),
                                                         np.abs(gradient).max()))


def test_strokes_are_continuous_however_fast_the_mouse(trained):
    board = new_board(trained[0])
    draw_strokes(board, [[(20, 70), (120, 70)]])            # one jump of 100 pixels
    assert board.ink[70, 20:121].min() == 1


@pytest.mark.parametrize("how", ["right button", "key"])
def test_clear(trained, how):
    board = new_board(trained[0])
    draw_strokes(board, DIGITS[7])
    if how == "right button":
        send_mouse(board, "button_press_event", 70, 70, button=3)
    else:
        canvas = board.figure.canvas
        canvas.callbacks.process("key_press_event", KeyEvent("key_press_event", canvas, "c"))
    assert board.ink.max() == 0 and not board.probabilities.any()
    assert not np.any(board.seen_image.get_array())
    draw_strokes(board, DIGITS[1])                             # and one can draw again
    assert int(np.argmax(board.probabilities)) == 1


def test_moving_without_the_button_draws_nothing(trained):
    board = new_board(trained[0])
    board.figure.canvas.draw()
    for x in range(20, 120, 10):
        send_mouse(board, "motion_notify_event", x, 70)
    assert board.ink.max() == 0


def test_without_a_display_it_says_so(trained):
    env = {"DISPLAY": "", "WAYLAND_DISPLAY": ""}
    assert_clean_failure(run_script("examples/draw.py", trained[1], env=env),
                         "error: there is no display to open the drawing board on")


def test_a_display_with_mplbackend_agg_says_to_unset_it(trained):
    env = {"DISPLAY": ":99", "MPLBACKEND": "Agg"}
    assert_clean_failure(run_script("examples/draw.py", trained[1], env=env),
                         "error: MPLBACKEND=Agg opens no window")


def test_a_display_without_a_gui_toolkit_says_what_to_install(trained, tmp_path):
    """DISPLAY set but tkinter missing (and no Qt): matplotlib falls back to Agg."""
    (tmp_path / "tkinter").mkdir()
    (tmp_path / "tkinter" / "__init__.py").write_text("raise ImportError('no tkinter')\n")
    env = {"DISPLAY": ":99", "PYTHONPATH": str(tmp_path), "MPLBACKEND": ""}
    assert_clean_failure(run_script("examples/draw.py", trained[1], env=env),
                         "matplotlib found no GUI toolkit", "python3-tk", "PyQt")


def test_an_invalid_mplbackend_is_one_sentence(trained):
    assert_clean_failure(run_script("examples/draw.py", trained[1],
                                    env={"MPLBACKEND": "nonsense"}),
                         "error: MPLBACKEND='nonsense' is not a backend")


def test_the_window_keeps_no_matplotlib_key_but_quit(monkeypatch):
    """matplotlib's own keys (l: log scale, p: pan) froze or moved the board; q closes."""
    import matplotlib
    import matplotlib.pyplot as plt
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setenv("MPLBACKEND", "Agg")                   # draw.py refuses: no window
    with matplotlib.rc_context():
        with pytest.raises(draw.DataError):
            draw.open_figure()
        plt.close("all")
        assert matplotlib.rcParams["keymap.yscale"] == matplotlib.rcParams["keymap.pan"] == []
        assert "q" in matplotlib.rcParams["keymap.quit"]
