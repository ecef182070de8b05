"""read_idx and load_mnist: round trips, the shipped data, and every bad input."""

import gzip
import hashlib

import numpy as np
import pytest

import mnist_ffnn
from conftest import idx_bytes, write_fake_mnist, write_idx
from mnist_ffnn import DataError, load_mnist, read_idx

SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


@pytest.mark.parametrize("name", sorted(SHA256))
def test_shipped_data_matches_the_published_checksums(name):
    raw = gzip.decompress((mnist_ffnn.DATA_DIR / (name + ".gz")).read_bytes())
    assert hashlib.sha256(raw).hexdigest() == SHA256[name]


def test_shipped_data_shapes():
    x_train, y_train, x_test, y_test = load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert list(y_train[:5]) == [5, 0, 4, 1, 9]          # the well-known first labels
    assert np.bincount(y_test).tolist()[:3] == [980, 1135, 1032]


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("gz", [False, True])
def test_round_trip_every_type_code(tmp_path, dtype, gz):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    result = read_idx(write_idx(tmp_path / "a.idx", array, gz))
    assert result.dtype == np.dtype(dtype).newbyteorder("=")
    assert result.dtype.isnative and result.flags.writeable
    np.testing.assert_array_equal(result, array)


def test_one_dimension_and_empty(tmp_path):
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "a", np.arange(7, dtype="i4"))),
                                  np.arange(7))
    assert read_idx(write_idx(tmp_path / "b", np.zeros((0, 28, 28), "u1"))).shape == (0, 28, 28)


GOOD = idx_bytes(np.arange(24, dtype="u1").reshape(2, 3, 4))

BAD_FILES = {
    "empty": (b"", "not an idx file"),
    "short": (b"\x00\x00", "not an idx file"),
    "magic": (b"PK\x03\x04" + GOOD[4:], "magic number"),
    "type code": (GOOD[:2] + b"\x07" + GOOD[3:], "unknown idx type code 0x07"),
    "header": (GOOD[:9], "truncated idx header"),
    "truncated": (GOOD[:-1], "truncated idx payload"),
    "oversized": (GOOD + b"\x00", "oversized idx payload"),
    "corrupt gzip": (gzip.compress(GOOD)[:-12], "corrupt gzip"),
    "gzip garbage": (b"\x1f\x8b" + b"garbage" * 5, "corrupt gzip"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_raise_one_clear_sentence(tmp_path, case):
    content, expected = BAD_FILES[case]
    path = tmp_path / "bad-file.idx"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        read_idx(path)
    message = str(info.value)
    assert expected in message and str(path) in message
    assert "\n" not in message and message.endswith(".")


def test_load_accepts_standard_and_tp_names_raw_or_gz(tmp_path):
    standard = load_mnist(write_fake_mnist(tmp_path / "a", gz=True))
    tp_raw = load_mnist(write_fake_mnist(tmp_path / "b", tp_names=True, gz=False))
    for a, b in zip(standard, tp_raw):
        np.testing.assert_array_equal(a, b)
    assert standard[0].shape == (300, 28, 28) and standard[3].shape == (100,)


def test_missing_directory_and_file(tmp_path):
    with pytest.raises(DataError, match="data directory .*nowhere does not exist"):
        load_mnist(tmp_path / "nowhere")
    directory = write_fake_mnist(tmp_path / "d")
    (directory / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as info:
        load_mnist(directory)
    for name in ("t10k-labels-idx1-ubyte", "t10k-labels-idx1-ubyte.gz",
                 "t10k-labels.idx3-ubyte", "t10k-labels.idx3-ubyte.gz"):
        assert name in str(info.value)


@pytest.mark.parametrize("case, expected", [
    ("count", "do not match the 300 images"),
    ("labels", "labels must be digits 0-9, found values from 0 to 12"),
    ("size", "images must have shape (N, 28, 28), found (300, 32, 32)"),
])
def test_inconsistent_sets(tmp_path, case, expected):
    directory = write_fake_mnist(tmp_path / "d")
    if case == "count":
        write_idx(directory / "train-labels-idx1-ubyte.gz", np.zeros(299, "u1"), gz=True)
    elif case == "labels":
        write_idx(directory / "train-labels-idx1-ubyte.gz", np.full(300, 12, "u1") *
                  (np.arange(300) % 2).astype("u1"), gz=True)
    else:
        write_idx(directory / "train-images-idx3-ubyte.gz", np.zeros((300, 32, 32), "u1"),
                  gz=True)
    with pytest.raises(DataError) as info:
        load_mnist(directory)
    assert expected in str(info.value)
