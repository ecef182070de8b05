"""Both scripts from the command line, as a user runs them: what they print, Task 17 at
the TP's own settings, Ctrl-C and a closed output, and bad input told in one sentence
with a non-zero exit and no traceback."""

import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, assert_clean_failure, run_script

SCRIPTS = ["mnist_ffnn.py", "mnist_ffnn_batched.py"]


def test_the_per_example_script_walks_through_the_tp(fake_mnist, tmp_path):
    result = run_script("mnist_ffnn.py", "--epochs", 2, "--lr", 0.01, "--data-dir",
                        fake_mnist, cwd=tmp_path)       # not run from the project folder
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # The fake set has 300 training and 100 test images (conftest.write_fake_mnist).
    assert lines[0] == ("Question 1: x_train (300, 28, 28), x_test (100, 28, 28) (image, "
                        "row, column); y_train (300,), y_test (100,) (image); uint8")
    starts = ["Task 2: x_train[0, 12:17, 10:17]", "Task 2: no window opens here",
              "Tasks 3-4: x_train (300, 784) float32 in [0.0, 1.0]", "Task 9:", "Task 13:",
              "Task 15: training on 300 examples", "Epoch 1/2", "Epoch 2/2"]
    found = [next(k for k, line in enumerate(lines) if line.startswith(start))
             for start in starts]
    assert found == sorted(found) and found[-1] == len(lines) - 1


def test_the_batched_script_prints_an_epoch_a_line(fake_mnist):
    result = run_script("mnist_ffnn_batched.py", "--epochs", 2, "--lr", 0.01,
                        "--batch-size", 16, "--validation", 50, "--data-dir", fake_mnist)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split("  ")[0] for line in lines[:2]] == ["Epoch 1/2", "Epoch 2/2"]
    assert all(" loss " in line and " test error " in line and " validation error " in
               line and line.endswith(" s)") for line in lines[:2])
    last_error = lines[1].split("test error")[1].split("%")[0].strip()
    assert lines[2] == f"Test error: {last_error}% ({round(float(last_error))}/100 " \
                       "misclassified)"


def test_task_17_at_the_tp_settings_stays_near_chance(mnist):
    """TP, Task 17: the whole training set as one batch, lambda = 0.001. Its changes sum
    60,000 examples' (a step of 60 on their mean), and it does not learn: after each of
    three epochs the test error stays near the 90 % of a guess, without stopping."""
    import mnist_ffnn
    import mnist_ffnn_batched
    x_train, y_train, x_test, y_test = mnist
    weights = mnist_ffnn.init_weights(0)
    with np.errstate(over="ignore"):
        history = mnist_ffnn_batched.train(x_train, y_train, x_test, y_test, weights,
                                           epochs=3, lr=0.001, batch_size=len(x_train))
    assert all(record["test_error"] > 0.75 for record in history), history


@pytest.mark.parametrize("script", SCRIPTS)
def test_help(script):
    result = run_script(script, "--help")
    assert result.returncode == 0 and "--epochs" in result.stdout


def test_the_per_example_script_works_alone(fake_mnist, tmp_path):
    """mnist_ffnn.py copied into an empty folder, with a data/ folder beside it."""
    shutil.copy(ROOT / "mnist_ffnn.py", tmp_path)
    shutil.copytree(fake_mnist, tmp_path / "data")
    for args in (["--help"], ["--epochs", "1", "--train-size", "200"]):
        result = subprocess.run([sys.executable, "mnist_ffnn.py", *args], cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr


def refused(module, args, capsys):
    """The last line argparse writes when module.main(args) refuses an option (exit 2)."""
    with pytest.raises(SystemExit) as info:
        module.main(args)
    assert info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize("script", ["mnist_ffnn", "mnist_ffnn_batched"])
@pytest.mark.parametrize("args, message", [
    (["--epochs", "-1"], "--epochs: '-1' is not >= 0"),
    (["--epochs", "1e3"], "--epochs: invalid int value: '1e3'"),
    (["--lr", "0"], "--lr: '0' is not > 0"),
    (["--lr", "nan"], "--lr: 'nan' is not > 0"),
    (["--lr", "inf"], "--lr: 'inf' is not > 0"),
    (["--lr", "abc"], "--lr: invalid float value: 'abc'"),
    (["--seed", "-1"], "--seed: '-1' is not >= 0"),
    (["--train-size", "0"], "--train-size: '0' is not >= 1"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
])
def test_a_bad_option_is_refused(script, args, message, capsys):
    assert message in refused(__import__(script), args, capsys)


@pytest.mark.parametrize("args, message", [
    (["--batch-size", "0"], "--batch-size: '0' is not >= 1"),
    (["--batch-size", "1.5"], "--batch-size: invalid batch_size value: '1.5'"),
    (["--dtype", "float16"], "--dtype: invalid choice: 'float16'"),
    (["--save", "README.md"], "--save: 'README.md' does not end in .npz"),
    (["--validation", "0"], "--validation: '0' is not >= 1"),
])
def test_a_bad_batched_option_is_refused(args, message, capsys):
    import mnist_ffnn_batched
    assert message in refused(mnist_ffnn_batched, args, capsys)


@pytest.mark.parametrize("script", SCRIPTS)
def test_bad_data_is_one_sentence(script, fake_mnist, tmp_path):
    assert_clean_failure(run_script(script, "--data-dir", tmp_path / "none"),
                         "error: no train-images file", str(tmp_path / "none"))
    (fake_mnist / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8bnot gzip at all")
    assert_clean_failure(run_script(script, "--data-dir", fake_mnist),
                         "train-images-idx3-ubyte.gz: damaged gzip file")


def test_validation_larger_than_the_set(fake_mnist):
    assert_clean_failure(run_script("mnist_ffnn_batched.py", "--data-dir", fake_mnist,
                                    "--validation", 300),
                         "--validation 300 leaves no training example")


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_learning_rate_far_too_large_is_one_sentence(script, fake_mnist):
    result = run_script(script, "--data-dir", fake_mnist, "--lr", 1e300)
    assert_clean_failure(result, "diverged in epoch 1", "lower the learning rate")
    assert "Epoch" not in result.stdout and "Warning" not in result.stderr


def start(script, *args):
    """Start `python -u script args...` and wait for its first epoch line."""
    process = subprocess.Popen([sys.executable, "-u", str(ROOT / script), *map(str, args)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:                 # until its first epoch line, or its end
        if line.startswith("Epoch"):
            return process
    raise AssertionError(f"{script} ended before its first epoch: {process.stderr.read()}")


def test_ctrl_c_in_the_per_example_script(fake_mnist):
    process = start("mnist_ffnn.py", "--data-dir", fake_mnist, "--epochs", 100000)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err


def test_ctrl_c_in_the_batched_script_still_saves(fake_mnist, tmp_path):
    import mnist_ffnn_batched
    model = tmp_path / "model.npz"
    process = start("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--epochs", 100000,
                    "--batch-size", 1, "--save", model)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err
    assert f"Saved to {model}" in err
    weights, runs, history = mnist_ffnn_batched.load_model(model)
    assert runs[-1]["epochs"] == 100000 and runs[-1]["stopped_early"] and len(history) >= 1


def test_a_closed_output_does_not_lose_the_model(fake_mnist, tmp_path):
    """`python mnist_ffnn_batched.py --save m.npz | head -1`: training stops when its
    output has no reader, and the network is still saved."""
    import mnist_ffnn_batched
    model = tmp_path / "m.npz"
    result = subprocess.run(f"'{sys.executable}' '{ROOT / 'mnist_ffnn_batched.py'}' "
                            f"--data-dir '{fake_mnist}' --epochs 100000 --save '{model}' "
                            "| head -1", shell=True, capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.split()[:2] == ["Epoch", "1/100000"]
    assert len(result.stdout.splitlines()) == 1
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    assert len(mnist_ffnn_batched.load_model(model)[2]) >= 1


@pytest.mark.parametrize("script", SCRIPTS)
def test_an_output_closed_after_its_first_line_is_no_error(script, fake_mnist):
    """`python script | head -1`, the reader leaving while lines are still buffered."""
    result = subprocess.run(f"'{sys.executable}' '{ROOT / script}' --epochs 1 --data-dir "
                            f"'{fake_mnist}' | head -1", shell=True, capture_output=True,
                            text=True, timeout=120)
    assert len(result.stdout.splitlines()) == 1
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr


SCRIPTS_AND_EXAMPLES = SCRIPTS + ["examples/predict.py", "examples/draw.py",
                                  "examples/plots.py", "examples/check_gradients.py"]


@pytest.mark.parametrize("script", SCRIPTS_AND_EXAMPLES)
def test_a_windows_console_can_show_the_help(script):
    """Windows' console writes cp1252, which has no Greek letters nor arrows."""
    result = run_script(script, "--help", env={"PYTHONIOENCODING": "cp1252"})
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_windows_console_can_show_a_training_run(script, fake_mnist):
    result = run_script(script, "--epochs", 1, "--data-dir", fake_mnist,
                        env={"PYTHONIOENCODING": "cp1252"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.isascii() and "Traceback" not in result.stderr


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
    assert result.stderr == "" and result.stdout == "[] False\n"


def test_the_batched_script_takes_one_blas_thread_when_run():
    """Run as a script, it asks for one BLAS thread before NumPy starts (small batches
    are faster so), unless the environment says otherwise."""
    code = ("import runpy, sys, os\n"
            f"sys.argv = ['mnist_ffnn_batched.py', '--help']\n"
            "try:\n"
            f"    runpy.run_path({str(ROOT / 'mnist_ffnn_batched.py')!r}, run_name='__main__')\n"
            "except SystemExit:\n"
            "    print(os.environ.get('OMP_NUM_THREADS'))\n")
    unset = {key: value for key, value in os.environ.items() if key != "OMP_NUM_THREADS"}
    for env, expected in (({}, "1"), ({"OMP_NUM_THREADS": "2"}, "2")):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                text=True, timeout=60, env={**unset, **env})
        assert result.stdout.splitlines()[-1] == expected, result.stderr
