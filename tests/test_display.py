"""On a desktop, the walk-through's Task 2 window waits until the user closes it, so it
first says how to go on; the tests themselves never wait on a window (conftest sets
MPLBACKEND=Agg). This test needs a display: CI runs the suite under Xvfb."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT

SHOW = ("import matplotlib.pyplot as plt, numpy as np, mnist_ffnn\n"
        "plt.show = lambda *args, **kwargs: print('the window waits', flush=True)\n"
        "mnist_ffnn.show_digits(np.zeros((9, 28, 28), np.uint8), np.arange(9))\n")


def test_task_2_says_how_to_go_on_before_its_window_waits():
    result = subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "MPLBACKEND": "TkAgg"})
    assert result.returncode == 0, result.stderr
    if "the window waits" not in result.stdout:   # no display, or no tkinter
        pytest.skip("no display with tkinter here (CI runs the tests under Xvfb)")
    first, second = result.stdout.splitlines()
    assert "close it to go on" in first and second == "the window waits"


def test_task_2_without_a_display_goes_on_and_says_so():
    result = subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0 and "the window waits" not in result.stdout
    assert "no display" in result.stdout


def test_an_unknown_backend_is_one_line():
    code = SHOW.replace("import matplotlib.pyplot as plt, ", "import ").splitlines()
    result = subprocess.run([sys.executable, "-c", "\n".join(code[:1] + code[2:])],
                            cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "MPLBACKEND": "nonsense"})
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert result.stdout.startswith("Task 2: MPLBACKEND")
