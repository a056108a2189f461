"""Phone photos: the page (or the screen) found as a quadrilateral on its background and warped to an upright
rectangle, with the exact homography back to the photo's pixels.

How (numpy/scipy only, on a copy reduced to ~`_WORK_PX` on its long side):

1. Background model: a quadratic surface per colour channel fitted to a band along the image's border (a phone
   photo's table or wall, lit unevenly). A pixel clearly farther from that model than the border band's own noise is
   "not background" (a screen's dark bezel on a brown desk included, so the whole device is one region).
2. The largest connected region of that mask, holes filled (the text on the page is far from the page tone).
3. Its four corners: the extremes of its convex hull along the diagonals, refined to the hull quadrilateral of
   largest area; then each side is re-fitted as a straight line through the region's outline between its corners
   (rounded phone corners and jagged mask edges do not move the lines), and the corners are the lines' crossings.
4. Accepted only when it is clearly a photographed sheet or screen (`_accept`): the quadrilateral covers a good part
   of the image (but not all of it), the region fills it (a solid sheet, not a drawn box outline), the border band is
   one background surface nearly all round (not a screenshot's bars and sidebars), no side runs along the frame,
   the background carries almost no detail (a table, not a page with text outside a box), and it is not an
   axis-aligned rectangle (a screenshot's card, a rendered page's shaded panel: pixel-aligned by nature).
   Screenshots, scans and rendered pages therefore come back untouched.

The warp uses PIL's PERSPECTIVE transform, whose coefficients are exactly the output→source homography, so word
boxes map back to the photo through `Homography` (docs/ARCHITECTURE.md "Phone photos of paper and screens").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from extractors.imaging.geometry import Affine, Homography

Array = npt.NDArray[Any]

_WORK_PX = 640  # the copy the search runs on is at most this long (an integer reduction)
_MIN_SIDE_PX = 400  # smaller images are not photos worth flattening
_BORDER_SHARE = 0.02  # width of the border band the background is modelled on (share of the short side)
_CORNER_SLACK = 0.03  # a corner may fall this far (share of the short side) outside the frame
_MIN_AREA = 0.25  # the quadrilateral covers at least this share of the image ...
_MAX_AREA = 0.97  # ... and leaves background round it
_MIN_SOLID = 0.75  # share of the quadrilateral the raw (unfilled) region covers
_MIN_IOU = 0.92  # filled region vs quadrilateral: the region is a quadrilateral
_MAX_BORDER_TOUCH = 0.05  # share of the image's border the region may touch
_FRAME_EDGE = 0.015  # share of the short side: a side this close to an image edge along its length is the frame's
_MIN_TILT_DEG = 0.5  # an edge this far from the axes (or corners this far from square) makes it a photo
_EDGE_BAND = 0.04  # the quadrilateral grown and shrunk by this share to compare detail outside and inside it
_MAX_OUTSIDE_DETAIL = 0.35  # edge density outside the quadrilateral vs inside: a table, not more text
_MIN_BACKGROUND_BORDER = 0.85  # share of the border band that must fit the background model
_BEZEL_DARK = 60.0  # grey level under which a pixel may be the bezel ...
_BEZEL_SHARE = 0.97  # ... and the share of a row or column that must be, for it to be trimmed ...
_MAX_BEZEL = 0.12  # ... up to this share of the side from each edge
_MIN_LEVEL = 12.0  # colour distance from the background model that counts as "not background" at least ...
_LEVEL_PER_NOISE = 4.0  # ... and this many times the border band's median distance (its noise; robust to a
#                        corner of the page poking into the band)


def flatten_perspective(image: Image.Image) -> tuple[Image.Image, Homography | None, str | None]:
    """`image` with a photographed page or screen warped upright, the map back and the step taken; or `image`
    unchanged, None, None when no clear quadrilateral is found."""
    corners = find_quadrilateral(image)
    if corners is None:
        return image, None, None
    (tl, tr, br, bl) = corners
    width = round(max(_dist(tl, tr), _dist(bl, br)))
    height = round(max(_dist(tl, bl), _dist(tr, br)))
    back = Homography.from_points(((0, 0), (width, 0), (width, height), (0, height)), corners)
    source = image if image.mode in ("RGB", "L") else image.convert("RGB")
    out = source.transform((width, height), Image.Transform.PERSPECTIVE, back.coefficients(),
                           resample=Image.Resampling.BICUBIC)
    box = _inside_bezel(out)
    if box is not None:
        out = out.crop(box)
        back = back.then(Affine(c=float(box[0]), f=float(box[1])))
    return out, back, f"flattened photo perspective ({_area(corners) / (image.width * image.height):.0%} of the image)"


def _inside_bezel(flat: Image.Image) -> tuple[int, int, int, int] | None:
    """The box inside a dark frame round the flattened image (a screen's bezel), or None when there is none.

    Rows and columns are trimmed from each edge while nearly all their pixels are dark, at most `_MAX_BEZEL` of the
    side: left in, the frame is one dark region round the whole page, and inverting it (`invert_dark_regions`) turns
    the page itself light-on-dark. A dark-mode screen loses only its empty margins: the trim stops at the first text.
    """
    grey = np.asarray(flat.convert("L").reduce(2), dtype=np.float32)
    dark = grey < _BEZEL_DARK
    rows, cols = dark.mean(axis=1) > _BEZEL_SHARE, dark.mean(axis=0) > _BEZEL_SHARE
    h, w = grey.shape

    def run(flags: Array, limit: int) -> int:
        n = 0
        while n < limit and flags[n]:
            n += 1
        return n

    top, bottom = run(rows, int(h * _MAX_BEZEL)), run(rows[::-1], int(h * _MAX_BEZEL))
    left, right = run(cols, int(w * _MAX_BEZEL)), run(cols[::-1], int(w * _MAX_BEZEL))
    if top + bottom + left + right == 0:
        return None
    return 2 * left, 2 * top, flat.width - 2 * right, flat.height - 2 * bottom


def find_quadrilateral(image: Image.Image) -> tuple[tuple[float, float], ...] | None:
    """The corners (top-left, top-right, bottom-right, bottom-left, in the image's pixels) of a photographed page or
    screen, or None."""
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P") or min(image.size) < _MIN_SIDE_PX:
        return None
    small = image if image.mode in ("RGB", "L") else image.convert("RGB")
    step = math.ceil(max(image.size) / _WORK_PX)
    if step > 1:
        small = small.reduce(step)  # box average, before the colour conversion: the cheap way down
    small = small.convert("RGB")
    a = np.asarray(small, dtype=np.float32)
    mask, raw = _foreground(a)
    if mask is None or raw is None:
        return None
    quad = _corners(mask)
    if quad is None or not _accept(a, mask, raw, quad):
        return None
    sx, sy = image.width / small.width, image.height / small.height
    return tuple((x * sx, y * sy) for x, y in quad)


def _foreground(a: Array) -> tuple[Array | None, Array | None]:
    """The filled largest region that is not background, and the raw (unfilled) mask; (None, None) if none."""
    h, w = a.shape[:2]
    band = max(2, round(min(h, w) * _BORDER_SHARE))
    border = np.zeros((h, w), dtype=bool)
    border[:band, :] = border[-band:, :] = border[:, :band] = border[:, -band:] = True
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xn, yn = xx / w - 0.5, yy / h - 0.5
    terms = (np.ones_like(xn), xn, yn, xn * xn, yn * yn, xn * yn)  # light falling off across the table
    fit = border
    for _ in range(3):  # refitted on the band's background pixels only: a page corner in the band must not bend it
        design = np.stack([t[fit] for t in terms], axis=1)
        dist2 = np.zeros((h, w), dtype=np.float32)
        coef, *_ = np.linalg.lstsq(design, a[fit], rcond=None)  # one column of coefficients per channel
        for c in range(3):
            dist2 += (a[..., c] - sum(k * t for k, t in zip(coef[:, c], terms, strict=True))) ** 2
        dist = np.sqrt(dist2)
        level = max(_MIN_LEVEL, _LEVEL_PER_NOISE * float(np.median(dist[fit])))
        fit = border & (dist <= level)
        if not fit.any():
            return None, None
    if fit.sum() < _MIN_BACKGROUND_BORDER * border.sum():  # not one surface all round: a screenshot's bars
        return None, None
    fg, bg = dist[dist > level], dist[dist <= level]
    if fg.size == 0 or bg.size == 0:
        return None, None
    raw = ndimage.binary_opening(dist > level, iterations=1)
    labels, count = ndimage.label(raw)
    if count == 0:
        return None, None
    sizes = ndimage.sum_labels(raw, labels, index=np.arange(1, count + 1))
    region = labels == (int(np.argmax(sizes)) + 1)
    filled = ndimage.binary_fill_holes(ndimage.binary_closing(region, iterations=2))
    return filled, region


def _corners(mask: Array) -> list[tuple[float, float]] | None:
    """The region's four corners (tl, tr, br, bl): hull quadrilateral of largest area, sides re-fitted as lines."""
    outline = mask & ~ndimage.binary_erosion(mask)
    outline[0, :] = outline[-1, :] = outline[:, 0] = outline[:, -1] = False  # the frame's edge is not the page's
    ys, xs = np.nonzero(outline)
    if xs.size < 20:
        return None
    pts = np.stack([xs + 0.5, ys + 0.5], axis=1).astype(np.float64)
    try:
        hull = pts[ConvexHull(pts).vertices]
    except QhullError:
        return None
    picks = [int(np.argmax(hull @ np.array(d, dtype=np.float64))) for d in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    for _ in range(4):  # each corner moved along the hull while the quadrilateral grows
        changed = False
        for i in range(4):
            best, best_area = picks[i], _area([tuple(hull[p]) for p in picks])
            for cand in range(len(hull)):
                trial = picks.copy()
                trial[i] = cand
                area = _area([tuple(hull[p]) for p in trial])
                if area > best_area + 1e-6:
                    best, best_area = cand, area
            if best != picks[i]:
                picks[i], changed = best, True
        if not changed:
            break
    rough = [hull[p] for p in picks]
    lines = []
    for i in range(4):
        p, q = rough[i], rough[(i + 1) % 4]
        line = _fit_side(pts, p, q)
        if line is None:
            return None
        lines.append(line)
    corners = []
    for i in range(4):
        c = _cross(lines[i - 1], lines[i])
        if c is None:
            return None
        corners.append(c)
    return corners


def _fit_side(pts: Array, p: Array, q: Array) -> tuple[Array, float] | None:
    """A line (unit normal n, offset d: n·x = d) fitted to the outline points near segment p→q, away from its ends."""
    seg = q - p
    length = float(np.hypot(*seg))
    if length < 10:
        return None
    t = ((pts - p) @ seg) / length ** 2
    normal = np.array([-seg[1], seg[0]]) / length
    off = (pts - p) @ normal
    near = (t > 0.12) & (t < 0.88) & (np.abs(off) < max(3.0, 0.03 * length))
    sel = pts[near]
    if sel.shape[0] < 10:
        return None
    centre = sel.mean(axis=0)
    _, _, vt = np.linalg.svd(sel - centre, full_matrices=False)
    n = vt[1]
    return n, float(n @ centre)


def _cross(l1: tuple[Array, float], l2: tuple[Array, float]) -> tuple[float, float] | None:
    """Where two lines n·x = d cross (None when nearly parallel)."""
    m = np.array([l1[0], l2[0]])
    if abs(float(np.linalg.det(m))) < 1e-6:
        return None
    x, y = np.linalg.solve(m, np.array([l1[1], l2[1]]))
    return float(x), float(y)


def _accept(a: Array, mask: Array, raw: Array, quad: list[tuple[float, float]]) -> bool:
    """True when the quadrilateral is clearly a photographed sheet or screen (module docstring, step 4)."""
    h, w = mask.shape
    slack = _CORNER_SLACK * min(h, w)
    if any(not (-slack <= x <= w + slack and -slack <= y <= h + slack) for x, y in quad) or not _convex(quad):
        return False
    if _along_frame(quad, h, w):
        return False
    area = _area(quad)
    if not (_MIN_AREA <= area / (w * h) <= _MAX_AREA):
        return False
    inside = _polygon_mask(quad, h, w)
    if float((raw & inside).sum()) < _MIN_SOLID * float(inside.sum()):
        return False
    iou = float((mask & inside).sum()) / max(1.0, float((mask | inside).sum()))
    if iou < _MIN_IOU:
        return False
    edge = np.concatenate([mask[0, :], mask[-1, :], mask[:, 0], mask[:, -1]])
    if float(edge.mean()) > _MAX_BORDER_TOUCH:
        return False
    if _tilt(quad) < _MIN_TILT_DEG:
        return False
    grey = a.mean(axis=2)
    grad = np.hypot(ndimage.sobel(grey, axis=0), ndimage.sobel(grey, axis=1))
    strong = grad > 120.0
    ring = _polygon_mask(_scaled(quad, 1.0 + _EDGE_BAND), h, w)  # the sheet's edge and shadow left out
    core = _polygon_mask(_scaled(quad, 1.0 - _EDGE_BAND), h, w)
    outside = ~ring
    if outside.sum() == 0 or core.sum() == 0:
        return False
    return float(strong[outside].mean()) <= _MAX_OUTSIDE_DETAIL * max(float(strong[core].mean()), 1e-3)


def _along_frame(quad: list[tuple[float, float]], h: int, w: int) -> bool:
    """True when a side of the quadrilateral runs along an edge of the image (both ends within `_FRAME_EDGE` of it):
    the region is cut by the frame, so that side is not the page's."""
    near = _FRAME_EDGE * min(h, w)
    for i in range(4):
        (x0, y0), (x1, y1) = quad[i], quad[(i + 1) % 4]
        for a, b, limit in ((x0, x1, 0.0), (x0, x1, float(w)), (y0, y1, 0.0), (y0, y1, float(h))):
            if abs(a - limit) < near and abs(b - limit) < near:
                return True
    return False


def _scaled(quad: list[tuple[float, float]], factor: float) -> list[tuple[float, float]]:
    """The quadrilateral grown (factor > 1) or shrunk about its centroid."""
    cx, cy = sum(x for x, _ in quad) / 4, sum(y for _, y in quad) / 4
    return [(cx + (x - cx) * factor, cy + (y - cy) * factor) for x, y in quad]


def _tilt(quad: list[tuple[float, float]]) -> float:
    """Degrees the quadrilateral is off an axis-aligned rectangle: its sides' largest angle from the nearest axis."""
    worst = 0.0
    for i in range(4):
        (x0, y0), (x1, y1) = quad[i], quad[(i + 1) % 4]
        ang = math.degrees(math.atan2(y1 - y0, x1 - x0)) % 90.0
        worst = max(worst, min(ang, 90.0 - ang))
    return worst


def _convex(quad: list[tuple[float, float]]) -> bool:
    """True when the corners make a convex quadrilateral, clockwise in image coordinates."""
    signs = []
    for i in range(4):
        (x0, y0), (x1, y1), (x2, y2) = quad[i], quad[(i + 1) % 4], quad[(i + 2) % 4]
        signs.append((x1 - x0) * (y2 - y1) - (y1 - y0) * (x2 - x1))
    return all(s > 0 for s in signs)


def _polygon_mask(quad: list[tuple[float, float]], h: int, w: int) -> Array:
    """Pixels whose centres lie inside a convex clockwise quadrilateral."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    inside = np.ones((h, w), dtype=bool)
    for i in range(4):
        (x0, y0), (x1, y1) = quad[i], quad[(i + 1) % 4]
        inside &= (x1 - x0) * (yy - y0) - (y1 - y0) * (xx - x0) >= 0
    return inside


def _area(quad: list[tuple[float, float]] | tuple[tuple[float, float], ...]) -> float:
    """Shoelace area of a polygon."""
    s = 0.0
    for i in range(len(quad)):
        (x0, y0), (x1, y1) = quad[i], quad[(i + 1) % len(quad)]
        s += x0 * y1 - x1 * y0
    return abs(s) / 2.0


def _dist(p: tuple[float, float], q: tuple[float, float]) -> float:
    return math.hypot(p[0] - q[0], p[1] - q[1])
