"""read_idx and load_mnist: round trips, the shipped data, and every bad input."""

import gzip
import hashlib
import struct
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import mnist_ffnn
from conftest import ROOT, idx_bytes, write_fake_mnist, write_idx
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

def header(code, *shape):
    """An idx header announcing `shape` with type `code`, written from the format."""
    return struct.pack(f">BBBB{len(shape)}I", 0, 0, code, len(shape), *shape)


BAD_FILES = {
    "empty": (b"", "not an idx file"),
    "short": (b"\x00\x00", "not an idx file"),
    "magic": (b"PK\x03\x04" + GOOD[4:], "not an idx file"),
    "type code": (GOOD[:2] + b"\x07" + GOOD[3:], "not an idx file"),
    "header": (GOOD[:9], "bad idx header (3 dimensions announced"),
    "truncated": (GOOD[:-1], "truncated idx file (its header announces shape (2, 3, 4), "
                             "i.e. 24 bytes of values; it holds 23)"),
    "oversized": (GOOD + b"\x00", "oversized idx file (its header announces shape "
                                  "(2, 3, 4), i.e. 24 bytes of values; it holds 25)"),
    "corrupt gzip": (gzip.compress(GOOD)[:-12], "corrupt gzip"),
    "gzip garbage": (b"\x1f\x8b" + b"garbage" * 5, "corrupt gzip"),
    # A damaged header must not make read_idx ask for the memory it announces.
    "absurd shape": (header(0x08, 4_000_000_000, 28, 28) + bytes(88),
                     "truncated idx file (its header announces shape (4000000000, 28, 28), "
                     "i.e. 3136000000000 bytes of values; it holds 88)"),
    "absurd shape, gzip": (gzip.compress(header(0x0E, 2**32 - 1, 2**32 - 1) + bytes(100)),
                           "truncated idx file"),
    "too many dimensions": (header(0x08, *[1] * 70), "bad idx header (70 dimensions "
                                                     "announced, at most 32 accepted"),
    "size that overflows": (header(0x08, 0, 2**32 - 1, 2**32 - 1, 2**32 - 1),
                            "too large for NumPy"),
    "gzip bomb after the data": (gzip.compress(GOOD + bytes(50_000_000)),
                                 "oversized idx file (its header announces shape "
                                 "(2, 3, 4), i.e. 24 bytes of values; it holds more than "
                                 "24)"),
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
    ("count", "expected 300 labels 0-9 (uint8), found uint8 (299,) up to 0"),
    ("labels", "expected 300 labels 0-9 (uint8), found uint8 (300,) up to 12"),
    ("size", "expected images, uint8 of shape (N, 28, 28) with N > 0; found uint8 "
             "(300, 32, 32)"),
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


def damaged_files(rng, count):
    """`count` damaged idx files (bytes), from valid ones of every type code: bytes
    flipped in the header or anywhere, header fields set to random or huge values,
    truncated or extended; a third are then gzip-compressed, and some of those have
    their compressed bytes damaged too."""
    valid = [idx_bytes(np.arange(n, dtype=dtype).reshape(shape)) for n, dtype, shape in
             [(24, "u1", (2, 3, 4)), (6, "i1", (6,)), (12, "i2", (3, 4)), (8, "i4", (2, 2, 2)),
              (1, "f4", ()), (10, "f8", (1, 10)), (0, "u1", (0, 28, 28))]]
    for _ in range(count):
        data = bytearray(valid[rng.integers(len(valid))])
        kind = rng.integers(6)
        if kind == 0:                                    # bytes flipped in the header
            for k in rng.integers(0, min(len(data), 16), rng.integers(1, 4)):
                data[k] = rng.integers(256)
        elif kind == 1:                                  # bytes flipped anywhere
            for k in rng.integers(0, len(data), rng.integers(1, 6)):
                data[k] = rng.integers(256)
        elif kind == 2 and len(data) >= 8:               # a size set to a random value
            data[4:8] = int(rng.integers(2**32, dtype=np.uint64)).to_bytes(4, "big")
        elif kind == 3:                                  # the number of dimensions
            data[3] = rng.integers(256)
        elif kind == 4:                                  # truncated or extended
            data = data[:rng.integers(len(data) + 1)] + rng.bytes(rng.integers(0, 3) * 7)
        else:                                            # any bytes at all
            data = bytearray(rng.bytes(rng.integers(0, 40)))
        data = bytes(data)
        if rng.random() < 1 / 3:
            data = gzip.compress(data, mtime=0)
            if rng.random() < 0.5:                       # and the gzip stream damaged
                damaged = bytearray(data)
                damaged[rng.integers(len(damaged))] = rng.integers(256)
                data = bytes(damaged[:rng.integers(2, len(damaged) + 1)])
        yield data


def test_no_damaged_file_gives_anything_but_an_array_or_a_data_error(tmp_path):
    """Thousands of randomly damaged files (fixed seed): each gives an ndarray or a
    DataError naming it, never another exception; and whatever its header announces,
    read_idx takes less than 256 KiB of memory (a 64 KiB read and gzip's buffers: these
    files hold less than 1 KB, even decompressed)."""
    rng = np.random.default_rng(2026)
    path = tmp_path / "damaged.idx"
    outcomes = {"array": 0, "DataError": 0}
    tracemalloc.start()
    try:
        for data in damaged_files(rng, 4000):
            path.write_bytes(data)
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            try:
                assert isinstance(read_idx(path), np.ndarray)
                outcomes["array"] += 1
            except DataError as exc:
                assert str(path) in str(exc) and "\n" not in str(exc)
                outcomes["DataError"] += 1
            peak = tracemalloc.get_traced_memory()[1] - before
            assert peak < 256 * 1024, (data[:24], peak)
    finally:
        tracemalloc.stop()
    assert min(outcomes.values()) > 200, outcomes       # both outcomes were exercised


def test_absurd_header_under_a_memory_limit(tmp_path):
    """With the address space limited to 1 GiB, an idx file announcing terabytes is
    still refused by one sentence at the command line, not by a MemoryError."""
    directory = write_fake_mnist(tmp_path / "d", gz=False)
    (directory / "train-images-idx3-ubyte").write_bytes(
        header(0x08, 4_000_000_000, 28, 28) + bytes(100))
    code = ("import resource, runpy, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
            f"sys.argv = ['mnist_ffnn.py', '--data-dir', {str(directory)!r}]\n"
            f"runpy.run_path({str(ROOT / 'mnist_ffnn.py')!r}, run_name='__main__')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "truncated idx file" in result.stderr
    assert "Traceback" not in result.stderr


def test_memory_is_the_values_own_size(tmp_path):
    """A gzip file of 20 MB of values (20 KB on disk): read_idx's peak memory is those
    20 MB and a small constant, not twice as much (chunks, then their joined copy)."""
    values = np.zeros((20_000, 1000), "u1")
    values[::7, 3] = 9
    path = tmp_path / "big.idx.gz"
    path.write_bytes(gzip.compress(idx_bytes(values), compresslevel=1))
    tracemalloc.start()
    try:
        result = read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(result, values)
    assert peak < values.nbytes + 2**20, peak


def test_values_that_do_not_fit_in_memory_are_one_sentence(tmp_path):
    """A raw idx file that holds what its header announces, 8 GB (a sparse file, a few
    KB on disk), under a 1 GiB address-space limit: one sentence naming the file and
    the size, no MemoryError traceback."""
    directory = write_fake_mnist(tmp_path / "d", gz=False)
    path = directory / "train-images-idx3-ubyte"
    count = 8 * 10**9 // 784
    with open(path, "wb") as f:
        f.write(header(0x08, count, 28, 28))
        f.truncate(16 + count * 784)                     # sparse: holes read as zeros
    code = ("import resource, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
            f"sys.path.insert(0, {str(ROOT)!r})\n"
            "import mnist_ffnn\n"
            f"sys.exit(mnist_ffnn.main(['--data-dir', {str(directory)!r}]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr == (f"error: {path}: its {count * 784} bytes of values (shape "
                             f"({count}, 28, 28)) do not fit in memory.\n")


def test_a_file_that_is_not_regular_is_refused(tmp_path):
    with pytest.raises(DataError, match="/dev/zero: not a regular file"):
        read_idx("/dev/zero")
