"""Beyond the TP: save/load, --predict on image files, --validation, --plots, the loss,
Ctrl-C, divergence, determinism."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import mnist_ffnn
import mnist_ffnn_batched
from conftest import ROOT, assert_clean_failure, weight_shapes
from conftest import run_script as run
from mnist_ffnn import DataError
from mnist_ffnn_batched import load_weights, save_weights, weight_names


def test_save_load_round_trip(trained, mnist):
    weights, path = trained
    loaded, config = load_weights(path)
    assert config == {"note": "test"}
    for w, v in zip(weights, loaded):
        assert v.dtype == w.dtype
        np.testing.assert_array_equal(v, w)
    x_test = mnist[2]
    np.testing.assert_array_equal(mnist_ffnn_batched.predicted_digits(x_test, loaded),
                                  mnist_ffnn_batched.predicted_digits(x_test, weights))
    as64, _ = load_weights(path, np.float64)
    assert as64[0].dtype == np.float64


def test_cli_evaluates_loaded_weights(trained, mnist):
    weights, path = trained
    expected = mnist_ffnn_batched.compute_error(mnist[2], mnist[3], weights)
    result = run("mnist_ffnn_batched.py", "--load", path, "--epochs", 0)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines() == [
        f"Test error: {100 * expected:.2f}% ({round(expected * 10000)}/10000 misclassified)"]


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


NAMES = weight_names(weight_shapes())          # w1, w2, w3 in the TP
FIRST, SECOND, LAST = NAMES[0], NAMES[1], NAMES[-1]


@pytest.mark.parametrize("case, fragment", [
    ("truncated", "not an .npz archive"),
    ("foreign", f"no {', '.join(NAMES)} in it"),
    ("pickle", "not an .npz archive"),
    ("object array", f"{FIRST} is object (2,), expected a float array of shape "
                     f"{weight_shapes()[0]}"),
    ("shape", f"{SECOND} is float32 {weight_shapes()[1][::-1]}, expected a float array "
              f"of shape {weight_shapes()[1]}"),
    ("integers", f"{FIRST} is int64 {weight_shapes()[0]}"),
    ("nan", f"{LAST} holds non-finite values"),
    ("npy", "not an .npz archive"),
])
def test_bad_weight_files(trained, tmp_path, case, fragment):
    weights, good = trained
    path = tmp_path / "bad.npz"
    arrays = dict(zip(NAMES, weights))
    if case == "truncated":
        path.write_bytes(good.read_bytes()[:5000])
    elif case == "foreign":
        write_npz(path, a=np.zeros(3))
    elif case == "pickle":
        import pickle
        path.write_bytes(pickle.dumps(arrays))
    elif case == "object array":
        write_npz(path, **{**arrays, FIRST: np.array([None, 1], dtype=object)})
    elif case == "shape":
        write_npz(path, **{**arrays, SECOND: arrays[SECOND].T})
    elif case == "integers":
        write_npz(path, **{**arrays, FIRST: arrays[FIRST].astype(np.int64)})
    elif case == "nan":
        write_npz(path, **{**arrays, LAST: np.full_like(arrays[LAST], np.nan)})
    else:
        np.save(path, arrays[FIRST])
        path = path.with_suffix(".npz.npy") if not path.exists() else path
    with pytest.raises(DataError) as info:
        load_weights(path)
    assert fragment in str(info.value) and str(path) in str(info.value)
    assert_clean_failure(run("mnist_ffnn_batched.py", "--load", path, "--epochs", 0),
                         fragment)


def test_written_files_get_the_usual_permissions(tmp_path):
    mnist_ffnn_batched.write_json(tmp_path / "a.json", {"x": 1})
    (tmp_path / "b.json").write_text("{}")                    # as open() makes it
    assert (tmp_path / "a.json").stat().st_mode == (tmp_path / "b.json").stat().st_mode


def test_interrupted_save_leaves_the_previous_file_intact(trained, tmp_path, monkeypatch):
    weights, _ = trained
    path = tmp_path / "model.npz"
    save_weights(path, weights, {"version": 1})
    before = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        save_weights(path, [2 * w for w in weights], {"version": 2})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]      # no temporary left


def draw_png(path, image):
    """Save a grey image (H, W) in [0, 1] as an RGBA PNG, as a drawing program would."""
    import matplotlib.image
    matplotlib.image.imsave(path, image, cmap="gray", vmin=0, vmax=1)
    return path


def test_predict_reads_drawn_digits(trained, mnist, tmp_path):
    weights, model = trained
    x_test = mnist[2]
    indices = np.arange(12)
    expected = mnist_ffnn_batched.predicted_digits(x_test[indices], weights)
    paths = []
    for i in indices:
        digit = x_test[i].reshape(28, 28).astype(float)
        paths += [draw_png(tmp_path / f"{i}.png", digit),                       # as is
                  draw_png(tmp_path / f"{i}-inverted.png", 1 - digit),          # dark on light
                  draw_png(tmp_path / f"{i}-large.png", np.kron(digit, np.ones((6, 6))))]
    result = run("mnist_ffnn_batched.py", "--load", model, "--predict", *paths)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 * len(paths)
    predicted = [int(line.rsplit(": ", 1)[1]) for line in lines[::2]]
    assert predicted == list(np.repeat(expected, 3))
    probabilities = [float(p.split(": ")[1]) for p in lines[1].split("  ") if p.strip()]
    assert len(probabilities) == 10 and abs(sum(probabilities) - 1) < 0.01
    assert int(np.argmax(probabilities)) == predicted[0]


def test_mnist_like_recovers_mnist_digits(mnist):
    """An MNIST digit put through the same making (crop, fit 20x20, centre of mass)
    comes back nearly unchanged, since that is how MNIST was made."""
    x = mnist[2][:300].astype(float)
    remade = np.stack([mnist_ffnn_batched.mnist_like(d.reshape(28, 28)) for d in x])
    exact = np.all(np.abs(remade - x) < 1e-6, axis=1)
    assert exact.mean() > 0.7
    digit = x[0].reshape(28, 28)
    enlarged = mnist_ffnn_batched.mnist_like(np.kron(digit, np.ones((3, 3))))
    np.testing.assert_allclose(enlarged, remade[0], atol=1e-9)     # size does not matter
    canvas = np.zeros((60, 45))
    canvas[25:53, 3:31] = digit
    np.testing.assert_allclose(mnist_ffnn_batched.mnist_like(canvas), remade[0], atol=1e-9)


@pytest.mark.parametrize("content, fragment", [
    (b"not an image", "cannot be read as an image"),
    (None, "no digit found"),
])
def test_predict_bad_images(trained, tmp_path, content, fragment):
    path = tmp_path / "digit.png"
    if content is None:
        draw_png(path, np.full((28, 28), 0.5))
    else:
        path.write_bytes(content)
    assert_clean_failure(run("mnist_ffnn_batched.py", "--load", trained[1],
                             "--predict", path), str(path), fragment)
    assert_clean_failure(run("mnist_ffnn_batched.py", "--predict", path),
                         "--predict needs --load")


def test_epochs_zero_needs_load():
    assert_clean_failure(run("mnist_ffnn_batched.py", "--epochs", 0), "needs --load")


def test_validation_and_loss_in_json(fake_mnist, tmp_path):
    out = tmp_path / "v.json"
    result = run("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--epochs", 3,
                 "--validation", 50, "--lr", 0.01, "--json", out)
    assert result.returncode == 0, result.stderr
    assert "validation error" in result.stdout.splitlines()[0]
    epochs = json.loads(out.read_text())["epochs"]
    assert all(0 <= e["validation_error"] <= 1 and e["train_loss"] > 0 for e in epochs)
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]


def test_validation_split_is_disjoint_and_seeded():
    x = np.arange(100)[:, None] * np.ones((1, 3))
    y = np.arange(100)[:, None]
    (xt, yt), (xv, yv) = mnist_ffnn_batched.split_validation(x, y, 30, np.random.default_rng(5))
    assert len(yt) == 70 and len(yv) == 30
    assert sorted(np.concatenate([yt, yv]).ravel().tolist()) == list(range(100))
    (_, again), _ = mnist_ffnn_batched.split_validation(x, y, 30, np.random.default_rng(5))
    np.testing.assert_array_equal(again, yt)


def test_training_loss_is_the_mean_cross_entropy():
    rng = np.random.default_rng(0)
    z3 = rng.normal(0, 3, (5, 10))
    y = mnist_ffnn.preprocess_outputs(np.array([1, 2, 3, 4, 5]), np.float64)
    expected = -np.sum(y * np.log(np.exp(z3) / np.exp(z3).sum(axis=1, keepdims=True)))
    assert mnist_ffnn_batched.cross_entropy(z3, y) == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(mnist_ffnn_batched.cross_entropy(np.array([1e4, -1e4] + [0] * 8),
                                                np.eye(10)[1]))


def test_plots(fake_mnist, tmp_path):
    import matplotlib.image
    result = run("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--epochs", 2, "--lr",
                 0.01, "--plots", tmp_path / "figures")
    assert result.returncode == 0, result.stderr
    names = ["learning_curves.png", "confusion_matrix.png", "misclassified.png",
             "w1_tiles.png", "hidden_activations.png"]
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == sorted(names)
    for name in names:
        image = matplotlib.image.imread(tmp_path / "figures" / name)
        assert image.shape[0] > 200 and image.shape[1] > 400 and image.std() > 0.01


def test_w1_tiles_are_the_columns_of_w1(tmp_path, monkeypatch):
    """The mosaic drawn is w1's column k as a 28x28 tile at row k // 16, column k % 16."""
    from matplotlib.axes import Axes
    shown = []
    real_imshow = Axes.imshow
    monkeypatch.setattr(Axes, "imshow",
                        lambda self, image, **kw: shown.append(image) or real_imshow(
                            self, image, **kw))
    w1 = np.random.default_rng(0).standard_normal((784, 128))
    mnist_ffnn_batched.plot_w1_tiles(w1, tmp_path / "tiles.png")
    mosaic = shown[0]
    assert mosaic.shape == (8 * 30, 16 * 30)
    for k in (0, 17, 127):
        row, col = divmod(k, 16)
        tile = mosaic[30 * row + 1:30 * row + 29, 30 * col + 1:30 * col + 29]
        np.testing.assert_array_equal(tile, w1[:, k].reshape(28, 28))
    assert np.isnan(mosaic[0]).all() and np.isnan(mosaic[:, 29]).all()   # the borders


def test_hidden_activations_are_the_means_per_digit(tmp_path, monkeypatch, trained, mnist):
    from matplotlib.axes import Axes
    shown = []
    real_imshow = Axes.imshow
    monkeypatch.setattr(Axes, "imshow",
                        lambda self, image, **kw: shown.append(image) or real_imshow(
                            self, image, **kw))
    weights = trained[0]
    x, labels = mnist[2][:500], np.argmax(mnist[3][:500], axis=1)
    mnist_ffnn_batched.plot_hidden_activations(x, labels, weights, tmp_path / "a.png")
    image = shown[0]
    assert image.shape == (10, a1_size(weights))
    activations, zs = mnist_ffnn_batched.forward_pass(x, weights)
    a1 = activations[1]
    for digit in (0, 7):                  # each row holds that digit's mean a1, sorted
        np.testing.assert_allclose(np.sort(image[digit]),
                                   np.sort(a1[labels == digit].mean(axis=0)), rtol=1e-5)


def a1_size(weights):
    """The number of neurons of the first hidden layer."""
    return weights[0].shape[1]


def test_confusion_matrix():
    counts = mnist_ffnn_batched.confusion_matrix(np.array([1, 1, 2, 9]), np.array([1, 7, 2, 0]))
    assert counts.sum() == 4 and counts[1, 1] == 1 and counts[1, 7] == 1
    assert counts[2, 2] == 1 and counts[9, 0] == 1 and np.trace(counts) == 2


@pytest.mark.parametrize("lr", [10, 1e30])
def test_divergence_is_detected(fake_mnist, lr):
    result = run("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--lr", lr)
    assert_clean_failure(result, "diverged in epoch 1", "smaller learning rate")
    assert "Epoch" not in result.stdout


def test_max_loss_sets_the_limit_and_inf_lifts_it(fake_mnist):
    result = run("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--epochs", 2,
                 "--max-loss", "0.001")
    assert_clean_failure(result, "diverged in epoch 1", "above --max-loss 0.001")
    result = run("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--lr", 1)
    assert_clean_failure(result, "diverged in epoch 1", "above --max-loss 11.51")
    result = run("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--lr", 1, "--epochs",
                 2, "--max-loss", "inf")                  # the same large, finite loss
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Epoch") == 2


def test_non_finite_loss_stops_at_once():
    x = np.ones((4, 784), np.float32)
    y = mnist_ffnn.preprocess_outputs(np.arange(4))
    weights = [np.full_like(w, np.inf) for w in mnist_ffnn.init_weights(np.random.default_rng(0))]
    with np.errstate(all="ignore"), pytest.raises(mnist_ffnn_batched.Diverged,
                                                  match="weights are no longer all finite"):
        mnist_ffnn_batched.train(x, y, x, y, weights, epochs=30, batch_size=2,
                                 log=lambda s: pytest.fail("an epoch was reported"))


def test_same_seed_same_figures(fake_mnist, tmp_path):
    records = []
    for k in range(2):
        out = tmp_path / f"{k}.json"
        assert run("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--epochs", 3,
                   "--validation", 40, "--lr", 0.01, "--seed", 7, "--json", out,
                   "--batch-size", 16).returncode == 0
        epochs = json.loads(out.read_text())["epochs"]
        records.append([{k: v for k, v in e.items() if k != "seconds"} for e in epochs])
    assert records[0] == records[1]
    other = tmp_path / "other.json"
    run("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--epochs", 3, "--validation",
        40, "--lr", 0.01, "--seed", 8, "--json", other, "--batch-size", 16)
    assert json.loads(other.read_text())["epochs"][0]["train_loss"] != records[0][0]["train_loss"]


def test_ctrl_c_stops_after_the_batch_and_saves(fake_mnist, tmp_path):
    model = tmp_path / "model.npz"
    process = subprocess.Popen(
        [sys.executable, "-u", str(ROOT / "mnist_ffnn_batched.py"), "--data-dir", fake_mnist,
         "--epochs", "100000", "--batch-size", "1", "--save", model],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = process.stdout.readline()
    assert first.startswith("Epoch")
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in err and "Interrupted" in err
    assert "interrupted after" in out and out.strip().splitlines()[-1].startswith("Test error")
    assert len(load_weights(model)[0]) == len(weight_shapes())


def test_predict_reads_every_good_image_and_names_each_bad_one(trained, tmp_path):
    digit = np.zeros((28, 28))
    digit[5:23, 12:16] = 1                                        # a "1"
    good = draw_png(tmp_path / "one.png", digit)
    blank = draw_png(tmp_path / "blank.png", np.full((28, 28), 0.5))
    missing = tmp_path / "missing.png"
    result = run("mnist_ffnn_batched.py", "--load", trained[1], "--predict", good, blank,
                 missing, good)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split(": ")[0] for line in lines[::2]] == [str(good), str(good)]
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and errors[0].startswith(f"error: {blank}: no digit found")
    assert errors[1] == f"error: {missing}: No such file or directory."


def test_predict_and_draw_together_are_refused(trained):
    assert_clean_failure(run("mnist_ffnn_batched.py", "--load", trained[1], "--predict",
                             "x.png", "--draw"), "choose one", status=2)


def test_batch_size_all_in_any_case(fake_mnist):
    result = run("mnist_ffnn_batched.py", "--data-dir", fake_mnist, "--epochs", 1,
                 "--batch-size", "ALL", "--lr", "0.0001")
    assert result.returncode == 0, result.stderr
