"""The NumPy discipline of the TP: no Python loop (for, while, comprehension) outside
the training loops, except over files, the three weight matrices, figures' elements
and the command line's options; and the batched script reuses, not copies, what
Task 16 does not change."""

import ast

import pytest

from conftest import ROOT

# function -> why a loop is allowed there
ALLOWED = {
    "train": "the training loops (epochs, and examples or batches)",
    "_read_idx": "reads a gzip stream 1 MiB at a time (bounded memory)",
    "load_mnist": "goes over the four files and their candidate names, not their data",
    "load_weights": "goes over the three arrays of a weights file",
    "predict_images": "goes over the image files named on the command line",
    "plot_learning_curves": "plotting code: one point per epoch",
    "plot_confusion_matrix": "plotting code: one label per cell",
    "plot_misclassified": "plotting code: one panel per digit shown",
    "save_plots": "plotting code: the three figure files",
    "train_from_arguments": "command line: the three output options",
    "gradient_errors": "finite differences: a few dozen loss evaluations per matrix",
    "check_gradients": "prints one line per weight matrix",
    "update": "drawing board: the ten bars of the chart",
}
LOOPS = (ast.For, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def loops_outside_allowed_functions(source):
    """(line, enclosing function) of every loop not inside an allowed function."""
    tree = ast.parse(source)
    found = []

    def visit(node, function):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name if function is None else function
        if isinstance(node, LOOPS) and function not in ALLOWED:
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
              "def f(x):\n    while x:\n        x -= 1\n")
    assert loops_outside_allowed_functions(source) == [(2, "sigmoid"), (7, "f")]


def test_the_batched_script_reuses_what_task_16_does_not_change():
    """The batched script runs the very functions of the per-example script for all
    that does not depend on the batch axis (the design: import, never copy)."""
    import mnist_ffnn
    import mnist_ffnn_batched
    for name in ("load_mnist", "preprocess_inputs", "preprocess_outputs", "init_weights",
                 "forward_pass", "update_weights", "compute_error"):
        assert getattr(mnist_ffnn_batched, name) is getattr(mnist_ffnn, name), name
    assert mnist_ffnn_batched.backpropagation is not mnist_ffnn.backpropagation
