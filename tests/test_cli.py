"""Both scripts from the command line: output, --json, and bad input as one sentence
with a non-zero exit and no traceback."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT

SCRIPTS = ["mnist_ffnn.py", "mnist_ffnn_batched.py"]


def run(script, *args, cwd=None):
    return subprocess.run([sys.executable, str(ROOT / script), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def assert_clean_failure(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    for fragment in fragments:
        assert fragment in lines[-1], result.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_runs_and_writes_json(script, fake_mnist, tmp_path):
    out = tmp_path / "run.json"
    result = run(script, "--epochs", 2, "--lr", 0.01, "--data-dir", fake_mnist,
                 "--json", out, cwd=tmp_path)          # not run from the project folder
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("Epoch 1/2") and lines[1].startswith("Epoch 2/2")
    record = json.loads(out.read_text())
    wrong = record["result"]["misclassified"]
    assert lines[-1] == (f"Test error: {100 * wrong / 100:.2f}% ({wrong}/100 "
                         "misclassified)")
    assert [e["epoch"] for e in record["epochs"]] == [1, 2]
    assert record["epochs"][-1]["test_error"] == record["result"]["test_error"]
    assert record["config"]["lr"] == 0.01 and record["config"]["epochs"] == 2
    assert list(tmp_path.glob(".run.json*")) == []          # no temporary file left


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("args, message", [
    (["--epochs", "-1"], "--epochs: -1 is out of range"),
    (["--lr", "0"], "--lr: 0 is out of range"),
    (["--lr", "nan"], "--lr: nan is out of range"),
    (["--lr", "abc"], "--lr: 'abc' is not a float"),
    (["--train-size", "60001"], "--train-size: 60001 is out of range"),
    (["--dtype", "float16"], "--dtype: invalid choice"),
])
def test_invalid_values_are_refused(script, args, message):
    assert_clean_failure(run(script, *args), message)


@pytest.mark.parametrize("size", ["0", "-3", "x"])
def test_invalid_batch_size(size):
    assert_clean_failure(run("mnist_ffnn_batched.py", "--batch-size", size), "--batch-size")


@pytest.mark.parametrize("script", SCRIPTS)
def test_bad_data_is_one_sentence(script, fake_mnist, tmp_path):
    assert_clean_failure(run(script, "--data-dir", tmp_path / "none"),
                         "error: data directory", "does not exist")
    (fake_mnist / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8bnot gzip at all")
    assert_clean_failure(run(script, "--data-dir", fake_mnist),
                         "train-images-idx3-ubyte.gz: corrupt gzip file")


def test_train_size_larger_than_the_set(fake_mnist):
    assert_clean_failure(run("mnist_ffnn_batched.py", "--data-dir", fake_mnist,
                             "--train-size", 500), "--train-size 500 is larger than")


@pytest.mark.parametrize("option", ["--json", "--save", "--plots"])
def test_unwritable_output_fails_before_training(fake_mnist, tmp_path, option):
    (tmp_path / "a-file").write_text("not a directory")
    result = run("mnist_ffnn_batched.py", "--data-dir", fake_mnist,
                 option, tmp_path / "a-file" / "x")
    assert_clean_failure(result, "cannot write", "a-file")
    assert "Epoch" not in result.stdout


def test_missing_output_directories_are_created(fake_mnist, tmp_path):
    out = tmp_path / "runs" / "new"
    result = run("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--epochs", 1,
                 "--json", out / "r.json", "--save", out / "m.npz", "--plots", out / "f")
    assert result.returncode == 0, result.stderr
    assert (out / "r.json").is_file() and (out / "m.npz").is_file()
    assert (out / "f" / "confusion_matrix.png").is_file()


def test_importing_loads_nothing_and_trains_nothing():
    code = ("import builtins, io, sys\n"
            "opened = []\n"
            "real_open = io.open\n"
            "def spy(file, *args, **kwargs):\n"
            "    opened.append(str(file))\n"
            "    return real_open(file, *args, **kwargs)\n"
            "builtins.open = io.open = spy\n"
            "import mnist_ffnn, mnist_ffnn_batched\n"
            "print([f for f in opened if 'ubyte' in f], 'matplotlib' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.stderr == ""
    assert result.stdout == "[] False\n"          # no data file opened, nothing printed
