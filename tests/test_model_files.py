"""A trained network in an .npz file: --save and --load keep the weights, the options of
every run and the history; a write never leaves half a file; a file that does not hold
the network this code builds (damaged, foreign, other layers, another activation) is
refused in one sentence."""

import stat

import numpy as np
import pytest

import mnist_ffnn
import mnist_ffnn_batched
from conftest import assert_clean_failure, run_script
from mnist_ffnn import DataError
from mnist_ffnn_batched import load_model, save_model


def test_save_then_load_gives_back_the_network(trained, tmp_path):
    weights, path = trained
    loaded, runs, history = load_model(path)
    assert runs == [{"note": "test"}] and [e["epoch"] for e in history] == [1, 2]
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


def test_training_goes_on_where_it_stopped(fake_mnist, tmp_path):
    """--load m.npz --save m.npz trains further: its epochs are numbered on from the
    saved ones, and the file keeps every run's options and every epoch's record."""
    model = tmp_path / "m.npz"
    outputs = []
    for epochs in (2, 1):
        load = ["--load", model] if model.exists() else []
        result = run_script("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--epochs",
                            epochs, "--lr", 0.01, *load, "--save", model)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[1].startswith("Epoch 3/3 ")
    weights, runs, history = load_model(model)
    assert [e["epoch"] for e in history] == [1, 2, 3]
    assert [run["epochs"] for run in runs] == [2, 1] and runs[1]["load"] == str(model)
    assert not any(run["stopped_early"] for run in runs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake", "m.npz"]   # no temporary


def test_validation_holds_out_the_same_examples_when_training_goes_on(fake_mnist, tmp_path,
                                                                      monkeypatch):
    """The held-out examples do not depend on whether the weights were drawn or loaded."""
    held = []
    real_train = mnist_ffnn_batched.train

    def spy(*args, validation=None, **kwargs):
        held.append(validation[0].copy())
        return real_train(*args, validation=validation, **kwargs)
    monkeypatch.setattr(mnist_ffnn_batched, "train", spy)
    model = tmp_path / "m.npz"
    common = ["--data-dir", str(fake_mnist), "--epochs", "1", "--validation", "50"]
    assert mnist_ffnn_batched.main(common + ["--save", str(model)]) == 0
    assert mnist_ffnn_batched.main(common + ["--load", str(model), "--seed", "7"]) == 0
    np.testing.assert_array_equal(held[0], held[1])


def test_a_symlink_is_followed(trained, tmp_path):
    real = tmp_path / "real.npz"
    save_model(real, trained[0], [], [])
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    save_model(link, [2 * w for w in trained[0]], [{"second": True}], [])
    assert link.is_symlink() and load_model(real)[1] == [{"second": True}]


def test_a_new_file_gets_the_usual_permissions(trained, tmp_path):
    save_model(tmp_path / "a.npz", trained[0], [], [])
    (tmp_path / "b.npz").write_bytes(b"")                     # as open() makes it
    assert (stat.S_IMODE((tmp_path / "a.npz").stat().st_mode)
            == stat.S_IMODE((tmp_path / "b.npz").stat().st_mode))


def test_an_interrupted_save_leaves_the_old_file_whole(trained, tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    save_model(path, trained[0], [{"version": 1}], [])
    before = path.read_bytes()

    def broken_savez(f, *arrays, **named):
        f.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt
    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        save_model(path, trained[0], [{"version": 2}], [])
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]


def test_an_output_below_a_file_is_refused_before_training(fake_mnist, tmp_path):
    (tmp_path / "place").write_text("")
    target = tmp_path / "place" / "new" / "m.npz"
    result = run_script("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--save", target)
    assert_clean_failure(result, "error: ", str(tmp_path / "place"))
    assert "Epoch" not in result.stdout


def test_missing_folders_are_created(fake_mnist, tmp_path):
    model = tmp_path / "runs" / "new" / "m.npz"
    result = run_script("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--epochs", 0,
                        "--save", model)
    assert result.returncode == 0, result.stderr
    assert len(load_model(model)[0]) == len(mnist_ffnn.init_weights())


def other_network(weights, how):
    """Arrays that another network, trained by other code, would have saved."""
    rng = np.random.default_rng(5)
    if how == "other layers":                              # as 784-256-10 would
        return [rng.standard_normal((weights[0].shape[0], 256)),
                rng.standard_normal((256, weights[-1].shape[1]))]
    if how == "biases":                                    # a vector after each matrix
        return [array for w in weights for array in (w, rng.standard_normal(w.shape[1]))]
    return weights


@pytest.mark.parametrize("case, fragment", [
    ("truncated", "not a network saved by --save"),
    ("foreign", "not a network saved by --save"),
    ("pickle", "not a network saved by --save"),
    ("npy", "not a network saved by --save"),
    ("text", "not a network saved by --save"),
    ("other layers", "its network has arrays of the shapes"),
    ("biases", "its network has arrays of the shapes"),
    ("another activation", "computes otherwise"),
])
def test_a_file_that_is_not_this_network_is_one_sentence(trained, tmp_path, case, fragment,
                                                         capsys, monkeypatch):
    weights, good = trained
    path = tmp_path / "bad.npz"
    if case == "truncated":
        path.write_bytes(good.read_bytes()[:5000])
    elif case == "foreign":
        np.savez(path, a=np.zeros(3))
    elif case == "pickle":
        path.write_bytes(__import__("pickle").dumps(weights))
    elif case == "npy":
        with open(path, "wb") as f:
            np.save(f, weights[0])
    elif case == "text":
        path.write_text("not a model")
    elif case == "another activation":                   # saved by code using tanh
        with monkeypatch.context() as patched:
            patched.setattr(mnist_ffnn, "sigmoid", np.tanh)
            save_model(path, weights, [], [])
    else:
        with monkeypatch.context() as patched:            # saved by code of other layers
            patched.setattr(mnist_ffnn_batched, "probe", lambda w: np.zeros(10))
            save_model(path, other_network(weights, case), [], [])
    with pytest.raises(DataError) as info:
        load_model(path)
    assert fragment in str(info.value) and str(path) in str(info.value)
    assert mnist_ffnn_batched.main(["--load", str(path), "--epochs", "0"]) == 1
    assert capsys.readouterr().err == f"error: {info.value}\n"


def test_a_missing_model_file_names_it(tmp_path):
    assert_clean_failure(run_script("mnist_ffnn_batched.py", "--load", tmp_path / "no.npz"),
                         f"error: {tmp_path / 'no.npz'}: No such file or directory.")


def test_training_that_diverges_stops_in_one_sentence():
    x = np.ones((4, 784), np.float32)
    y = mnist_ffnn.preprocess_outputs(np.arange(4))
    weights = [np.full_like(w, np.inf) for w in mnist_ffnn.init_weights()]
    with np.errstate(all="ignore"), pytest.raises(DataError, match="diverged in epoch 1"):
        mnist_ffnn_batched.train(x, y, x, y, weights, epochs=3, lr=0.1, batch_size=2)
