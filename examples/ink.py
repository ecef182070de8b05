"""examples/ink.py: where the ink is in a picture of one handwritten digit, in NumPy,
for examples/reader.py. The picture becomes one grey level, the paper's level is
measured around each pixel, and what stands out below it, out of its noise, is ink:

    reduction         how many times a picture is reduced to a given side
    reduce_size       a large picture averaged down to 256-511 pixels on its long side
    window            a minimum, maximum or mean over a square around each pixel
    opening, closing  marks narrower than a square taken off, or filled
    label_blobs       the connected groups of inked pixels
    paper_is_light    dark ink on light paper, or light chalk on a dark board?
    grey_below_paper  one grey level (H, W): the darkest colour relative to the paper's
    paper_level       the paper around each pixel (H, W), a closing wider than strokes
    ink_below         how far each pixel is below the paper, 0 to 1: (H, W)
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

WORKING_SIDE = 256     # a larger picture is reduced to 256-511 pixels on its long side
BLOB_SIDE = 128        # the blobs are found on a copy at most 128-255 pixels on a side
MIN_CONTRAST = 0.2     # the least darkness of ink, as a share of the paper's brightness


def reduction(shape, side):
    """k, the largest integer that leaves the long side of `shape` (H, W, ...) at least
    `side` pixels, and its short side at least one."""
    return max(1, min(max(shape[:2]) // side, min(shape[:2])))


def reduce_size(picture, side=WORKING_SIDE, reduce=np.mean):
    """picture (H, W, ...) reduced k = reduction(its shape, side) times: each k x k block
    becomes its mean (or `reduce`), (H // k, W // k, ...)."""
    k = reduction(picture.shape, side)
    h, w = picture.shape[0] // k * k, picture.shape[1] // k * k
    blocks = picture[:h, :w].reshape(h // k, k, w // k, k, *picture.shape[2:])
    return reduce(blocks, axis=(1, 3))


def window(a, width, reduce):
    """reduce (np.max, np.min or np.mean) over the width x width square around each pixel
    of a (H, W, ...), width odd, the edges repeated: one pass per axis, same shape."""
    pad = [(width // 2, width // 2)] * 2 + [(0, 0)] * (a.ndim - 2)
    a = np.pad(a, pad, mode="edge")
    a = reduce(sliding_window_view(a, width, axis=0), axis=-1)     # (H, W + width - 1)
    return reduce(sliding_window_view(a, width, axis=1), axis=-1)  # (H, W)


def opening(mask, width):
    """mask (H, W) of bool without its parts narrower than `width` pixels: the minimum
    over each width x width square (an erosion) then the maximum (a dilation) keeps
    the pixels that some square of True pixels covers; specks and thin bridges go."""
    return window(window(mask, width, np.min), width, np.max)


def closing(a, width):
    """a (H, W) with its dark marks narrower than `width` pixels filled: the maximum over
    each width x width square (a dilation) then the minimum (an erosion), its twin."""
    return window(window(a, width, np.max), width, np.min)


def label_blobs(mask):
    """The connected groups of True pixels of mask (h, w), a pixel's 8 neighbours
    touching it: labels (h, w), the same number for the pixels of one group, -1 off it.
    Each pixel starts with its own index and takes the smallest one around it, over
    and over until nothing changes; each round also takes the number that the pixel
    of that index holds now, which halves the rounds needed."""
    off = mask.size                                            # larger than any index
    labels = np.where(mask, np.arange(mask.size).reshape(mask.shape), off)
    while True:
        new = np.where(mask, window(labels, 3, np.min), off)
        new = np.append(new.ravel(), off)[new]                 # the shortcut
        if np.array_equal(new, labels):
            return np.where(mask, labels, -1)
        labels = new


def paper_is_light(picture):
    """Whether the paper is lighter than the ink, for picture (H, W, C): yes when the
    median brightness is nearer the picture's light end (95th percentile) than its dark
    end (5th), or as near and 0.5 or more (a hairline on a plain page), or when its
    light part holds a sheet on a darker desk: one group of light pixels covering 15 %
    of the picture or more and 80 % of its own box (strokes fill far less), once an
    opening 5 pixels wide has taken off the desk's light grain (the specks joined to
    the sheet made its box wider than the sheet)."""
    grey = reduce_size(picture.mean(axis=2), BLOB_SIDE)           # (h, w)
    dark, median, light = np.percentile(grey, [5, 50, 95])
    if median - dark > light - median or (median - dark == light - median
                                          and median >= 0.5):
        return True
    labels = label_blobs(opening(grey > (dark + light) / 2, 5))
    names, counts = np.unique(labels[labels >= 0], return_counts=True)
    if not len(names):
        return False
    rows, cols = np.nonzero(labels == names[np.argmax(counts)])
    box = (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
    return counts.max() >= 0.15 * grey.size and counts.max() >= 0.8 * box


def grey_below_paper(picture):
    """picture (H, W, C) as one grey level (H, W), the paper near 1 and the ink darker:
    light ink on a dark board is turned around first; each colour is divided by the
    paper's (that of the brightest tenth of the pixels) and each pixel keeps its darkest
    channel, of those where the paper is at least half as bright as in its brightest.
    Coloured ink on coloured paper is then as dark as in the channel where it stands
    out most, and the blue of a yellow sheet, dim and noisy, is left out."""
    picture = picture if paper_is_light(picture) else 1 - picture
    brightness = picture.mean(axis=2)
    white = np.median(picture[brightness >= np.percentile(brightness, 90)], axis=0)
    bright = white >= 0.5 * white.max()                        # (C,)
    grey = np.min(picture[..., bright] / white[bright], axis=2)
    return window(grey, max(grey.shape) // 100 | 1, np.mean)     # softens sensor noise


def paper_level(grey, width):
    """The paper's level (H, W) around each pixel of grey (H, W): a closing, the maximum
    over `width` pixels and then the minimum, which fills every mark narrower than
    that (a stroke) and keeps what is wider or runs off the edge (a shadow, a desk),
    as the edges are repeated outwards. Computed on a copy reduced to 64-127 pixels on
    its long side (by the minimum, so that a light sheet does not spill over a desk)."""
    k = reduction(grey.shape, WORKING_SIDE // 4)
    coarse = reduce_size(grey, WORKING_SIDE // 4, np.min)      # (H // k, W // k)
    width = max(3, width // k) | 1
    paper = np.kron(closing(coarse, width), np.ones((k, k)))
    return np.pad(paper, [(0, grey.shape[0] - paper.shape[0]),
                          (0, grey.shape[1] - paper.shape[1])], mode="edge")


def ink_below(grey, paper):
    """How far each pixel of grey (H, W) is below the paper (H, W), from 0 (the paper's
    noise) to 1 (the strokes' usual darkness); None if nothing stands out of the
    noise by MIN_CONTRAST, or by 5 of its standard deviations if more. The noise is
    measured on the paper alone: from the lighter half of the pixels, the pixels
    within 3 standard deviations of their median, five times over (it then settles)."""
    darkness = paper - grey                                    # > 0: below the paper
    floor = np.median(darkness)        # ink is 20-45 % of a tight crop's pixels
    for _ in range(5):
        paper_pixels = darkness[darkness <= floor]
        median = np.median(paper_pixels)
        noise = 1.4826 * np.median(np.abs(paper_pixels - median))   # standard deviation
        floor = median + 3 * noise
    contrast = darkness.max() - floor
    if contrast < max(MIN_CONTRAST, 5 * noise):
        return None
    level = np.median(darkness[darkness > floor + contrast / 2])    # a stroke's darkness
    return np.clip((darkness - floor) / (level - floor), 0, 1)
