"""The NumPy discipline of the TP: no Python loop (for, while, comprehension) outside
the training loops, the loops over the four data files, and the command line."""

import ast

import pytest

from conftest import ROOT

# function -> why a loop is allowed there
ALLOWED = {
    "train": "the training loops (epochs, and examples or batches)",
    "find_idx_file": "tries the few candidate file names",
    "load_mnist": "goes over the four files, not over their data",
    "load_weights": "goes over the three arrays of a weights file",
    "predict_images": "goes over the image files named on the command line",
    "plot_learning_curves": "plotting code: one point per epoch",
    "plot_confusion_matrix": "plotting code: one label per cell",
    "plot_misclassified": "plotting code: one panel per digit shown",
    "save_plots": "plotting code: the three figure files",
    "check_arguments": "command line: the two output paths",
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


def test_the_batched_script_copies_nothing_that_does_not_change():
    """Task 16 redefines only backpropagation and train; the rest of the batched script
    is new (reading your own digits, its command line), not a copy."""
    import mnist_ffnn
    tree = ast.parse((ROOT / "mnist_ffnn_batched.py").read_text())
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    redefined = {name for name in defined if hasattr(mnist_ffnn, name)}
    assert redefined == {"backpropagation", "train", "main"}
