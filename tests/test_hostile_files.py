"""Forged or damaged files given to --load (.npz) and --predict (images): one sentence
naming the file, and memory bounded by what the network needs, whatever the file
claims. (Damaged idx files are in test_read_idx.py.)"""

import io
import json
import struct
import subprocess
import sys
import tracemalloc
import warnings
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, assert_clean_failure, run_script, weight_shapes
from mnist_ffnn import DataError
from mnist_ffnn_batched import load_weights, read_digit, save_weights, weight_names

SHAPES = dict(zip(weight_names(weight_shapes()), weight_shapes()))
FIRST, LAST = list(SHAPES)[0], list(SHAPES)[-1]          # w1 and w3 in the TP


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


def shape_text(name):
    return str(SHAPES[name])


@pytest.mark.parametrize("case, fragment", [
    ("huge shape", f"{FIRST} is float64 (1000000000000,), expected a float array of shape "
                   f"{shape_text(FIRST)}"),
    ("huge right-looking shape", f"{LAST} is float32 ({SHAPES[LAST][0]}, 64000000000)"),
    ("complex", f"{LAST} is complex128 {shape_text(LAST)}, expected a float array"),
    ("strings", f"{FIRST} is <U10 {shape_text(FIRST)}, expected a float array"),
    ("short payload", f"{LAST} holds less data than its header announces "
                      f"({4 * np.prod(SHAPES[LAST])} bytes)"),
    ("long payload", f"{LAST} holds more data than its header announces "
                     f"({4 * np.prod(SHAPES[LAST])} bytes)"),
    ("config not text", "config is float32 (), expected a text"),
    ("npy format 3", f"{FIRST} is stored in .npy format (3, 0), expected 1.0 or 2.0"),
    ("encrypted or exotic", "cannot be read as saved weights"),
])
def test_forged_weight_files(tmp_path, case, fragment):
    members = good_members()
    if case == "huge shape":
        members[FIRST] = npy_bytes((10**12,), "<f8", payload=bytes(64))
    elif case == "huge right-looking shape":
        members[LAST] = npy_bytes((SHAPES[LAST][0], 64 * 10**9), payload=bytes(64))
    elif case == "complex":
        members[LAST] = npy_bytes(SHAPES[LAST], "<c16")
    elif case == "strings":
        members[FIRST] = npy_bytes(SHAPES[FIRST], "<U10", payload=b"")
    elif case == "short payload":
        members[LAST] = npy_bytes(SHAPES[LAST])[:-1]
    elif case == "long payload":
        members[LAST] = npy_bytes(SHAPES[LAST]) + b"\0"
    elif case == "config not text":
        members["config"] = npy_bytes((), "<f4")
    elif case == "npy format 3":
        members[FIRST] = members[FIRST].replace(b"NUMPY\x01\x00", b"NUMPY\x03\x00", 1)
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
    """The first array's member holds its bytes and then 200 MB of zeros, compressed to
    a few hundred KB: refused after reading one byte past the array."""
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(FIRST + ".npy", "w", force_zip64=True) as member:
            member.write(npy_bytes(SHAPES[FIRST]))
            zeros = bytes(2**22)
            for _ in range(50):
                member.write(zeros)
        for name in list(SHAPES)[1:]:
            archive.writestr(name + ".npy", npy_bytes(SHAPES[name]))
    assert path.stat().st_size < 2**20
    result, peak = load_with_peak_memory(path)
    assert isinstance(result, DataError)
    assert (f"{FIRST} holds more data than its header announces "
            f"({4 * np.prod(SHAPES[FIRST])} bytes)") in str(result)
    assert peak < 4 * 2**20


@pytest.mark.parametrize("case, fragment", [
    ("members without .npy", None),
    ("lzma member damaged", "cannot be read as saved weights"),
    ("bzip2 member damaged", "cannot be read as saved weights"),
    ("forged member offset", "not an .npz archive of weights"),
])
def test_other_archives(tmp_path, case, fragment):
    """Members named without the .npy suffix are read; a damaged LZMA or bzip2 member,
    or a member whose offset points elsewhere, is one sentence naming the file."""
    path = tmp_path / "weights.npz"
    method = {"lzma member damaged": zipfile.ZIP_LZMA,
              "bzip2 member damaged": zipfile.ZIP_BZIP2}.get(case, zipfile.ZIP_STORED)
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in good_members().items():
            archive.writestr(name if case == "members without .npy" else name + ".npy",
                             data)
    data = bytearray(path.read_bytes())
    if "damaged" in case:                 # bytes in the middle of the first member
        data[100:120] = bytes(range(20))
    elif case == "forged member offset":  # the central directory points past the end
        entry = data.index(b"PK\x01\x02")
        data[entry + 42:entry + 46] = struct.pack("<I", len(data) + 1000)
    path.write_bytes(bytes(data))
    if fragment is None:
        assert [w.shape for w in load_weights(path)[0]] == list(SHAPES.values())
        return
    with pytest.raises(DataError) as info:
        load_weights(path)
    assert fragment in str(info.value) and str(path) in str(info.value)


def test_weights_beyond_float32_are_refused_in_float32(tmp_path, fake_mnist):
    """float64 weights too large for float32 become inf when cast: refused, naming the
    array, and with --check-gradients too."""
    members = good_members()
    members[LAST] = npy_bytes(SHAPES[LAST], "<f8",
                              np.full(SHAPES[LAST], 1e300).astype("<f8").tobytes())
    path = write_npz(tmp_path / "large.npz", members)
    assert load_weights(path, np.float64)[0][-1].max() == 1e300
    with pytest.raises(DataError, match=f"{LAST} holds values beyond the range of float32"):
        load_weights(path, np.float32)
    assert_clean_failure(run_script("mnist_ffnn_batched.py", "--load", path, "--data-dir",
                                    fake_mnist, "--epochs", 1, "--check-gradients"),
                         "beyond the range of float32", status=1)


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


FORMATS = [("PNG", {}), ("JPEG", {}), ("TIFF", {}), ("TIFF", {"compression": "tiff_lzw"}),
           ("BMP", {}), ("GIF", {}), ("JPEG2000", {}), ("WEBP", {}), ("IM", {}),
           ("DDS", {})]


def one_digit():
    """A grey "7" (28, 28) of uint8: a bar and a stroke."""
    image = np.zeros((28, 28), np.uint8)
    image[5:8, 6:22] = 255
    image[np.arange(8, 24), np.arange(8, 24) // 2 + 9] = 255
    return image


@pytest.mark.parametrize("mode", ["F", "I", "I;16", "1", "P", "CMYK", "LA"])
def test_every_pillow_mode_reads_as_the_same_digit(tmp_path, mode):
    """The digit saved in another mode (floats, 32-bit integers, 16 bits, 1 bit, a
    palette, CMYK, grey with alpha) reads as the same input as the 8-bit grey one."""
    grey = one_digit()
    reference = read_digit(write_image(tmp_path / "grey.png", Image.fromarray(grey)))
    if mode == "F":
        picture = Image.fromarray(grey.astype(np.float32) / 255)      # values in [0, 1]
    elif mode == "I":
        picture = Image.fromarray(grey.astype(np.int32) * 1000)
    elif mode == "I;16":
        picture = Image.fromarray(grey.astype(np.uint16) * 257)
    else:
        picture = Image.fromarray(grey).convert(mode)
    suffix = ".tif" if mode in ("F", "I", "CMYK") else ".png"
    x = read_digit(write_image(tmp_path / f"digit{suffix}", picture))
    np.testing.assert_allclose(x, reference, atol=1e-6)


def write_image(path, picture, **options):
    picture.save(path, **options)
    return path


def test_damaged_images_of_every_format_under_a_memory_limit(tmp_path):
    """A digit written by Pillow in nine formats, then damaged at random (bytes
    overwritten, or the file cut) 100 times each: every file read under a 1 GiB
    address-space limit gives an input or one DataError naming it, never another
    exception, whatever its header claims."""
    rng = np.random.default_rng(11)
    digit = Image.fromarray(one_digit()).resize((56, 56))
    paths = []
    for k, (form, options) in enumerate(FORMATS):
        good = io.BytesIO()
        with warnings.catch_warnings():            # writing IM is deprecated in Pillow
            warnings.simplefilter("ignore", DeprecationWarning)
            (digit.convert("RGB") if form == "DDS" else digit).save(good, format=form,
                                                                     **options)
        good = good.getvalue()
        for repeat in range(100):
            data = bytearray(good)
            if repeat % 3:
                for position in rng.integers(0, len(data), rng.integers(1, 12)):
                    data[position] = rng.integers(256)
            else:
                data = data[:rng.integers(len(data))]
            paths.append(tmp_path / f"{k}-{repeat}.{form.lower()}")
            paths[-1].write_bytes(bytes(data))
    code = ("import json, resource, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
            f"sys.path.insert(0, {str(ROOT)!r})\n"
            "from mnist_ffnn import DataError\n"
            "from mnist_ffnn_batched import read_digit\n"
            "counts = {'digit': 0, 'DataError': 0}\n"
            "for path in sys.argv[1:]:\n"
            "    try:\n"
            "        assert read_digit(path).shape == (784,)\n"
            "        counts['digit'] += 1\n"
            "    except DataError as exc:\n"
            "        assert str(exc).startswith(path) and '\\n' not in str(exc), exc\n"
            "        counts['DataError'] += 1\n"
            "print(json.dumps(counts))\n")
    result = subprocess.run([sys.executable, "-c", code, *map(str, paths)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = json.loads(result.stdout)
    assert counts["digit"] + counts["DataError"] == len(paths)
    assert min(counts.values()) > 50, counts         # both outcomes were exercised


def test_predict_reads_the_good_images_around_damaged_ones(tmp_path, trained):
    good = write_image(tmp_path / "seven.png", Image.fromarray(one_digit()))
    damaged = []
    for form in ("TIFF", "JPEG2000", "GIF"):
        data = io.BytesIO()
        Image.fromarray(one_digit()).save(data, format=form)
        path = tmp_path / f"damaged.{form.lower()}"
        path.write_bytes(data.getvalue()[:len(data.getvalue()) // 2])
        damaged.append(path)
    result = run_script("mnist_ffnn_batched.py", "--load", trained[1], "--predict", good,
                        *damaged, good)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert [line.split(": ")[0] for line in result.stdout.splitlines()[::2]] == [
        str(good), str(good)]
    errors = result.stderr.strip().splitlines()
    assert [e.split(": ")[1] for e in errors] == [str(p) for p in damaged]
