"""Raster images: safe decoding of uploads into frames, and the small pure steps that prepare a frame for tesseract.

Every geometric step returns the new image together with an `Affine` that maps a point of the new image back to the
image it was made from, so OCR boxes can be carried back to the ORIGINAL pixels (and from there to points, in
`extractors.ocr.pixels_to_points`). Pixel coordinates are edge coordinates: (0, 0) is the top-left corner of the
top-left pixel, (w, h) the bottom-right corner of the image.

Modules: `decode` (uploads → frames under the caps), `geometry` (Affine, Homography, scaling), `prepare` (tone,
shading, ink, text size), `dark_regions` (light-on-dark regions inverted), `deskew` (quarter turns, skew) and
`perspective` (a photographed page or screen found and flattened; its map back is a `Homography`).
"""

from __future__ import annotations

from extractors.imaging.dark_regions import (
    DARK_REGION,
    DarkRegion,
    erase_avatars,
    find_dark_regions,
    invert_dark_regions,
)
from extractors.imaging.decode import SCREEN_DPI, Frame, check_size, iter_frames, open_frames, sane_dpi
from extractors.imaging.deskew import MAX_SKEW, MIN_SKEW, estimate_skew, rotate_quadrant, rotate_small
from extractors.imaging.geometry import IDENTITY, Affine, Homography, PointMap, scale
from extractors.imaging.perspective import find_quadrilateral, flatten_perspective
from extractors.imaging.prepare import (
    CAP_HEIGHT_TARGET_PX,
    CAP_PER_LINE,
    DARK_BACKGROUND,
    DARKEST_SHADE,
    MAX_UPSCALE,
    MIN_UPSCALE,
    background_luminance,
    estimate_line_height,
    flatten_shading,
    ink_mask,
    ink_share,
    invert,
    is_dark_mode,
    stretch_contrast,
    to_grayscale,
    upscale_factor,
)
from extractors.imaging.ruling import erase_ruling_lines
from extractors.imaging.tones import otsu_threshold

__all__ = [
    "CAP_HEIGHT_TARGET_PX",
    "CAP_PER_LINE",
    "DARKEST_SHADE",
    "DARK_BACKGROUND",
    "DARK_REGION",
    "IDENTITY",
    "MAX_SKEW",
    "MAX_UPSCALE",
    "MIN_SKEW",
    "MIN_UPSCALE",
    "SCREEN_DPI",
    "Affine",
    "DarkRegion",
    "Frame",
    "Homography",
    "PointMap",
    "background_luminance",
    "check_size",
    "erase_ruling_lines",
    "estimate_line_height",
    "estimate_skew",
    "erase_avatars",
    "find_dark_regions",
    "find_quadrilateral",
    "flatten_perspective",
    "flatten_shading",
    "ink_mask",
    "ink_share",
    "invert",
    "invert_dark_regions",
    "is_dark_mode",
    "iter_frames",
    "open_frames",
    "otsu_threshold",
    "rotate_quadrant",
    "rotate_small",
    "sane_dpi",
    "scale",
    "stretch_contrast",
    "to_grayscale",
    "upscale_factor",
]
