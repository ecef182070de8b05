"""Shared helpers: an idx writer written from the format, small fake MNIST sets, a
briefly trained network and its file, and running a script as a user does."""

import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")    # before NumPy starts, as the scripts do
# No window, whatever the display: matplotlib draws into images (Agg), in these tests and
# in the scripts they run, which inherit the environment. A window would wait for a user.
os.environ["MPLBACKEND"] = "Agg"

import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]

# idx type code of each dtype, from the format's description (not from read_idx).
TYPE_CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype("i2"): 0x0B,
              np.dtype("i4"): 0x0C, np.dtype("f4"): 0x0D, np.dtype("f8"): 0x0E}


def idx_bytes(array):
    """The bytes of an idx file holding `array` (big-endian, as the format says)."""
    array = np.asarray(array)
    header = struct.pack(">BBBB", 0, 0, TYPE_CODES[array.dtype], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, gz=False):
    """Write `array` as an idx file at `path` (gzip-compressed if gz). Returns path."""
    data = idx_bytes(array)
    Path(path).write_bytes(gzip.compress(data) if gz else data)
    return Path(path)


def write_fake_mnist(directory, n_train=300, n_test=100, seed=0, tp_names=False, gz=True):
    """Write a small MNIST-format set whose digits are easy to tell apart (each class
    lights its own band of rows), and return its directory."""
    rng = np.random.default_rng(seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    names = (["train-images.idx3-ubyte", "train-labels.idx3-ubyte",
              "t10k-images.idx3-ubyte", "t10k-labels.idx3-ubyte"] if tp_names else
             ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"])
    ext = ".gz" if gz else ""
    for (images_name, labels_name), n in zip((names[:2], names[2:]), (n_train, n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        rows = np.arange(28)[None, :] // 3 == labels[:, None].astype(int)   # (n, 28)
        images[rows] = 255
        write_idx(directory / (images_name + ext), images, gz)
        write_idx(directory / (labels_name + ext), labels, gz)
    return directory


@pytest.fixture
def fake_mnist(tmp_path):
    """Directory of a small fake MNIST set (standard names, gzip)."""
    return write_fake_mnist(tmp_path / "fake")


@pytest.fixture(scope="session")
def mnist():
    """The shipped MNIST, preprocessed in float32: (x_train, y_train, x_test, y_test)."""
    import mnist_ffnn
    x_train, y_train, x_test, y_test = mnist_ffnn.load_mnist()
    return (mnist_ffnn.preprocess_inputs(x_train), mnist_ffnn.preprocess_outputs(y_train),
            mnist_ffnn.preprocess_inputs(x_test), mnist_ffnn.preprocess_outputs(y_test))


@pytest.fixture(scope="session")
def trained(mnist, tmp_path_factory):
    """A network trained briefly on the shipped MNIST (under 10 % test error, checked),
    and the .npz file save_model put it in."""
    import mnist_ffnn
    import mnist_ffnn_batched
    x_train, y_train, x_test, y_test = mnist
    rng = np.random.default_rng(0)
    weights = mnist_ffnn.init_weights(rng)
    history = mnist_ffnn_batched.train(x_train[:30000], y_train[:30000], x_test, y_test,
                                       weights, epochs=2, lr=0.02, batch_size=20, rng=rng)
    assert history[-1]["test_error"] < 0.1, "the trained fixture did not learn"
    path = tmp_path_factory.mktemp("model") / "model.npz"
    mnist_ffnn_batched.save_model(path, weights, [{"note": "test"}], history)
    return weights, path


def run_script(script, *args, cwd=None, env=None, timeout=180):
    """Run `python script args...` as a user does, with `env` added to the environment
    (which holds MPLBACKEND=Agg: no window); returns the CompletedProcess."""
    return subprocess.run([sys.executable, str(ROOT / script), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, **(env or {})})


def assert_clean_failure(result, *fragments, status=1):
    """A failure told in one sentence: exit status `status`, no traceback, and the last
    line of stderr holds every fragment."""
    assert result.returncode == status, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    last = result.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in last, result.stderr
