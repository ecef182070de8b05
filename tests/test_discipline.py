"""The NumPy discipline of the TP: no Python loop over examples, pixels or neurons, except
the training loops. The rule judges what each loop goes over while the scripts run:
every loop of both scripts is watched (its iterable wrapped by a probe), both command
lines run on a small data set, and outside the function train no loop may go ten times
or more (the smallest layer has ten neurons) over an array or a range of indices, nor
yield NumPy numbers or rows of an array. A loop over the list of weight matrices, the
files or the options passes. And the batched script reuses, rather than copies, the
functions that take a batch."""

import ast
import sys
import types

import numpy as np
import pytest

from conftest import ROOT

SCRIPTS = {"mnist_ffnn": ROOT / "mnist_ffnn.py",
           "mnist_ffnn_batched": ROOT / "mnist_ffnn_batched.py"}


def values_in(iterable):
    """What a loop over `iterable` goes over, if it goes over values ten times or more:
    the iterable's kind (an array, a range), or what its items hold (NumPy numbers, rows
    of an array). Returns (those kinds, the items)."""
    kinds = {type(iterable).__name__} if isinstance(iterable, (np.ndarray, range)) else set()
    items = []
    for item in iterable:
        items.append(item)
        for part in item if isinstance(item, tuple) else (item,):
            if isinstance(part, np.generic):
                kinds.add("NumPy numbers")
            elif (isinstance(part, np.ndarray) and isinstance(part.base, np.ndarray)
                  and part.ndim < part.base.ndim):
                kinds.add("rows of an array")
    return (kinds if len(items) >= 10 else set()), items


def watched(source, name, seen):
    """The module `name` compiled from `source` with each loop's iterable passed through
    a probe, which records in seen[(name, line)] what the loop goes over."""
    def probe(line, iterable):
        kinds, items = values_in(iterable)
        seen.setdefault((name, line), set()).update(kinds)
        return items

    class Wrap(ast.NodeTransformer):
        def wrap(self, node):
            self.generic_visit(node)
            node.iter = ast.Call(ast.Name("__probe__", ast.Load()),
                                 [ast.Constant(node.iter.lineno), node.iter], [])
            return node
        visit_For = visit_comprehension = wrap

    tree = ast.fix_missing_locations(Wrap().visit(ast.parse(source)))
    module = types.ModuleType(name)
    module.__file__, module.__probe__ = f"{name}.py", probe
    exec(compile(tree, module.__file__, "exec"), module.__dict__)
    return module


def loops(source):
    """{line: the function it is in} of every loop of `source`; `while` loops as -line."""
    found = {}

    def visit(node, function):
        if isinstance(node, ast.FunctionDef):
            function = node.name if function is None else function
        if isinstance(node, (ast.For, ast.comprehension)):
            found[node.iter.lineno] = function
        if isinstance(node, ast.While):
            found[-node.lineno] = function
        for child in ast.iter_child_nodes(node):
            visit(child, function)
    visit(ast.parse(source), None)
    return found


def test_no_loop_over_values_outside_train(fake_mnist, tmp_path, monkeypatch, capsys):
    seen = {}
    for name, path in SCRIPTS.items():             # the batched script imports the first
        monkeypatch.setitem(sys.modules, name, watched(path.read_text(), name, seen))
    ffnn, batched = sys.modules["mnist_ffnn"], sys.modules["mnist_ffnn_batched"]
    model = tmp_path / "m.npz"
    assert ffnn.main(["--epochs", "1", "--data-dir", str(fake_mnist)]) == 0
    assert batched.main(["--epochs", "2", "--data-dir", str(fake_mnist), "--validation",
                         "50", "--save", str(model)]) == 0
    assert batched.main(["--epochs", "1", "--data-dir", str(fake_mnist), "--batch-size",
                         "all", "--load", str(model), "--save", str(model)]) == 0
    capsys.readouterr()                       # what they printed: not the point here
    for name, path in SCRIPTS.items():
        where = loops(path.read_text())
        assert [line for line in where if line < 0] == [], f"{name}: a while loop"
        assert {line for (module, line) in seen if module == name} == set(where), \
            f"{name}: a loop did not run in this test"
        over_values = {f"{name}.py:{line} in {where[line]}": kinds for (module, line), kinds
                       in seen.items() if module == name and kinds and where[line] != "train"}
        assert over_values == {}


def test_the_rule_finds_loops_over_values():
    source = ("import numpy as np\n"
              "def f(x, weights):\n"
              "    a = [1 / (1 + np.exp(-v)) for v in x[0]]\n"           # NumPy numbers
              "    b = [row.sum() for row in x]\n"                        # an array
              "    c = [x[i] for i in range(len(x))]\n"                   # a range
              "    d = [a0.sum() for a0, y in zip(x, x)]\n"               # rows
              "    return [w.shape for w in weights]\n")                  # matrices: fine
    seen = {}
    watched(source, "example", seen).f(np.ones((12, 12)), [np.ones((2, 2))] * 12)
    assert {line: kinds for (module, line), kinds in seen.items() if kinds} == {
        3: {"ndarray", "NumPy numbers"}, 4: {"ndarray", "rows of an array"}, 5: {"range"},
        6: {"rows of an array"}}


def test_the_batched_script_redefines_only_the_training():
    """TP, Task 16, as the project shapes it: the functions that batches change take one
    example or a batch in mnist_ffnn.py, so the batched script defines none of them
    again; its own are the training of Tasks 17-18 and its command line."""
    import mnist_ffnn
    import mnist_ffnn_batched
    both = {name for name, value in vars(mnist_ffnn_batched).items()
            if callable(value) and getattr(value, "__module__", None) == "mnist_ffnn_batched"
            and name in vars(mnist_ffnn)}
    assert both == {"train", "main"}
    assert mnist_ffnn_batched.backpropagation is mnist_ffnn.backpropagation
