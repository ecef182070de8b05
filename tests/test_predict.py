"""examples/predict.py reads a digit from a picture: a phone-like photo (light gradient,
shadow, noise, JPEG, an EXIF rotation), a paint drawing with a thin or thick brush, a
photo on coloured paper, on a sheet not filling the frame or cropped tight each read
as the clean scans of the same digits; a 16-bit picture as its 8-bit version; a blank
page has no digit; a doubtful reading says so; the command shows what the network saw
and, with --why, saves the input gradient; and a file it cannot read is one sentence,
the others still read. The pictures are made by tests/photos.py from MNIST test
digits (of the tune half: tests/manual/photo_measure.py reports the held-out half)."""

import io
import sys

import numpy as np
import pytest
from PIL import Image

import fit
import ink
import mnist_ffnn
import predict
import reader
from conftest import ROOT, assert_clean_failure, run_script
from mnist_ffnn import DataError

sys.path.insert(0, str(ROOT / "tests"))
import photos  # noqa: E402


def answer(weights, x):
    """The digit the network reads in the input x (784,) or inputs (N, 784)."""
    activations, zs = mnist_ffnn.forward_pass(np.asarray(x, np.float32), weights)
    return np.argmax(activations[-1], axis=-1)


def reads(weights, inputs):
    """The digit predict.py reads in the inputs (2, 784) of a picture: both readings."""
    return int(np.argmax(predict.probabilities(inputs, weights)[0]))


@pytest.fixture(scope="module")
def test_digits():
    """The uint8 images (N, 28, 28) and labels (N,) of the MNIST test set."""
    x_train, y_train, x_test, y_test = mnist_ffnn.load_mnist()
    return x_test, y_test


def test_photos_read_as_the_clean_scans(trained, test_digits, tmp_path):
    weights = trained[0]
    images, labels = test_digits
    rng = np.random.default_rng(7)
    chosen = rng.choice(len(images), 20, replace=False)
    scans, shots = [], []
    for k in chosen:
        (tmp_path / "scan.png").write_bytes(photos.scan(images[k]))
        (tmp_path / "photo.jpg").write_bytes(photos.photo(images[k], rng, (750, 1000)))
        scans.append(reads(weights, predict.read_digit(tmp_path / "scan.png")[0]))
        shots.append(reads(weights, predict.read_digit(tmp_path / "photo.jpg")[0]))
    direct = answer(weights, mnist_ffnn.preprocess_inputs(images[chosen]))
    assert np.sum(np.array(scans) == direct) >= 19        # a scan reads as the digit
    assert np.sum(np.array(shots) == np.array(scans)) >= 18   # a photo as its scan


def test_a_sideways_photo_reads_as_the_upright_one(trained, test_digits, tmp_path):
    images, labels = test_digits
    for k in range(3):
        upright = photos.photo(images[k], np.random.default_rng(k), (900, 1200))
        sideways = photos.photo(images[k], np.random.default_rng(k), (900, 1200), 6)
        (tmp_path / "upright.jpg").write_bytes(upright)
        (tmp_path / "sideways.jpg").write_bytes(sideways)
        with Image.open(tmp_path / "sideways.jpg") as stored:
            assert stored.size == (900, 1200)                              # stored turned
        a, b = (predict.read_digit(tmp_path / name)[0] for name in ("upright.jpg", "sideways.jpg"))
        shifts = [np.roll(b[0].reshape(28, 28), (dr, dc), axis=(0, 1)).ravel()
                  for dr in (-1, 0, 1) for dc in (-1, 0, 1)]     # the centre is rounded
        assert max(np.corrcoef(a[0], shifted)[0, 1] for shifted in shifts) > 0.95
        assert reads(trained[0], a) == reads(trained[0], b)


@pytest.mark.parametrize("page", ["noisy photo", "uniform", "one pixel a grey level darker",
                                  "dark board"])
def test_a_blank_page_has_no_digit(test_digits, tmp_path, page):
    path = tmp_path / "page.png"
    if page == "noisy photo":
        path = tmp_path / "page.jpg"
        path.write_bytes(photos.photo(test_digits[0][0], np.random.default_rng(1), ink=False))
    else:
        pixels = np.full((300, 400), 20 if page == "dark board" else 235, np.uint8)
        if page == "one pixel a grey level darker":
            pixels[150, 200] -= 1
        Image.fromarray(pixels).save(path)
    with pytest.raises(DataError, match="no digit found"):
        predict.read_digit(path)


def test_mnist_digits_are_read_as_they_are(mnist, test_digits):
    """An MNIST digit given as it is (white on black, 28 x 28) is made again into
    nearly the same input: a nearest-neighbour reader over 10,000 training images (a
    reference independent of the network) reads the remade digits as well as the
    originals."""
    x = mnist_ffnn.preprocess_inputs(test_digits[0][:300]).astype(np.float64)
    remade = np.stack([predict.mnist_input(digit.reshape(28, 28))[0] for digit in x])
    train, train_labels = mnist[0][:10000].astype(np.float64), mnist[1][:10000].argmax(axis=1)

    def nearest_label(queries):                  # (Q, 784) -> (Q,), by squared distance
        distances = (queries ** 2).sum(axis=1)[:, None] - 2 * queries @ train.T \
            + (train ** 2).sum(axis=1)
        return train_labels[distances.argmin(axis=1)]

    labels = test_digits[1][:300]
    assert np.mean(nearest_label(remade) == labels) >= np.mean(nearest_label(x) == labels) - 0.02
    assert np.median(np.abs(remade - x).max(axis=1)) < 0.6


@pytest.mark.parametrize("kind", ["transparent drawing", "chalk on a board"])
def test_other_kinds_of_pictures(trained, test_digits, tmp_path, kind):
    digit = test_digits[0][0]                                      # a 7
    big = np.asarray(Image.fromarray(digit).resize((280, 280), Image.Resampling.BICUBIC))
    if kind == "transparent drawing":                              # black ink, alpha
        pixels = np.zeros((280, 280, 4), np.uint8)
        pixels[..., 3] = big
        Image.fromarray(pixels).save(tmp_path / "digit.png")       # (H, W, 4): RGBA
    else:                                                          # light on dark grey
        Image.fromarray((40 + 0.7 * big).astype(np.uint8)).save(tmp_path / "digit.png")
    assert reads(trained[0], predict.read_digit(tmp_path / "digit.png")[0]) == 7


def test_the_command_shows_what_the_network_saw(trained):
    digits = sorted((ROOT / "examples" / "digits").glob("*.[jp][pn]g"))   # png and jpg
    result = run_script("examples/predict.py", trained[1], *digits)
    assert result.returncode == 0, result.stderr
    answers = [line for line in result.stdout.splitlines() if line.startswith(str(ROOT))]
    assert [line.split(": ")[0] for line in answers] == [str(path) for path in digits]
    for path, line in zip(digits, answers):
        inputs = predict.read_digit(path)[0]
        each = mnist_ffnn.forward_pass(inputs.astype(np.float32), trained[0])[0][-1]
        first, second = np.argsort(each.mean(axis=0))[::-1][:2]
        assert line.split(": ")[1].startswith(f"{first} (") and f", else {second} (" in line
        fitted, straight = (reader.digit_as_text(np.round(255 * x).astype(np.uint8)
                                                 .reshape(28, 28)) for x in inputs)
        assert (f"{line}\nas fitted, reads {each[0].argmax()}:\n{fitted}\n"
                f"slant undone, reads {each[1].argmax()}:\n{straight}\n") in result.stdout
    quiet = run_script("examples/predict.py", "--no-picture", trained[1], *digits)
    assert quiet.stdout.splitlines() == answers


def test_a_file_it_cannot_read_is_one_sentence_and_the_others_are_read(trained, tmp_path):
    seven = ROOT / "examples" / "digits" / "seven.png"
    (tmp_path / "notes.png").write_text("not an image")
    (tmp_path / "page.eps").write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 9 9\n")
    result = run_script("examples/predict.py", "--no-picture", trained[1],
                        tmp_path / "notes.png", seven, tmp_path / "page.eps",
                        tmp_path / "missing.png")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout.startswith(f"{seven}: ")
    errors = result.stderr.splitlines()
    assert [line.split(": ")[1] for line in errors] == [str(tmp_path / name) for name in
                                                        ("notes.png", "page.eps", "missing.png")]
    assert all("cannot be read as an image" in line for line in errors)
    assert errors[-1].endswith("(No such file or directory).")
    assert_clean_failure(run_script("examples/predict.py", tmp_path / "notes.png", seven),
                         f"{tmp_path / 'notes.png'}: not a network saved by --save")


TUNE_HALF = np.random.default_rng(29).permutation(10000)[:5000]   # as photo_measure.py
KINDS = {"thin brush, large canvas": lambda d, rng: photos.drawing(d, rng, "thin", "large"),
         "thin brush, small canvas": lambda d, rng: photos.drawing(d, rng, "thin", "small"),
         "thick brush": lambda d, rng: photos.drawing(d, rng, "thick", "small"),
         "coloured paper": lambda d, rng: photos.hard_photo(d, rng, "coloured", (600, 800)),
         "sheet not filling the frame": lambda d, rng: photos.hard_photo(d, rng, "sheet",
                                                                         (600, 800)),
         "tight crop": lambda d, rng: photos.hard_photo(d, rng, "tight", (600, 800))}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_reads_as_the_clean_scans(trained, test_digits, tmp_path, kind):
    """Ten digits of the tune half: the pictures of one kind are read right nearly as
    often as the clean scans of the same digits (the held-out half is measured by
    tests/manual/photo_measure.py)."""
    images, labels = test_digits
    chosen = TUNE_HALF[:10]
    rng = np.random.default_rng(11)
    right = {"clean": 0, kind: 0}
    for k in chosen:
        (tmp_path / "scan.png").write_bytes(photos.scan(images[k]))
        (tmp_path / "kind.img").write_bytes(KINDS[kind](images[k], rng))
        right["clean"] += reads(trained[0], predict.read_digit(tmp_path / "scan.png")[0]) \
            == labels[k]
        right[kind] += reads(trained[0], predict.read_digit(tmp_path / "kind.img")[0]) \
            == labels[k]
    assert right[kind] >= right["clean"] - 2, right


def test_a_16_bit_picture_reads_as_its_8_bit_version(test_digits, tmp_path):
    scan = np.asarray(Image.open(__import__("io").BytesIO(photos.scan(test_digits[0][1]))))
    Image.fromarray(scan).save(tmp_path / "eight.png")
    Image.fromarray((scan.astype(np.uint16) * 257)).save(tmp_path / "sixteen.png")
    with Image.open(tmp_path / "sixteen.png") as stored:
        assert stored.mode.startswith("I")                  # 16 bits a pixel, as stored
    eight, sixteen = (predict.read_digit(tmp_path / name)[0] for name in
                      ("eight.png", "sixteen.png"))
    np.testing.assert_allclose(sixteen, eight, atol=1e-6)


def picture_file(path, pixels):
    """Save grey levels (H, W) in [0, 1] as a PNG at path; returns path."""
    Image.fromarray(np.round(255 * pixels).astype(np.uint8)).save(path)
    return path


def test_a_doubtful_reading_says_so_and_a_sure_one_does_not(trained, test_digits, tmp_path):
    digit = test_digits[0][0] / 255                                       # a 7, 28 x 28
    big = np.kron(digit, np.ones((10, 10)))                               # 280 x 280
    sure = picture_file(tmp_path / "sure.png", 1 - np.pad(big, 60))
    top = np.nonzero(big.max(axis=1) > 0.5)[0][0]
    cut = picture_file(tmp_path / "cut.png", 1 - np.pad(big[top + 30:], [(0, 60), (60, 60)]))
    marks = np.pad(big, 60)
    marks[10:30, 330:390] = 1                                            # a blot in a corner
    blot = picture_file(tmp_path / "blot.png", 1 - marks)
    rows, cols = np.nonzero(big.max(axis=1) > 0.1)[0], np.nonzero(big.max(axis=0) > 0.1)[0]
    tight = picture_file(tmp_path / "tight.png",                         # cropped to the ink
                         1 - big[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    result = run_script("examples/predict.py", "--no-picture", trained[1], sure, cut, blot,
                        tight)
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and len(lines) == 4, result.stderr
    assert "not sure" not in lines[0]
    assert "not sure" in lines[1] and "leave a margin around it" in lines[1]
    assert "not sure" in lines[2] and "crop closer to the digit" in lines[2]
    assert "margin" not in lines[3] and "crop closer" not in lines[3]
    assert all(line.isascii() for line in lines)


def test_a_low_top_probability_is_not_sure():
    a3 = np.array([0.05, 0.6, 0.3, 0.05, 0, 0, 0, 0, 0, 0])
    assert predict.reading("x.png", a3, []) == \
        ("x.png: 1 (60.0%), else 2 (30.0%) -- not sure: its top answer is under 80%, "
         "write the digit again, larger and plainer")
    a3[1], a3[2] = 0.85, 0.05
    assert "not sure" not in predict.reading("x.png", a3, [])
    a3[1], a3[2] = 0.79996, 0.10004                   # printed 80.0%: not "under 80%"
    assert "not sure" not in predict.reading("x.png", a3, [])


def test_the_input_gradient_is_the_slope_of_the_log_probability(trained, test_digits):
    """why.input_gradient against finite differences of log a3_k, pixel by pixel."""
    import why
    weights = [w.astype(np.float64) for w in trained[0]]
    x = test_digits[0][3].ravel() / 255
    k, gradient = why.input_gradient(x, weights)
    assert k == answer(trained[0], x)
    log_p = lambda v: np.log(mnist_ffnn.forward_pass(v, weights)[0][-1][k])
    pixels = np.argsort(np.abs(gradient))[-5:]                 # where it matters most
    step = np.eye(784)[pixels] * 1e-5
    slopes = [(log_p(x + s) - log_p(x - s)) / 2e-5 for s in step]
    np.testing.assert_allclose(gradient[pixels], slopes, rtol=1e-4)


def test_the_input_gradient_of_a_sure_answer_is_not_rounding_noise(trained, test_digits):
    """A network made sure (its last layer's weights tripled: answers near 100 %) still
    gets the gradient of float64 from its float32 weights, not float32's rounding."""
    import why
    sure = trained[0][:-1] + [3 * trained[0][-1]]
    x = test_digits[0][3].ravel() / 255
    k, gradient = why.input_gradient(x.astype(np.float32), sure)
    exact = why.input_gradient(x, [w.astype(np.float64) for w in sure], k)[1]
    assert np.abs(exact).max() < 1e-5                          # the answer is saturated
    np.testing.assert_allclose(gradient, exact, rtol=1e-6, atol=1e-6 * np.abs(exact).max())


def test_why_saves_the_gradient_picture(trained, tmp_path):
    seven = ROOT / "examples" / "digits" / "seven.png"
    result = run_script("examples/predict.py", "--no-picture", "--why", tmp_path / "why",
                        trained[1], seven)
    assert result.returncode == 0, result.stderr
    saved = tmp_path / "why" / "seven-why.png"
    assert f"why: {saved}" in result.stdout
    with Image.open(saved) as image:
        assert image.format == "PNG" and image.size[0] > 300
    (tmp_path / "file").write_text("")
    assert_clean_failure(run_script("examples/predict.py", "--why", tmp_path / "file",
                                    trained[1], seven), "--why needs a folder")
    inside = run_script("examples/predict.py", "--why", tmp_path / "file" / "why",
                        trained[1], seven)                  # cannot be made: said first
    assert_clean_failure(inside, str(tmp_path / "file"))
    assert inside.stdout == ""


def test_narrowing_a_wide_stroke_never_erases_the_digit():
    ink = np.zeros((40, 40))
    ink[10:30, 18:20] = 1                                 # a bar 2 pixels wide
    assert fit.stroke_width(ink) > 1.5 * fit.MNIST_STROKE * 5 / 20
    np.testing.assert_array_equal(fit.match_stroke(ink, 5), ink)   # would be erased
    ink[10:30, 10:30] = 1                                 # a block 20 wide: narrowed
    narrowed = fit.match_stroke(ink, 20)
    assert 0 < narrowed.sum() < ink.sum()


def test_a_hairline_is_widened_towards_mnists_stroke_however_small():
    for side in (26, 60, 200):                            # MNIST's pen: 1.84 px in 20
        ink = np.zeros((side + 4, side + 4))
        ink[2:side + 2, side // 2] = 1                    # a line 1 pixel wide
        target = fit.MNIST_STROKE * side / 20
        widened = fit.stroke_width(fit.match_stroke(ink, side))
        assert abs(widened - target) <= 1, (side, widened, target)


def test_two_pictures_of_one_name_get_two_why_pictures(trained, tmp_path):
    (tmp_path / "other").mkdir()
    seven = ROOT / "examples" / "digits" / "seven.png"
    copy = tmp_path / "other" / "seven.png"
    copy.write_bytes(seven.read_bytes())
    result = run_script("examples/predict.py", "--no-picture", "--why", tmp_path / "why",
                        trained[1], seven, copy)
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "why").glob("*.png"))) == 2


def test_a_windows_console_can_show_any_file_name(trained, tmp_path):
    """cp1252 has no CJK letters: the name is shown with ?, the answer still given."""
    picture = tmp_path / "sept-数字.png"
    picture.write_bytes((ROOT / "examples" / "digits" / "seven.png").read_bytes())
    result = run_script("examples/predict.py", "--no-picture", trained[1], picture,
                        env={"PYTHONIOENCODING": "cp1252"})
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert ": 7 (" in result.stdout


def test_a_sheet_on_a_grained_desk_is_light_paper(test_digits):
    """The desk's light grain, joined to the sheet, widened its box until the sheet no
    longer filled it: the opening in paper_is_light takes the grain off first."""
    made = photos.hard_photo(test_digits[0][25], np.random.default_rng(25), "sheet")
    with Image.open(io.BytesIO(made)) as image:
        picture = np.asarray(image.convert("RGB"), np.float32) / 255
    assert ink.paper_is_light(ink.reduce_size(picture))


@pytest.mark.parametrize("shape", [(1000, 12), (8, 400)])
def test_a_thin_strip_is_one_sentence(trained, tmp_path, shape):
    """A picture far longer than wide reduced its short side to nothing (a traceback)."""
    pixels = np.full(shape, 255, np.uint8)
    pixels[shape[0] // 4:3 * shape[0] // 4, shape[1] // 3:shape[1] // 3 + 2] = 0
    Image.fromarray(pixels).save(tmp_path / "strip.png")
    result = run_script("examples/predict.py", trained[1], tmp_path / "strip.png")
    assert "Traceback" not in result.stderr, result.stderr


def slant(box):
    """How far the ink of box (h, w) moves sideways per row, by its moments (written
    again here, for the test, from the definition)."""
    rows, cols = np.nonzero(box > 0)
    weight = box[rows, cols]
    r, c = np.average(rows, weights=weight), np.average(cols, weights=weight)
    return np.average((rows - r) * (cols - c), weights=weight) \
        / np.average((rows - r) ** 2, weights=weight)


def test_deskew_straightens_each_digit_and_keeps_its_ink(test_digits):
    upright = np.zeros((20, 6))
    upright[:, 2:4] = 1
    np.testing.assert_allclose(fit.deskew(upright), upright)      # nothing to undo
    for digit in test_digits[0][:50]:
        box = fit.crop(digit / 255)
        straight = fit.deskew(box)
        assert abs(slant(straight)) < 0.02 <= abs(slant(box)) or abs(slant(box)) < 0.02
        np.testing.assert_allclose(straight.sum(axis=1), box.sum(axis=1))   # rows slid


def test_a_slanted_digit_reads_as_the_upright_one(trained, test_digits):
    """Test digits slanted by a shear of 0.4 (Pillow's affine transform, not deskew):
    their deskewed input is about that of the digit itself deskewed, and both readings
    together read them better than the fitted one alone."""
    alone = both = 0
    alike = []
    for digit, label in zip(*(part[:200] for part in test_digits)):
        wide = Image.fromarray(np.pad(digit, ((0, 0), (12, 12))))
        slanted = np.asarray(wide.transform(wide.size, Image.Transform.AFFINE,
                                            (1, 0.4, -0.4 * 14, 0, 1, 0),
                                            Image.Resampling.BILINEAR)) / 255
        inputs = predict.mnist_input(slanted)
        alike.append(np.corrcoef(inputs[1], predict.mnist_input(digit / 255)[1])[0, 1])
        alone += answer(trained[0], inputs[0]) == label
        both += reads(trained[0], inputs) == label
    assert np.median(alike) > 0.9, np.median(alike)
    assert both >= alone + 5, (both, alone)


def test_faint_ink_that_deskew_spreads_too_thin_keeps_its_box():
    box = np.zeros((3, 2))
    box[0, 0] = box[2, 1] = 0.3              # a slant of 0.5: each pixel split in halves
    assert fit.deskew(box).max() < 0.25
    np.testing.assert_array_equal(fit.straighten(box), box)
