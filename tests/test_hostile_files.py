"""Forged or damaged files given to --load (.npz) and --predict (images): one sentence
naming the file, and memory bounded by what the network needs, whatever the file
claims. (Damaged idx files are in test_read_idx.py.)"""

import io
import struct
import tracemalloc
import zipfile
import zlib

import matplotlib.image  # noqa: F401  (imported here, not inside the measured calls)
import numpy as np
import pytest
from PIL import Image  # noqa: F401

from conftest import assert_clean_failure, run_script
from mnist_ffnn import DataError
from mnist_ffnn_batched import load_weights, read_digit, save_weights

SHAPES = {"w1": (784, 128), "w2": (128, 64), "w3": (64, 10)}


def npy_bytes(shape, descr="<f4", payload=None):
    """A .npy file (format 1.0) whose header announces `shape` and `descr`, written from
    the format's description, followed by `payload` (default: the announced zeros)."""
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    size = int(np.prod(shape)) * np.dtype(descr).itemsize
    return (b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header
            + (bytes(size) if payload is None else payload))


def write_npz(path, members, compression=zipfile.ZIP_STORED):
    """An .npz file (a zip of .npy files) with the given {name: bytes}."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name + ".npy", data)
    return path


def good_members():
    return {name: npy_bytes(shape) for name, shape in SHAPES.items()}


def load_with_peak_memory(path):
    """load_weights(path), and the peak memory (bytes) it took."""
    tracemalloc.start()
    try:
        try:
            result = load_weights(path)
        except DataError as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_forged_files_are_read_with_zeros(tmp_path):
    """The forging helpers make a file load_weights accepts (so the tests below fail
    for the reason they say)."""
    weights, _ = load_weights(write_npz(tmp_path / "ok.npz", good_members()))
    assert [w.shape for w in weights] == list(SHAPES.values())
    assert not any(w.any() for w in weights)


@pytest.mark.parametrize("case, fragment", [
    ("huge shape", "w1 is float64 (1000000000000,), expected a float array of shape "
                   "(784, 128)"),
    ("huge right-looking shape", "w2 is float32 (128, 64000000000)"),
    ("complex", "w3 is complex128 (64, 10), expected a float array"),
    ("strings", "w1 is <U10 (784, 128), expected a float array"),
    ("short payload", "w2 holds less data than its header announces (32768 bytes)"),
    ("long payload", "w3 holds more data than its header announces (2560 bytes)"),
    ("config not text", "config is float32 (), expected a text"),
    ("npy format 3", "w1 is stored in .npy format (3, 0), expected 1.0 or 2.0"),
    ("encrypted or exotic", "cannot be read as saved weights"),
])
def test_forged_weight_files(tmp_path, case, fragment):
    members = good_members()
    if case == "huge shape":
        members["w1"] = npy_bytes((10**12,), "<f8", payload=bytes(64))
    elif case == "huge right-looking shape":
        members["w2"] = npy_bytes((128, 64 * 10**9), payload=bytes(64))
    elif case == "complex":
        members["w3"] = npy_bytes((64, 10), "<c16")
    elif case == "strings":
        members["w1"] = npy_bytes((784, 128), "<U10", payload=b"")
    elif case == "short payload":
        members["w2"] = npy_bytes((128, 64))[:-1]
    elif case == "long payload":
        members["w3"] = npy_bytes((64, 10)) + b"\0"
    elif case == "config not text":
        members["config"] = npy_bytes((), "<f4")
    elif case == "npy format 3":
        members["w1"] = members["w1"].replace(b"NUMPY\x01\x00", b"NUMPY\x03\x00", 1)
    path = write_npz(tmp_path / "forged.npz", members)
    if case == "encrypted or exotic":      # an unknown compression method in the zip
        data = bytearray(path.read_bytes())
        directory = data.index(b"PK\x01\x02")      # the central directory's first entry
        data[directory + 10:directory + 12] = struct.pack("<H", 99)    # its method
        path.write_bytes(bytes(data))
    result, peak = load_with_peak_memory(path)
    assert isinstance(result, DataError), result
    assert fragment in str(result) and str(path) in str(result)
    assert peak < 4 * 2**20                        # a few MB at most, whatever it claims
    assert_clean_failure(run_script("mnist_ffnn_batched.py", "--load", path, "--epochs", 0),
                         fragment, status=1)


def test_a_member_that_decompresses_to_gigabytes_is_not_decompressed(tmp_path):
    """w1's member holds its 401,408 bytes and then 200 MB of zeros, compressed to a
    few hundred KB: refused after reading one byte past the array."""
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("w1.npy", "w", force_zip64=True) as member:
            member.write(npy_bytes((784, 128)))
            zeros = bytes(2**22)
            for _ in range(50):
                member.write(zeros)
        for name in ("w2", "w3"):
            archive.writestr(name + ".npy", npy_bytes(SHAPES[name]))
    assert path.stat().st_size < 2**20
    result, peak = load_with_peak_memory(path)
    assert isinstance(result, DataError)
    assert "w1 holds more data than its header announces (401408 bytes)" in str(result)
    assert peak < 4 * 2**20


def test_randomly_damaged_weight_files(tmp_path):
    """A saved network with bytes flipped or cut at random (fixed seed): each load gives
    weights or a DataError, never another exception (the zip's CRC catches nearly every
    flipped byte)."""
    rng = np.random.default_rng(7)
    good = tmp_path / "good.npz"
    save_weights(good, [rng.standard_normal(s).astype(np.float32) for s in SHAPES.values()],
                 {"note": "test"})
    original = good.read_bytes()
    outcomes = {"weights": 0, "DataError": 0}
    path = tmp_path / "damaged.npz"
    for _ in range(300):
        data = bytearray(original)
        if rng.random() < 0.7:
            for k in rng.integers(0, len(data), rng.integers(1, 5)):
                data[k] = rng.integers(256)
        else:
            data = data[:rng.integers(len(data))]
        path.write_bytes(bytes(data))
        try:
            load_weights(path)
            outcomes["weights"] += 1
        except DataError as exc:
            assert str(path) in str(exc)
            outcomes["DataError"] += 1
    assert outcomes["DataError"] > 250, outcomes


def bar_rows():
    """The uncompressed pixel rows of a 28 x 28 grey PNG: a white bar (a "1") on black,
    each row preceded by its filter byte 0."""
    image = np.zeros((28, 28), np.uint8)
    image[6:22, 12:16] = 255
    return np.hstack([np.zeros((28, 1), np.uint8), image]).tobytes()


def png_bytes(width, height, image_data):
    """A grey 8-bit PNG whose header announces width x height, with `image_data` as its
    compressed pixels (written from the PNG specification)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", image_data) + chunk(b"IEND", b""))


@pytest.mark.parametrize("case, fragment", [
    ("enormous", "the image is too large (100000 x 100000 pixels; at most 4096 x 4096)"),
    ("large", "the image is too large (5000 x 200 pixels; at most 4096 x 4096)"),
    ("truncated", "cannot be read as an image (OSError: image file is truncated"),
    ("not an image", "cannot be read as an image"),
    ("empty", "cannot be read as an image"),
])
def test_hostile_images(tmp_path, case, fragment):
    path = tmp_path / "digit.png"
    if case == "enormous":           # 10^10 pixels announced, a few bytes of data
        path.write_bytes(png_bytes(100000, 100000, zlib.compress(bytes(1000))))
    elif case == "large":            # a strip wider than the limit
        path.write_bytes(png_bytes(5000, 200, zlib.compress(bytes(1000))))
    elif case == "truncated":        # a digit's PNG cut in the middle of its pixels
        path.write_bytes(png_bytes(28, 28, zlib.compress(bar_rows()))[:58])
    elif case == "not an image":
        path.write_bytes(b"GIF89a" + bytes(100))
    else:
        path.write_bytes(b"")
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as info:
            read_digit(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert fragment in str(info.value) and str(path) in str(info.value)
    assert peak < 8 * 2**20


def test_a_valid_hand_made_png_is_read(tmp_path):
    """The PNG writer above makes images that read_digit accepts: a bar on black."""
    path = tmp_path / "one.png"
    path.write_bytes(png_bytes(28, 28, zlib.compress(bar_rows())))
    x = read_digit(path)
    assert x.shape == (784,) and x.max() == pytest.approx(1) and x.min() == 0


def test_sixteen_bit_images_are_scaled_by_their_own_range(tmp_path):
    digit = np.zeros((28, 28), np.uint16)
    digit[5:23, 13:15] = 40000                                  # a grey "1" on black
    path = tmp_path / "sixteen.png"
    Image.fromarray(digit).save(path)
    eight = tmp_path / "eight.png"
    Image.fromarray((digit / 40000 * 157).astype(np.uint8)).save(eight)
    np.testing.assert_allclose(read_digit(path), read_digit(eight), atol=1e-9)


def test_npy_helper_writes_what_numpy_reads(tmp_path):
    """npy_bytes writes what np.load reads (the forgeries start from real files)."""
    data = npy_bytes((3, 2), "<f8", payload=np.arange(6.0).tobytes())
    np.testing.assert_array_equal(np.load(io.BytesIO(data)), np.arange(6.0).reshape(3, 2))
