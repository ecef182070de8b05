"""What the batched script writes never destroys what it does not own: a symlink is
followed, a device or pipe is refused, a file keeps its permissions, outputs that
clash with each other or with an input are refused before training, and no signal
leaves a temporary file or skips an output asked for."""

import errno
import json
import os
import signal
import stat
import subprocess
import sys

import numpy as np
import pytest

import mnist_ffnn_batched
from conftest import ROOT, assert_clean_failure, run_script
from mnist_ffnn_batched import OutputError


def run(*args, **kwargs):
    return run_script("mnist_ffnn_batched.py", *args, **kwargs)


def train_args(data, *args):
    """A short training run on the fake set, with the options `args`."""
    return ("--data-dir", data, "--epochs", 1, "--lr", 0.01, *args)


def leftovers(directory):
    """Temporary or probe files left in `directory` (hidden files)."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


# ---- 1. a writer replaces only a regular file, and keeps what it has -----------------

def test_a_symlinked_output_is_followed(fake_mnist, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "v1.npz").write_bytes(b"old")
    link = tmp_path / "current.npz"
    link.symlink_to("models/v1.npz")
    result = run(*train_args(fake_mnist, "--save", link))
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == "models/v1.npz"   # the link stays
    assert len(mnist_ffnn_batched.load_weights(models / "v1.npz")[0]) >= 1  # target new
    assert leftovers(tmp_path) == [] and leftovers(models) == []


def test_a_dangling_symlink_creates_its_target(fake_mnist, tmp_path):
    link = tmp_path / "run.json"
    link.symlink_to(tmp_path / "results" / "run.json")
    assert run(*train_args(fake_mnist, "--json", link)).returncode == 0
    assert link.is_symlink() and json.loads(link.read_text())["epochs"]


@pytest.mark.parametrize("option", ["--save", "--json", "--plots"])
def test_a_fifo_is_refused_before_training_and_left_alone(fake_mnist, tmp_path, option):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    given = fifo if option != "--plots" else tmp_path
    if option == "--plots":
        os.rename(fifo, tmp_path / "confusion_matrix.png")
        fifo = tmp_path / "confusion_matrix.png"
    result = run(*train_args(fake_mnist, option, given), timeout=60)
    assert_clean_failure(result, f"cannot write {option} {given}",
                         "not a regular file (a device, a pipe...)", status=1)
    assert "Epoch" not in result.stdout and stat.S_ISFIFO(fifo.stat().st_mode)


@pytest.mark.parametrize("device", ["/dev/null", "/dev/full", "/dev/stdout"])
def test_a_device_is_refused_and_left_alone(fake_mnist, device):
    before = os.stat(device)
    result = run(*train_args(fake_mnist, "--save", device))
    assert_clean_failure(result, f"cannot write --save {device}: it names a special file "
                                 "of the system", status=1)
    after = os.stat(device)
    assert after.st_mode == before.st_mode and after.st_rdev == before.st_rdev


def test_an_existing_file_keeps_its_permissions(fake_mnist, tmp_path):
    model = tmp_path / "model.npz"
    model.write_bytes(b"old")
    model.chmod(0o600)
    assert run(*train_args(fake_mnist, "--save", model)).returncode == 0
    assert stat.S_IMODE(model.stat().st_mode) == 0o600
    assert model.read_bytes()[:2] == b"PK"                          # it was written


def test_a_new_file_gets_the_usual_permissions(tmp_path):
    mnist_ffnn_batched.write_json(tmp_path / "a.json", {"x": 1})
    (tmp_path / "b.json").write_text("{}")                    # as open() makes it
    assert (tmp_path / "a.json").stat().st_mode == (tmp_path / "b.json").stat().st_mode


@pytest.mark.skipif(os.geteuid() == 0, reason="root can open any file for writing")
def test_a_read_only_file_is_refused_before_training(fake_mnist, tmp_path):
    model = tmp_path / "model.npz"
    model.write_bytes(b"keep me")
    model.chmod(0o444)
    result = run(*train_args(fake_mnist, "--save", model))
    assert_clean_failure(result, f"cannot write --save {model}: Permission denied",
                         status=1)
    assert model.read_bytes() == b"keep me" and "Epoch" not in result.stdout


def test_a_file_root_cannot_open_is_refused_before_training(fake_mnist, tmp_path):
    """As root, an immutable file (chattr +i) is one that cannot be opened for writing."""
    model = tmp_path / "model.npz"
    model.write_bytes(b"keep me")
    if os.geteuid() != 0 or subprocess.run(["chattr", "+i", str(model)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root and chattr")
    try:
        result = run(*train_args(fake_mnist, "--save", model))
    finally:
        subprocess.run(["chattr", "-i", str(model)], check=True)
    assert_clean_failure(result, f"cannot write --save {model}: Operation not permitted",
                         status=1)
    assert model.read_bytes() == b"keep me" and "Epoch" not in result.stdout


def test_a_read_only_file_keeps_its_mode_when_root_replaces_it(fake_mnist, tmp_path):
    """Root may write a 0444 file (it can open it for writing): the mode stays."""
    if os.geteuid() != 0:
        pytest.skip("only root can open a 0444 file for writing")
    model = tmp_path / "model.npz"
    model.write_bytes(b"old")
    model.chmod(0o444)
    assert run(*train_args(fake_mnist, "--save", model)).returncode == 0
    assert stat.S_IMODE(model.stat().st_mode) == 0o444


def test_names_as_long_as_the_file_system_allows(fake_mnist, tmp_path):
    names = [tmp_path / ("m" * 251 + ".npz"), tmp_path / ("r" * 250 + ".json")]
    result = run(*train_args(fake_mnist, "--save", names[0], "--json", names[1]))
    assert result.returncode == 0, result.stderr
    assert all(name.is_file() for name in names) and leftovers(tmp_path) == []


def test_a_name_that_is_not_utf8(fake_mnist, tmp_path):
    """A file name in Latin-1 bytes, printed by a script whose output is strict UTF-8
    (as in a UTF-8 locale): written, and its name printed with an escape."""
    name = os.fsencode(tmp_path) + b"/mod\xe8le.npz"
    args = [arg if isinstance(arg, bytes) else str(arg)
            for arg in train_args(fake_mnist, "--save", name)]
    result = subprocess.run([sys.executable, str(ROOT / "mnist_ffnn_batched.py"), *args],
                            capture_output=True, timeout=120,
                            env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr and os.path.isfile(name)
    assert b"mod\\udce8le.npz" in result.stdout


def test_a_full_disk_names_the_file(tmp_path):
    def full(f):
        f.write(b"some")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    path = tmp_path / "model.npz"
    with pytest.raises(OutputError, match=f"cannot write {path}: No space left on device"):
        mnist_ffnn_batched.atomic_write(path, full)
    assert list(tmp_path.iterdir()) == []


# ---- 2. outputs that clash with each other or with an input ----------------------------

@pytest.mark.parametrize("case", ["save and json", "json and load", "json and plots",
                                  "save over data", "plots inside save",
                                  "save inside plots", "through a symlink"])
def test_clashing_files_are_refused_before_training(fake_mnist, tmp_path, trained, case):
    model = tmp_path / "m.npz"
    model.write_bytes(trained[1].read_bytes())
    labels = fake_mnist / "t10k-labels-idx1-ubyte.gz"
    args, fragment = {
        "save and json": (("--save", model, "--json", model), "would overwrite"),
        "json and load": (("--load", model, "--json", model), "would overwrite"),
        "json and plots": (("--json", tmp_path / "P" / "learning_curves.png", "--plots",
                            tmp_path / "P"), "would overwrite"),
        "save over data": (("--save", labels), "would overwrite the data file"),
        "plots inside save": (("--save", tmp_path / "out", "--plots", tmp_path / "out"),
                              "clash"),
        "save inside plots": (("--plots", tmp_path / "P", "--save",
                               tmp_path / "P" / "confusion_matrix.png"),
                              "would overwrite"),
        "through a symlink": (("--save", tmp_path / "link.npz", "--json", model),
                              "would overwrite"),
    }[case]
    if case == "through a symlink":
        (tmp_path / "link.npz").symlink_to(model)
    before = {p: p.read_bytes() for p in (model, labels)}
    result = run("--data-dir", fake_mnist, "--epochs", 1, *args)
    assert_clean_failure(result, fragment, status=1)
    assert "Epoch" not in result.stdout
    assert all(p.read_bytes() == data for p, data in before.items())
    assert not (tmp_path / "P").exists() and not (tmp_path / "out").exists()


def test_a_refused_run_creates_no_directory(tmp_path):
    result = run("--data-dir", tmp_path / "missing", "--json", tmp_path / "a" / "b.json",
                 "--plots", tmp_path / "figures")
    assert_clean_failure(result, "data directory", status=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ---- 5. signals: Ctrl-C and SIGTERM stop after the batch and still write everything --

def write_everything(tmp_path):
    return ("--save", tmp_path / "m.npz", "--json", tmp_path / "r.json", "--plots",
            tmp_path / "figures")


def all_written(tmp_path):
    names = {p.name for p in (tmp_path / "figures").iterdir()}
    return ((tmp_path / "m.npz").is_file() and (tmp_path / "r.json").is_file()
            and names == set(mnist_ffnn_batched.PLOTS))


def test_sigterm_stops_after_the_batch_and_writes_the_outputs(fake_mnist, tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-u", str(ROOT / "mnist_ffnn_batched.py"), "--data-dir",
         fake_mnist, "--epochs", "100000", "--batch-size", "1",
         *map(str, write_everything(tmp_path))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().startswith("Epoch")
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert "Traceback" not in err and "SIGTERM" in err
    assert out.strip().splitlines()[-1].startswith("Test error")
    assert all_written(tmp_path) and leftovers(tmp_path) == []
    assert leftovers(tmp_path / "figures") == []
    assert json.loads((tmp_path / "r.json").read_text())["interrupted"] is True


@pytest.mark.parametrize("moment", ["save_weights", "plot_confusion_matrix",
                                    "write_json"])
def test_a_signal_while_writing_still_writes_everything(fake_mnist, tmp_path, capsys,
                                                        monkeypatch, moment):
    """A first Ctrl-C that comes after the last batch, while the outputs are written,
    skips none of them; the exit status still says the run was interrupted."""
    real = getattr(mnist_ffnn_batched, moment)

    def interrupted(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)              # as a user's Ctrl-C
        return real(*args, **kwargs)
    monkeypatch.setattr(mnist_ffnn_batched, moment, interrupted)
    status = mnist_ffnn_batched.main(train_args(fake_mnist, *write_everything(tmp_path)))
    assert status == 130
    assert all_written(tmp_path) and leftovers(tmp_path / "figures") == []


def test_a_second_signal_while_writing_leaves_no_temporary_file(fake_mnist, tmp_path,
                                                                monkeypatch, capsys):
    """Two SIGTERMs in the middle of a figure: the run ends at once (status 143), and
    the half-written figure's temporary file is gone."""

    def figure_interrupted(figure, path):
        def write(f):
            f.write(b"half a PNG")
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)
            figure.savefig(f, format="png")
        mnist_ffnn_batched.atomic_write(path, write)
    monkeypatch.setattr(mnist_ffnn_batched, "save_figure", figure_interrupted)
    status = mnist_ffnn_batched.main(train_args(fake_mnist, "--plots",
                                                tmp_path / "figures"))
    assert status == 143
    assert "Interrupted." in capsys.readouterr().err
    assert leftovers(tmp_path / "figures") == [] and leftovers(tmp_path) == []


# ---- 6. smaller ----------------------------------------------------------------------

def test_max_loss_inf_is_written_as_strict_json(fake_mnist, tmp_path):
    out = tmp_path / "r.json"
    assert run(*train_args(fake_mnist, "--max-loss", "inf", "--json", out)).returncode == 0
    text = out.read_text()
    assert "Infinity" not in text
    assert json.loads(text)["config"]["max_loss"] == "inf"


def test_data_dir_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    assert_clean_failure(run("--data-dir", tmp_path / "file"),
                         f"data directory {tmp_path / 'file'} is not a directory",
                         status=1)


def test_load_refuses_what_is_not_a_regular_file():
    result = run("--load", "/dev/zero", "--epochs", 0, timeout=30)
    assert_clean_failure(result, "/dev/zero: not a regular file", status=1)


def test_epochs_zero_writes_no_learning_curves(fake_mnist, tmp_path, trained):
    result = run("--data-dir", fake_mnist, "--load", trained[1], "--epochs", 0,
                 "--plots", tmp_path / "figures")
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert written == sorted(set(mnist_ffnn_batched.PLOTS) - {"learning_curves.png"})
    assert "learning_curves" not in result.stdout
    assert np.all([name in result.stdout for name in written])
