"""Light-on-dark regions of a light page (bars, buttons, headers of a screenshot): found on a reduced cell grid and
inverted in place so that all text is dark on light. Connected components and erosion are scipy.ndimage's."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter
from scipy import ndimage

from extractors.imaging.tones import otsu_threshold

# Local polarity: light text on the dark bars, buttons and headers of an otherwise light page. Measured on a copy
# reduced by an integer factor so that its long side is ~600 px (one cell ≈ 4 px of a phone screenshot). A cell's
# background is dark when most cells of the ~28 px window around it are dark: a majority vote, which is the median
# thresholded (median < t  ⇔  more than half the values < t) at the cost of one box blur. Text strokes are thinner
# than half the window, so the vote reads the tone around the letters, not the letters.
_POLARITY_SIDE = 600
_BG_WINDOW_PX = 28
DARK_REGION = 128  # luminance below which a cell counts as dark
_MIN_REGION_PX = 32  # px: thinner than this holds no padded line of text (and is more likely a bold stroke)
_LIGHT_DELTA = 70  # a "light" pixel is this much brighter than its region's fill
_MIN_LIGHT_SHARE = 0.002  # light pixels in a region's interior: at least a few letters ...
_MAX_LIGHT_SHARE = 0.25  # ... and well under half (bold dark letters on paper leave 0.29-0.45 between strokes)
_MIN_FLAT_SHARE = 0.75  # interior pixels within ±30 of the fill: a flat UI fill (bars: 0.98), not letters or a photo
_MIN_HOLE_FILL = 0.2  # share of fill-toned pixels that marks a hole in the fill mask as text on the fill
_MAX_REGIONS = 64
_MAX_SAMPLED = 20_000  # cells of a region measured at full resolution; beyond, every other pixel
_MAX_RUNS = 6_000  # runs of dark cells beyond which a mask is texture, not layout (a phone UI has < 1,000)
# An initials avatar (a disc holding "DB" beside a provider card's name): as wide as tall, small beside the page, and
# round — its fill covers about π/4 of its box (0.75-0.89 measured), where buttons and bars fill theirs (0.95+).
_AVATAR_ASPECT = (0.85, 1.18)
_AVATAR_MAX_WIDTH = 0.25  # of the page's width
_AVATAR_MAX_FILL = 0.92
_AVATAR_RING_PX = 4  # the page tone is measured on a ring this wide around the avatar's box


@dataclass(frozen=True, slots=True)
class DarkRegion:
    """A light-on-dark region: pixel box (edge coordinates), fill and text tones, share of text pixels inside."""

    x0: int
    top: int
    x1: int
    bottom: int
    fill: float
    text: float  # median tone of the light pixels
    light_share: float
    avatar: bool = False  # an initials avatar: erased, not inverted (`is_avatar`)


_FOUR_CONNECTED = ndimage.generate_binary_structure(2, 1)  # the cross: edge neighbours only
_NEIGHBOURHOOD = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True, slots=True)
class Component:
    """A 4-connected component of a cell mask: its cell bounding box and its cells as a mask over that box."""

    x0: int
    top: int
    x1: int
    bottom: int
    cells: npt.NDArray[np.bool_]


def components(mask: npt.NDArray[np.bool_]) -> list[Component] | None:
    """4-connected components of a boolean cell mask, in raster order of their first cell; None over _MAX_RUNS runs.

    Many runs of cells mean a texture (photo, halftone), not a layout: such a mask holds no region.
    """
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    if np.count_nonzero(np.diff(padded, axis=1)) > 2 * _MAX_RUNS:  # run starts and ends, two per run
        return None
    labels, _ = ndimage.label(mask, structure=_FOUR_CONNECTED)
    out: list[Component] = []
    for label, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is not None:
            rows, cols = box
            out.append(Component(cols.start, rows.start, cols.stop, rows.stop, labels[box] == label))
    return out


def erode(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Cells whose whole 3×3 neighbourhood is in `mask` (outside the array counts as in)."""
    eroded: npt.NDArray[np.bool_] = ndimage.binary_erosion(mask, structure=_NEIGHBOURHOOD, border_value=1)
    return eroded

def erode_inside(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Cells of `mask` whose whole 3×3 neighbourhood is in it, counting outside the array as out (a region's box)."""
    eroded: npt.NDArray[np.bool_] = ndimage.binary_erosion(mask, structure=_NEIGHBOURHOOD, border_value=0)
    return eroded


@dataclass(frozen=True, slots=True)
class _Votes:
    """The reduced copy's cell grid: each cell's share of dark cells in its window (0..1), the reduction factor f
    (one cell = f × f px), the reduced copy itself and the window's radius in cells."""

    share: npt.NDArray[np.float32]
    f: int
    small: Image.Image
    radius: int


def _dark_votes(gray: Image.Image) -> _Votes:
    f = max(1, round(max(gray.width, gray.height) / _POLARITY_SIDE))
    small = gray.reduce(f) if f > 1 else gray
    dark = small.point(lambda v: 255 if v < DARK_REGION else 0)
    radius = max(1, round(_BG_WINDOW_PX / f / 2 - 0.5))  # window of 2r+1 cells ≈ _BG_WINDOW_PX, whatever f is
    votes = dark.filter(ImageFilter.BoxBlur(radius))
    return _Votes(np.asarray(votes, dtype=np.float32) / 255.0, f, small, radius)


def _cell_pixels(tile: npt.NDArray[np.uint8], cells: npt.NDArray[np.bool_], f: int) -> npt.NDArray[np.uint8]:
    """The pixels (flat) of the chosen cells of `tile`, whose cell (i, j) is tile[i*f:(i+1)*f, j*f:(j+1)*f].

    Partial cells at the image's edge are left out. Over _MAX_SAMPLED cells, every other pixel of each cell on both
    axes: plenty for shares and medians, and a quarter of the work on a page-sized component.
    """
    ch, cw = min(cells.shape[0], tile.shape[0] // f), min(cells.shape[1], tile.shape[1] // f)
    blocks = tile[:ch * f, :cw * f].reshape(ch, f, cw, f).swapaxes(1, 2)  # (ch, cw, f, f), a view
    chosen: npt.NDArray[np.uint8] = blocks[cells[:ch, :cw]]
    if len(chosen) > _MAX_SAMPLED:
        chosen = chosen[:, ::2, ::2]
    return chosen.reshape(-1)


def _with_text_holes(cells: npt.NDArray[np.bool_], tile: npt.NDArray[np.uint8], fill: float,
                     f: int) -> npt.NDArray[np.bool_]:
    """`cells` plus the holes in them that are text on the fill, not light shapes or the page around the region.

    Dense light lettering (a bold name in a header) out-votes the fill in its cells and leaves a hole in the mask;
    such a hole still shows the fill between its letters (or is smaller than a letter: a counter), while an avatar
    disc or the page around a rounded button is bigger and barely holds a fill-toned pixel.
    """
    out = cells.copy()
    for hole in components(~cells) or ():
        mask = hole.cells
        rows, cols = slice(hole.top, hole.bottom), slice(hole.x0, hole.x1)
        if max(mask.shape) * f >= _MIN_REGION_PX:  # smaller holes (counters, dots) are always text
            values = _cell_pixels(tile[hole.top * f:hole.bottom * f, hole.x0 * f:hole.x1 * f], mask, f)
            if not values.size or np.mean(np.abs(values.astype(np.int16) - round(fill)) <= 30) < _MIN_HOLE_FILL:
                continue
        out[rows, cols] |= mask
    return out


@dataclass(frozen=True, slots=True)
class _Located:
    """A region and its fill as a cell mask over its box (cells of the reduced copy, `f` px a side)."""

    region: DarkRegion
    cells: npt.NDArray[np.bool_]
    f: int


# Two dark areas of different tones that touch are measured apart: a photographed phone's portal header (fill 77)
# joined to the black bezel or desk around the screen (20) is one dark component, and not a flat one. The cells'
# background tones (the reduced copy's median over the vote window, so letters do not count) are split at their Otsu
# threshold when the two sides' medians are at least _MIN_TONE_GAP apart, and each side's components are measured.
_MIN_TONE_GAP = 40.0


def _locate(gray: Image.Image, split_found: bool = False) -> list[_Located]:
    """The light-on-dark regions of `gray` with their fill masks (see `find_dark_regions`). `split_found`: a region
    is split by tone too, and its parts are regions of their own (a dark-mode page is one region holding the rest)."""
    votes = _dark_votes(gray)
    dark = votes.share > 0.5
    if not dark.any() or dark.all():
        return []
    arr = np.asarray(gray)
    interior = erode(dark)  # cells whose 3×3 neighbourhood is dark: their pixels are clear of the region's edge
    found: list[_Located] = []
    tones: npt.NDArray[np.uint8] | None = None
    work = [(comp, interior, False) for comp in components(dark) or ()]
    while work and len(found) < _MAX_REGIONS:
        comp, inside, split = work.pop(0)
        if min(comp.bottom - comp.top, comp.x1 - comp.x0) * votes.f < _MIN_REGION_PX:
            continue
        located = _measure(comp, inside, arr, votes.f)
        if located is not None:
            found.append(located)
            if not split_found:
                continue
        if not split:
            if tones is None:
                tones = ndimage.median_filter(np.asarray(votes.small), size=2 * votes.radius + 1)
            work += [(part, erode(_placed(part, dark.shape)), True) for part in _split_by_tone(comp, tones)]
    return found


def _placed(comp: Component, shape: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    """`comp`'s cells as a mask over the whole cell grid."""
    out = np.zeros(shape, dtype=bool)
    out[comp.top:comp.bottom, comp.x0:comp.x1] = comp.cells
    return out


def _split_by_tone(comp: Component, tones: npt.NDArray[np.uint8]) -> list[Component]:
    """The components of `comp`'s darker and lighter cells, by background tone, when two tones are clearly there
    (`_MIN_TONE_GAP`); else none."""
    box = tones[comp.top:comp.bottom, comp.x0:comp.x1]
    values = box[comp.cells]
    if values.size < 2:
        return []
    t = otsu_threshold(values.astype(np.uint8))
    low, high = values[values <= t], values[values > t]
    if not low.size or not high.size or float(np.median(high)) - float(np.median(low)) < _MIN_TONE_GAP:
        return []
    parts: list[Component] = []
    for side in (comp.cells & (box <= t), comp.cells & (box > t)):
        for part in components(side) or ():
            parts.append(Component(comp.x0 + part.x0, comp.top + part.top, comp.x0 + part.x1, comp.top + part.bottom,
                                   part.cells))
    return parts


def _measure(comp: Component, interior: npt.NDArray[np.bool_], arr: npt.NDArray[np.uint8],
             f: int) -> _Located | None:
    """`comp` as a light-on-dark region when it is one: a flat fill holding a small share of much lighter pixels."""
    h, w = arr.shape
    cells = comp.cells
    inner = cells & interior[comp.top:comp.bottom, comp.x0:comp.x1]
    tile = arr[comp.top * f:comp.bottom * f, comp.x0 * f:comp.x1 * f]
    values = _cell_pixels(tile, inner, f)
    if values.size < _MIN_REGION_PX ** 2:
        return None
    fill = float(np.median(values))
    is_light = values > fill + _LIGHT_DELTA
    light = float(np.mean(is_light))
    darker = float(np.mean(values < fill - _LIGHT_DELTA))
    flat = float(np.mean(np.abs(values.astype(np.int16) - round(fill)) <= 30))
    filled: npt.NDArray[np.bool_] | None = None
    if light < _MIN_LIGHT_SHARE and flat >= _MIN_FLAT_SHARE and darker == 0.0:
        # Large bold lettering (the account name in a portal's coloured header) out-votes the fill in its cells,
        # so the eroded interior holds the fill only. Measure again with the text holes filled in.
        filled = _with_text_holes(cells, tile, fill, f)
        values = _cell_pixels(tile, filled & erode_inside(filled), f)
        is_light = values > fill + _LIGHT_DELTA
        light = float(np.mean(is_light))
        darker = float(np.mean(values < fill - _LIGHT_DELTA))
    if not (_MIN_LIGHT_SHARE <= light <= _MAX_LIGHT_SHARE and darker < light / 2 and flat >= _MIN_FLAT_SHARE):
        return None
    mask = filled if filled is not None else _with_text_holes(cells, tile, fill, f)
    x0, top, x1, bottom = comp.x0 * f, comp.top * f, min(comp.x1 * f, w), min(comp.bottom * f, h)
    region = DarkRegion(x0, top, x1, bottom, fill, float(np.median(values[is_light])), light,
                        avatar=is_avatar(x1 - x0, bottom - top, float(mask.mean()), w))
    return _Located(region, mask, f)


def is_avatar(width: int, height: int, fill_share: float, page_width: int) -> bool:
    """Whether a light-on-dark region of this box and fill share is an initials avatar.

    Its initials are no text of the document (the name is printed beside it), and tesseract reads the big letters
    into the line beside them: "DB sp, Faapmr" for the avatar and "MD, FAAPMR". Erased, the line reads clean."""
    return (_AVATAR_ASPECT[0] <= width / max(height, 1) <= _AVATAR_ASPECT[1]
            and width <= _AVATAR_MAX_WIDTH * page_width and fill_share <= _AVATAR_MAX_FILL)


def find_dark_regions(gray: Image.Image) -> tuple[DarkRegion, ...]:
    """Regions of a light grayscale page whose local background is a dark, flat fill holding light text.

    A region must be at least _MIN_REGION_PX thick, mostly flat fill, and inside it (one cell in from its edge, out
    of reach of antialiasing and of the page around it) a small share of pixels must be much lighter than the fill
    and few much darker. A scanner's black margin or a dark desk around a photographed page holds no light pixels,
    and the dark blobs that bold letters on paper leave are thin and far from flat: neither is a region.
    """
    return tuple(located.region for located in _locate(gray))


def invert_dark_regions(gray: Image.Image) -> tuple[Image.Image, tuple[DarkRegion, ...]]:
    """`gray` with every light-on-dark region (`find_dark_regions`) inverted, so all text is dark on light.

    The inversion is also a stretch, fill → white and text tone → black: a plain negative leaves the fill mid-grey
    (a 74 blue bar becomes 181), and tesseract's global Otsu threshold then turns the whole bar, text and all, into
    one black block on a 240 page. Pixels do not move, so boxes need no mapping.

    Only a region's fill and the text on it are inverted: the page around a rounded button and a light shape inside
    a bar (an avatar disc) keep their tone. The fill's cell mask is upsampled bilinearly; where it is neither 0 nor 1
    (within a cell of the mask's edge) a pixel is on the fill when its own tone is the fill's, which puts the cut on
    the true edge to the pixel. Returns the input image itself when there is nothing to invert.
    """
    found = _locate(gray)
    if not found:
        return gray, ()
    out = np.asarray(gray).copy()
    h, w = out.shape
    for located in found:
        r, f = located.region, located.f
        if r.avatar:
            _erase(out, r, pad=f + 2)
            continue
        # One more cell on every side (inside the image): the fill's true edge may lie in the first cell outside.
        pad_t, pad_l = min(1, r.top // f), min(1, r.x0 // f)
        pad_b, pad_r = int(r.bottom + f <= h), int(r.x1 + f <= w)
        cells = np.pad(located.cells.astype(np.float32), ((pad_t, pad_b), (pad_l, pad_r)))
        top, x0 = r.top - pad_t * f, r.x0 - pad_l * f
        bottom, x1 = min(top + cells.shape[0] * f, h), min(x0 + cells.shape[1] * f, w)
        # Cell centres sit at (i + 0.5) * f px; resize(box=...) maps pixel centres to cell coordinates the same way.
        weight = np.asarray(Image.fromarray(cells).resize((x1 - x0, bottom - top), Image.Resampling.BILINEAR,
                                                          box=(0, 0, (x1 - x0) / f, (bottom - top) / f)))
        tile = out[top:bottom, x0:x1]
        edge = (weight > 0.01) & (weight < 0.99)
        flip = np.where(edge, np.abs(tile.astype(np.int16) - round(r.fill)) <= 30, weight >= 0.99)
        span = max(r.text - r.fill, 1.0)
        tile[flip] = np.clip((r.text - tile[flip]) * (255.0 / span), 0, 255).astype(np.uint8)
    return Image.fromarray(out, "L"), tuple(located.region for located in found)



def erase_avatars(gray: Image.Image) -> tuple[Image.Image, tuple[DarkRegion, ...]]:
    """`gray` with every initials avatar erased and nothing else changed, for a dark-mode page before its inversion.

    On a dark page an avatar is a mid-tone disc with light initials, light-on-dark only until the page is inverted:
    after it, the disc is a grey ring round big black letters, which tesseract reads into the name beside it
    ("Mathilde Thibodeaux,⏎(Will) MD, FAAPMR"; fresh varied seeds 11700-12299, train_11992). The disc and the page
    around it are one dark component, measured apart by tone (`_split_by_tone`). Returns the input image itself
    when there is no avatar."""
    avatars = [located for located in _locate(gray, split_found=True) if located.region.avatar]
    if not avatars:
        return gray, ()
    out = np.asarray(gray).copy()
    for located in avatars:
        _erase(out, located.region, pad=located.f + 2)
    return Image.fromarray(out, "L"), tuple(located.region for located in avatars)


def _erase(out: npt.NDArray[np.uint8], r: DarkRegion, pad: int) -> None:
    """Paint an avatar's box in the tone of the page around it; `pad` px more on every side (the box is found on the
    vote grid, so the disc's edge and its antialiasing may lie up to a cell outside it)."""
    h, w = out.shape
    top, bottom = max(r.top - pad, 0), min(r.bottom + pad, h)
    x0, x1 = max(r.x0 - pad, 0), min(r.x1 + pad, w)
    rt, rb = max(top - _AVATAR_RING_PX, 0), min(bottom + _AVATAR_RING_PX, h)
    rx0, rx1 = max(x0 - _AVATAR_RING_PX, 0), min(x1 + _AVATAR_RING_PX, w)
    ring = np.ones((rb - rt, rx1 - rx0), dtype=bool)
    ring[top - rt:bottom - rt, x0 - rx0:x1 - rx0] = False
    around = out[rt:rb, rx0:rx1][ring]
    out[top:bottom, x0:x1] = np.uint8(np.median(around)) if around.size else np.uint8(255)
