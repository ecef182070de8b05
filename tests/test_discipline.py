"""The NumPy discipline of the TP: no Python loop (for, while, comprehension) over
examples, pixels or neurons outside the training loops. A loop over the list of weight
arrays (its iterable names `weights`, `deltas`, or their `shapes`, `names` or `errors`)
goes over matrices, not values, and is allowed anywhere; the few other loops go over
files, figures' elements or the command line's options, each allowed by the name of its
function below, with its reason. And the batched script reuses, not copies, what Task 16
does not change."""

import ast

import pytest

from conftest import ROOT

# function -> why a loop is allowed there
ALLOWED = {
    "train": "the training loops (epochs, and examples or batches)",
    "_read_idx": "reads a file 64 KiB at a time (bounded memory)",
    "mnist_paths": "goes over the four files and their candidate names, not their data",
    "load_mnist": "goes over the four files, and the two sets to check them",
    "run_command_line": "goes over stdout and stderr",
    "check_outputs": "compares the files named on the command line",
    "load_weights": "goes over the members of a weights file",
    "gradient_errors": "finite differences: a few dozen directions per matrix",
    "check_writable": "goes up a path's directories",
    "stop_requests": "goes over the two signals it handles",
    "predict_images": "goes over the image files named on the command line",
    "plot_learning_curves": "plotting code: one point per epoch",
    "plot_confusion_matrix": "plotting code: one label per cell",
    "plot_misclassified": "plotting code: one panel per digit shown",
    "save_plots": "plotting code: the figure files",
    "update": "drawing board: the ten bars of the chart",
    "parse_arguments": "goes over the options given",
    "output_files": "goes over the output options and figure files",
    "input_files": "goes over the four data files",
    "json_value": "goes over the values of an option",
    "write_outputs": "goes over the options to record them",
}
LOOPS = (ast.For, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
OVER_WEIGHTS = {"weights", "deltas", "shapes", "names", "errors"}   # one per array


def over_weights(loop):
    """Whether a loop's iterables name the list of weight arrays."""
    iterables = ([loop.iter] if isinstance(loop, ast.For) else
                 [g.iter for g in getattr(loop, "generators", [])])
    return any(isinstance(node, ast.Name) and node.id in OVER_WEIGHTS
               for iterable in iterables for node in ast.walk(iterable))


def loops_outside_allowed_functions(source):
    """(line, enclosing function) of every loop not inside an allowed function."""
    tree = ast.parse(source)
    found = []

    def visit(node, function):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name if function is None else function
        if isinstance(node, LOOPS) and function not in ALLOWED and not over_weights(node):
            found.append((node.lineno, function))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, None)
    return found


@pytest.mark.parametrize("script", ["mnist_ffnn.py", "mnist_ffnn_batched.py"])
def test_no_loops_outside_the_training_loops(script):
    assert loops_outside_allowed_functions((ROOT / script).read_text()) == []


def test_the_check_finds_loops():
    source = ("def sigmoid(x):\n    return [1 / (1 + e) for e in x]\n"
              "def train():\n    for epoch in range(3):\n        pass\n"
              "def f(x):\n    while x:\n        x -= 1\n"
              "def step(weights, deltas):\n    for w, d in zip(weights, deltas):\n"
              "        w -= d\n")
    assert loops_outside_allowed_functions(source) == [(2, "sigmoid"), (7, "f")]


def test_the_batched_script_reuses_what_task_16_does_not_change():
    """The batched script runs the very functions of the per-example script for all
    that does not depend on the batch axis (the design: import, never copy)."""
    import mnist_ffnn
    import mnist_ffnn_batched
    for name in ("load_mnist", "preprocess", "init_weights", "forward_pass",
                 "update_weights", "compute_error"):
        assert getattr(mnist_ffnn_batched, name) is getattr(mnist_ffnn, name), \
            f"TP, Task 16: the batched script imports {name}, which batches do not change"
    assert mnist_ffnn_batched.backpropagation is not mnist_ffnn.backpropagation
