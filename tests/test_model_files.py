"""A trained network in an .npz file: --save and --load keep the weights, the options
and the history; a write never leaves half a file and never replaces a file that is
not a model; a damaged or foreign file given to --load is one sentence."""

import os
import pickle
import stat

import numpy as np
import pytest

import mnist_ffnn
import mnist_ffnn_batched
from conftest import assert_clean_failure, run_script
from mnist_ffnn import DataError
from mnist_ffnn_batched import OutputError, load_model, save_model


def test_save_then_load_gives_back_the_network(trained, tmp_path):
    weights, path = trained
    loaded, settings, history = load_model(path)
    assert settings == {"note": "test"} and [e["epoch"] for e in history] == [1, 2]
    for w, v in zip(weights, loaded):
        assert v.dtype == w.dtype and v.flags.writeable
        np.testing.assert_array_equal(v, w)
    assert load_model(path, np.float64)[0][0].dtype == np.float64


def test_the_command_line_evaluates_a_loaded_network(trained, mnist):
    expected = mnist_ffnn.compute_error(mnist[2], mnist[3], trained[0])
    result = run_script("mnist_ffnn_batched.py", "--load", trained[1], "--epochs", 0)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"Test error: {100 * expected:.2f}% "
                                          f"({round(expected * 10000)}/10000 misclassified)"]


def test_training_goes_on_in_place(fake_mnist, tmp_path):
    """--load m.npz --save m.npz trains further and keeps the whole history."""
    model = tmp_path / "m.npz"
    for epochs in (2, 1):
        load = ["--load", model] if model.exists() else []
        result = run_script("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--epochs",
                            epochs, "--lr", 0.01, *load, "--save", model)
        assert result.returncode == 0, result.stderr
    weights, settings, history = load_model(model)
    assert len(history) == 3 and settings["epochs"] == 1 and settings["load"] == str(model)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake", "m.npz"]   # no temporary


@pytest.mark.parametrize("name", ["README.md", "notes.npz", "folder.npz", "data.npz",
                                  "new-model.txt"])
def test_a_file_that_is_not_a_model_is_refused_before_training_and_kept(fake_mnist, tmp_path,
                                                                          name):
    target = tmp_path / name
    if name == "folder.npz":
        target.mkdir()
    elif name == "data.npz":                                  # someone's own arrays
        np.savez(target, x=np.arange(3))
    elif name != "new-model.txt":
        target.write_text("# not a model\n")
    before = target.read_bytes() if target.is_file() else None
    result = run_script("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--save", target)
    assert_clean_failure(result, f"cannot save to {target}: only a new .npz file")
    assert "Epoch" not in result.stdout
    assert (target.read_bytes() if target.is_file() else None) == before
    assert target.is_dir() == (name == "folder.npz")


def test_a_symlink_is_followed_and_permissions_are_kept(trained, tmp_path):
    real = tmp_path / "real.npz"
    save_model(real, trained[0], {}, [])
    real.chmod(0o640)
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    save_model(link, [2 * w for w in trained[0]], {"second": True}, [])
    assert link.is_symlink() and load_model(real)[1] == {"second": True}
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_a_new_file_gets_the_usual_permissions(trained, tmp_path):
    save_model(tmp_path / "a.npz", trained[0], {}, [])
    (tmp_path / "b.npz").write_bytes(b"")                     # as open() makes it
    assert (tmp_path / "a.npz").stat().st_mode == (tmp_path / "b.npz").stat().st_mode


def test_an_interrupted_save_leaves_the_old_file_whole(trained, tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    save_model(path, trained[0], {"version": 1}, [])
    before = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        save_model(path, trained[0], {"version": 2}, [])
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("where", ["below a file", "in a read-only folder"])
def test_an_output_that_cannot_be_written_is_refused_before_training(fake_mnist, tmp_path,
                                                                     where):
    folder = tmp_path / "place"
    if where == "below a file":
        folder.write_text("")
    else:
        folder.mkdir()
        folder.chmod(0o555)
        if os.access(folder, os.W_OK):                   # root writes anywhere
            pytest.skip("the tests run as root, whom a read-only folder does not stop")
    target = folder / "new" / "m.npz"
    result = run_script("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--save", target)
    assert_clean_failure(result, f"cannot save to {target}: {folder} is not a writable folder")
    assert "Epoch" not in result.stdout and not (folder / "new").exists()
    with pytest.raises(OutputError):
        save_model(target, [], {}, [])


def test_missing_folders_are_created(trained, tmp_path):
    save_model(tmp_path / "runs" / "new" / "m.npz", trained[0], {}, [])
    assert load_model(tmp_path / "runs" / "new" / "m.npz")[0][0].shape == (784, 128)


@pytest.mark.parametrize("case, fragment", [
    ("truncated", "not a network of these layers saved by --save"),
    ("foreign", "not a network of these layers saved by --save"),
    ("pickle", "not a network of these layers saved by --save"),
    ("npy", "not a network of these layers saved by --save"),
    ("text", "not a network of these layers saved by --save"),
    ("shape", "its weights have the shapes"),
    ("nan", "its weights are not all finite numbers"),
])
def test_a_bad_model_file_is_one_sentence(trained, tmp_path, case, fragment, capsys):
    weights, good = trained
    path = tmp_path / "bad.npz"
    names = mnist_ffnn_batched.weight_names(weights)
    arrays = {**dict(zip(names, weights)), "settings": "{}", "history": "[]"}
    if case == "truncated":
        path.write_bytes(good.read_bytes()[:5000])
    elif case == "foreign":
        np.savez(path, a=np.zeros(3))
    elif case == "pickle":
        path.write_bytes(pickle.dumps(arrays))
    elif case == "npy":
        with open(path, "wb") as f:
            np.save(f, weights[0])
    elif case == "text":
        path.write_text("not a model")
    else:
        changed = {"shape": (names[1], weights[1].T),
                   "nan": (names[-1], np.full_like(weights[-1], np.nan))}
        np.savez(path, **{**arrays, changed[case][0]: changed[case][1]})
    with pytest.raises(DataError) as info:
        load_model(path)
    assert fragment in str(info.value) and str(path) in str(info.value)
    assert mnist_ffnn_batched.main(["--load", str(path), "--epochs", "0"]) == 1
    assert capsys.readouterr().err == f"error: {info.value}\n"


def test_a_missing_model_file_names_it(tmp_path):
    assert_clean_failure(run_script("mnist_ffnn_batched.py", "--load", tmp_path / "no.npz"),
                         f"error: {tmp_path / 'no.npz'}: No such file or directory.")


def test_training_diverged_raises():
    x = np.ones((4, 784), np.float32)
    y = mnist_ffnn.preprocess_outputs(np.arange(4))
    weights = [np.full_like(w, np.inf) for w in mnist_ffnn.init_weights()]
    with np.errstate(all="ignore"), pytest.raises(mnist_ffnn_batched.Diverged):
        mnist_ffnn_batched.train(x, y, x, y, weights, epochs=3, lr=0.1, batch_size=2)
