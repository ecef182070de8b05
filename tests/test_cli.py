"""Both scripts from the command line: what they print, --json, and bad input as one
sentence with a non-zero exit and no traceback."""

import json
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, assert_clean_failure, run_script, write_idx

SCRIPTS = ["mnist_ffnn.py", "mnist_ffnn_batched.py"]


def test_per_example_script_walks_the_tp(fake_mnist, tmp_path):
    result = run_script("mnist_ffnn.py", "--epochs", 2, "--lr", 0.01, "--data-dir",
                        fake_mnist, cwd=tmp_path)      # not run from the project folder
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    # The fake set has 300 training and 100 test images (conftest.write_fake_mnist).
    assert lines[0] == ("Question 1: x_train (300, 28, 28) and x_test (100, 28, 28) (image, "
                        "row, column), y_train (300,) and y_test (100,) (image), uint8")
    assert lines[1].startswith("Task 2: x_train[0] without its blank rows, labelled ")
    assert any(line.startswith("Tasks 3-4: x_train (300, 784) float32 from 0.0 to 1.0, ")
               for line in lines)
    assert any(line.startswith("Task 9: forward_pass(x_train[0]) = [") for line in lines)
    assert any(line.startswith("Task 13: test error of the untrained network: ")
               for line in lines)
    epochs = [line for line in lines if line.startswith("Epoch ")]
    assert [line[:9] for line in epochs] == ["Epoch 1/2", "Epoch 2/2"]
    last_error = float(epochs[-1].split("test error")[1].split("%")[0])
    wrong = round(last_error)                                # 100 test images
    assert lines[-1] == f"Test error: {last_error:.2f}% ({wrong}/100 misclassified)"


def test_batched_script_writes_json(fake_mnist, tmp_path):
    out = tmp_path / "run.json"
    result = run_script("mnist_ffnn_batched.py", "--epochs", 2, "--lr", 0.01,
                        "--data-dir", fake_mnist, "--json", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("Epoch 1/2") and lines[1].startswith("Epoch 2/2")
    record = json.loads(out.read_text())
    wrong = record["result"]["misclassified"]
    assert lines[-1] == f"Test error: {wrong:.2f}% ({wrong}/100 misclassified)"
    assert [e["epoch"] for e in record["epochs"]] == [1, 2]
    assert record["epochs"][-1]["test_error"] == record["result"]["test_error"]
    assert record["config"]["lr"] == 0.01 and record["config"]["epochs"] == 2
    assert lines[-2] == f"Results written to {out}"
    assert list(tmp_path.glob(".run.json*")) == []          # no temporary file left


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("args, message", [
    (["--epochs", "-1"], "--epochs: '-1' is not an integer >= 0"),
    (["--epochs", "1e3"], "--epochs: '1e3' is not an integer >= 0"),
    (["--lr", "0"], "--lr: '0' is not a number > 0"),
    (["--lr", "nan"], "--lr: 'nan' is not a number > 0"),
    (["--lr", "inf"], "--lr: 'inf' is not a number > 0"),
    (["--lr", "abc"], "--lr: 'abc' is not a number > 0"),
    (["--seed", "-1"], "--seed: '-1' is not an integer >= 0"),
    (["--train-size", "0"], "--train-size: '0' is not an integer >= 1"),
    (["--dtype", "float16"], "--dtype: invalid choice"),
])
def test_invalid_values_are_refused(script, args, message):
    assert_clean_failure(run_script(script, *args), message, status=2)


@pytest.mark.parametrize("size", ["0", "-3", "x", "1.5"])
def test_invalid_batch_size(size):
    assert_clean_failure(run_script("mnist_ffnn_batched.py", "--batch-size", size),
                         f"--batch-size: '{size}' is not an integer >= 1", status=2)


@pytest.mark.parametrize("script", SCRIPTS)
def test_bad_data_is_one_sentence(script, fake_mnist, tmp_path):
    assert_clean_failure(run_script(script, "--data-dir", tmp_path / "none"),
                         "error: data directory", "does not exist", status=1)
    (fake_mnist / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8bnot gzip at all")
    assert_clean_failure(run_script(script, "--data-dir", fake_mnist),
                         "train-images-idx3-ubyte.gz: corrupt gzip file", status=1)


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("which", ["train", "t10k"])
def test_empty_set_is_one_sentence(script, which, fake_mnist):
    import numpy as np
    write_idx(fake_mnist / f"{which}-images-idx3-ubyte.gz", np.zeros((0, 28, 28), "u1"),
              gz=True)
    write_idx(fake_mnist / f"{which}-labels-idx1-ubyte.gz", np.zeros(0, "u1"), gz=True)
    assert_clean_failure(run_script(script, "--data-dir", fake_mnist),
                         f"{which}-images-idx3-ubyte.gz: expected images",
                         "with N > 0; found uint8 (0, 28, 28)", status=1)


@pytest.mark.parametrize("script", SCRIPTS)
def test_train_size_larger_than_the_set(script, fake_mnist):
    assert_clean_failure(run_script(script, "--data-dir", fake_mnist, "--train-size", 500),
                         "--train-size 500 is larger than the 300 training examples",
                         status=1)


def test_validation_larger_than_the_set(fake_mnist):
    assert_clean_failure(run_script("mnist_ffnn_batched.py", "--data-dir", fake_mnist,
                                    "--validation", 300),
                         "--validation 300 leaves no training example", status=1)


@pytest.mark.parametrize("option", ["--json", "--save", "--plots"])
def test_unwritable_output_fails_before_training(fake_mnist, tmp_path, option):
    (tmp_path / "a-file").write_text("not a directory")
    given = tmp_path / "a-file" / "x"
    result = run_script("mnist_ffnn_batched.py", "--data-dir", fake_mnist, option, given)
    assert_clean_failure(result, f"cannot write {option} {given}", status=1)
    assert "Epoch" not in result.stdout


@pytest.mark.parametrize("option", ["--json", "--save"])
def test_output_in_a_directory_where_no_file_can_be_created(fake_mnist, option):
    """/proc exists, but no file can be created in it: refused before training, with
    the path the user gave, not a temporary name."""
    result = run_script("mnist_ffnn_batched.py", "--data-dir", fake_mnist, option,
                        "/proc/x.json")
    assert_clean_failure(result, f"cannot write {option} /proc/x.json", status=1)
    assert ".tmp" not in result.stderr and "Epoch" not in result.stdout


def test_output_that_is_a_directory_is_refused(fake_mnist, tmp_path):
    result = run_script("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--json",
                        tmp_path)
    assert_clean_failure(result, f"cannot write --json {tmp_path}", "directory", status=1)


def test_missing_output_directories_are_created(fake_mnist, tmp_path):
    out = tmp_path / "runs" / "new"
    result = run_script("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--epochs", 1,
                        "--json", out / "r.json", "--save", out / "m.npz", "--plots",
                        out / "f")
    assert result.returncode == 0, result.stderr
    assert (out / "r.json").is_file() and (out / "m.npz").is_file()
    assert (out / "f" / "confusion_matrix.png").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["f", "m.npz", "r.json"]   # no probe


def test_ctrl_c_in_the_per_example_script(fake_mnist):
    process = subprocess.Popen(
        [sys.executable, "-u", str(ROOT / "mnist_ffnn.py"), "--data-dir", fake_mnist,
         "--epochs", "100000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not process.stdout.readline().startswith("Epoch"):
        pass
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.strip() == "Interrupted."


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


def test_output_piped_into_head_stops_quietly(fake_mnist):
    for script in SCRIPTS:
        start = time.perf_counter()
        result = subprocess.run(f"'{sys.executable}' '{ROOT / script}' --data-dir "
                                f"'{fake_mnist}' --epochs 1000 | head -1", shell=True,
                                capture_output=True, text=True, timeout=120)
        assert result.stderr == "", script
        assert len(result.stdout.splitlines()) == 1
        assert time.perf_counter() - start < 100          # it did stop, not train on


@pytest.mark.parametrize("script", SCRIPTS)
def test_abbreviated_options_are_refused(script):
    """`--epoch 1` is not taken for --epochs: a mistyped option is an error."""
    assert_clean_failure(run_script(script, "--epoch", "1"),
                         "unrecognized arguments: --epoch 1", status=2)


@pytest.mark.parametrize("args, message", [
    (["--predict", "x.png", "--save", "m.npz"], "--predict only reads digits with the "
     "weights of --load: --save would be ignored"),
    (["--predict", "x.png", "--epochs", "3", "--json", "r.json", "--plots", "p"],
     "--epochs, --json, --plots would be ignored"),
    (["--draw", "--lr", "0.1"], "--draw only reads digits with the weights of --load: "
     "--lr would be ignored"),
    (["--epochs", "0", "--lr", "0.1", "--batch-size", "5"], "--epochs 0 trains nothing: "
     "--batch-size, --lr would be ignored"),
    (["--epochs=0", "--seed=3"], "--epochs 0 trains nothing: --seed would be ignored"),
])
def test_options_that_would_be_ignored_are_refused(trained, args, message):
    assert_clean_failure(run_script("mnist_ffnn_batched.py", "--load", trained[1], *args),
                         message, status=2)
