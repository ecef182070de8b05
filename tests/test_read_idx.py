"""read_idx and load_mnist (Task 1): the shipped data, round trips of every type code,
raw or gzip, and a damaged or missing file told in one sentence that names it."""

import gzip
import hashlib
import struct

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
    """Question 1: the shapes and type of the four arrays."""
    x_train, y_train, x_test, y_test = load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert list(y_train[:5]) == [5, 0, 4, 1, 9]          # the well-known first labels
    assert np.bincount(y_test).tolist()[:3] == [980, 1135, 1032]


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("gz", [False, True])
def test_round_trip_every_type_code(tmp_path, dtype, gz):
    array = (np.random.default_rng(0).standard_normal((3, 4, 5)) * 100).astype(dtype)
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
    "zip": (b"PK\x03\x04" + GOOD[4:], "not an idx file"),
    "type code": (GOOD[:2] + b"\x07" + GOOD[3:], "not an idx file"),
    "header": (GOOD[:9], "not an idx file"),
    "truncated": (GOOD[:-1], "its header announces 24 bytes of values (shape (2, 3, 4)), "
                             "but it holds 23"),
    "too long": (GOOD + b"\x00", "but it holds 25"),
    "damaged gzip": (gzip.compress(GOOD)[:-12], "damaged gzip file"),
    "gzip garbage": (b"\x1f\x8b" + b"garbage" * 5, "damaged gzip file"),
    "absurd shape": (struct.pack(">BBBBIII", 0, 0, 8, 3, 4_000_000_000, 28, 28) + bytes(88),
                     "announces 3136000000000 bytes of values"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_damaged_file_is_one_sentence_naming_it(tmp_path, case):
    content, expected = BAD_FILES[case]
    path = tmp_path / "bad-file.idx"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        read_idx(path)
    message = str(info.value)
    assert expected in message and str(path) in message
    assert "\n" not in message and message.endswith(".")


def test_usual_and_tp_names_raw_or_gz(tmp_path):
    usual = load_mnist(write_fake_mnist(tmp_path / "a", gz=True))
    tp_raw = load_mnist(write_fake_mnist(tmp_path / "b", tp_names=True, gz=False))
    for a, b in zip(usual, tp_raw):
        np.testing.assert_array_equal(a, b)
    assert usual[0].shape == (300, 28, 28) and usual[3].shape == (100,)


def test_missing_folder_and_file(tmp_path):
    with pytest.raises(DataError, match="no train-images file .* in the folder .*nowhere"):
        load_mnist(tmp_path / "nowhere")
    directory = write_fake_mnist(tmp_path / "d")
    (directory / "t10k-labels-idx1-ubyte.gz").unlink()
    (directory / "t10k-labels-idx1-ubyte").mkdir()            # a folder is not the file
    with pytest.raises(DataError, match="no t10k-labels file .* in the folder"):
        load_mnist(directory)


@pytest.mark.parametrize("case", ["count", "labels", "size", "empty"])
def test_images_and_labels_that_do_not_fit(tmp_path, case):
    directory = write_fake_mnist(tmp_path / "d")
    images, labels = directory / "train-images-idx3-ubyte.gz", directory / "train-labels-idx1-ubyte.gz"
    if case == "count":
        write_idx(labels, np.zeros(299, "u1"), gz=True)
    elif case == "labels":
        write_idx(labels, np.full(300, 12, "u1") * (np.arange(300) % 2).astype("u1"), gz=True)
    elif case == "size":
        write_idx(images, np.zeros((300, 32, 32), "u1"), gz=True)
    else:
        write_idx(images, np.zeros((0, 28, 28), "u1"), gz=True)
        write_idx(labels, np.zeros(0, "u1"), gz=True)
    with pytest.raises(DataError, match="train-images.*train-labels.*not as many"):
        load_mnist(directory)
