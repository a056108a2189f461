"""OCR of one raster page: prepare the image (imaging.py), read it with an `OcrEngine`, map boxes back to points.

The engine is a seam: production uses `TesseractEngine`; tests inject failing or hanging engines through the same
`read_image(..., engine=...)` parameter. Engines raise only `OcrTimeout` / `OcrEngineError`; anything else they raise
is translated here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytesseract
from PIL import Image
from pytesseract import Output

from extractors import imaging
from extractors.imaging import IDENTITY, Affine, Homography, PointMap
from extractors.ocr_word import OcrWord
from extractors.script_reread import reread_names
from extractors.uncovered import reread_uncovered
from pipeline.errors import DocverifyError, OcrEngineError, OcrTimeout
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.types import BBox, Word

TESSERACT_CONFIG = "--oem 1 --psm 3"  # LSTM engine; automatic page segmentation without OSD
SCRIPT_MODEL = "Latin"  # models/tessdata/SOURCE.md: re-reads name lines for accented letters
SCRIPT_DIR = Path(__file__).resolve().parents[1] / "models" / "tessdata"
SCRIPT_CONFIG = f"--oem 1 --psm 6 --tessdata-dir {shlex.quote(str(SCRIPT_DIR))}"  # stacked lines: one uniform block
SCRIPT_MIN_SECONDS = 2.0  # a re-read is skipped when less of the page's OCR time is left
LINES_CONFIG = "--oem 1 --psm 6"  # the stacked lines the page read left without words: one uniform block
OSD_MIN_CONFIDENCE = 2.0  # tesseract's orientation confidence; below it we keep the page as it is
OSD_MIN_INK = 0.005  # share of ink pixels below which OSD is not even tried (it fails on sparse pages)
OSD_MAX_PIXELS = 4_000_000  # OSD reads a copy at most this big: enough for its 300-dpi-ish training, and cheap


@dataclass(frozen=True, slots=True)
class Orientation:
    """OSD result: turn the image clockwise by `rotate` degrees (0/90/180/270) to make it upright."""

    rotate: int
    confidence: float


class OcrEngine(Protocol):
    """What routing needs from an OCR engine. Both methods must honour `timeout` (seconds)."""

    def read(self, image: Image.Image, timeout: float) -> list[OcrWord]:
        """Words of an upright grayscale image. Raises OcrTimeout, OcrEngineError."""
        ...

    def orientation(self, image: Image.Image, timeout: float) -> Orientation | None:
        """Orientation of the image, or None when the engine cannot tell. Raises OcrTimeout, OcrEngineError."""
        ...


def words_from_tesseract(data: dict[str, list[Any]]) -> list[OcrWord]:
    """Words of a pytesseract `image_to_data(..., output_type=DICT)` result: conf ≥ 0 and non-blank text only."""
    out: list[OcrWord] = []
    for i, text in enumerate(data.get("text", [])):
        try:
            conf = float(data["conf"][i])
        except (TypeError, ValueError):
            continue
        text = str(text).strip()
        if conf < 0 or not text:
            continue
        out.append(OcrWord(text=text, left=int(data["left"][i]), top=int(data["top"][i]), width=int(data["width"][i]),
                           height=int(data["height"][i]), conf=conf, block=int(data["block_num"][i]),
                           par=int(data["par_num"][i]), line=int(data["line_num"][i])))
    return out


# "&" between lower-case letters, two or more on each side: English has no word like it, and it is how the English
# model reads "ß" ("Weißmann" read "Wei&mann"; "AT&T" and "R&D" are capitals, "b&w" single letters).
_AMPERSAND_IN_WORD = re.compile(r"(?<=[^\W\d_]{2})[&®](?=[a-zäöü]{2})")  # "Wei®mann" too (train_12280)


def eszett_for_ampersand(word: OcrWord) -> OcrWord:
    """`word` with an "&" or "®" that stands for "ß" between lower-case letters read back as "ß" (docs/ARCHITECTURE.md
    "Accented letters in names")."""
    if "&" not in word.text and "®" not in word.text:
        return word
    fixed = _AMPERSAND_IN_WORD.sub("ß", word.text)
    return word if fixed == word.text else dataclasses.replace(word, text=fixed)


# A field label glued to its value, with at most a speck of debris after the colon and no space ("Name:.Winslow,"):
# letters, a colon, specks, then a letter. Never a time ("10:15") or an address ("https://…": a slash is no speck).
_GLUED_LABEL = re.compile(r"^([^\W\d_][\w'’\-]*:)[.,'‘’`·]*([^\W\d_].*)$")


def split_glued_label(word: OcrWord) -> list[OcrWord]:
    """`word` as the label and the value it glued together, each with its share of the box (by characters), the
    debris between them dropped; `[word]` when it is not a glued label. Fresh seeds 9900-10499, train_10230: "Name:.
    Winslow, Richard" left the patient unlabelled for every finder."""
    glued = _GLUED_LABEL.match(word.text)
    if glued is None:
        return [word]
    label, value = glued.group(1), glued.group(2)
    per_char = word.width / len(word.text)
    label_width = max(1, round(per_char * len(label)))
    value_width = max(1, round(per_char * len(value)))
    return [dataclasses.replace(word, text=label, width=label_width),
            dataclasses.replace(word, text=value, left=word.left + word.width - value_width, width=value_width)]


def limit_tesseract_threads() -> None:
    """One OpenMP thread per tesseract process, unless the operator set OMP_THREAD_LIMIT.

    Tesseract's OpenMP threads thrash on 2 cores (12 pages: 76 s with the default, 7.9 s with one thread); parallelism
    belongs to the worker pool. Tesseract is a child program configured only through its environment, and pytesseract
    hands it this process's environment, so this is the one place docverify writes os.environ: when an engine is built
    and when a worker process starts, never at import."""
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")


class TesseractEngine:
    """The production engine: the tesseract binary through pytesseract, English, LSTM."""

    def __init__(self, lang: str = "eng", config: str = TESSERACT_CONFIG, script: str | None = SCRIPT_MODEL) -> None:
        limit_tesseract_threads()
        self.lang = lang
        self.config = config
        self.script = script  # re-reads the name lines (extractors/script_reread.py); None: no re-read

    def read(self, image: Image.Image, timeout: float) -> list[OcrWord]:
        """Words of `image`, with the lines the page segmentation left without words read on their own
        (extractors/uncovered.py) and the name lines' spellings re-read with the script model when it is installed.
        Raises OcrTimeout, OcrEngineError (only for the main read: the second reads are best effort)."""
        start = time.monotonic()
        words = self._read_english(image, self.config, timeout)
        remaining = timeout - (time.monotonic() - start)
        if remaining >= SCRIPT_MIN_SECONDS:
            with contextlib.suppress(OcrTimeout, OcrEngineError):  # the page read stands
                # lines the page segmentation dropped (extractors/uncovered.py)
                words = reread_uncovered(image, words,
                                         lambda lines: self._read_english(lines, LINES_CONFIG, remaining))
        if self.script is None or not has_language(self.script):
            return words
        remaining = timeout - (time.monotonic() - start)
        if remaining < SCRIPT_MIN_SECONDS:
            return words
        try:
            return reread_names(image, words, lambda strips: self._read(strips, self.script or "", SCRIPT_CONFIG,
                                                                         remaining))
        except (OcrTimeout, OcrEngineError):
            return words  # the English read stands

    def _read_english(self, image: Image.Image, config: str, timeout: float) -> list[OcrWord]:
        """The engine's read in its own language, with the fixes of that model's habits: labels glued to values split,
        "&" inside a word read as "ß"."""
        return [eszett_for_ampersand(part) for w in self._read(image, self.lang, config, timeout)
                for part in split_glued_label(w)]

    def _read(self, image: Image.Image, lang: str, config: str, timeout: float) -> list[OcrWord]:
        try:
            data = pytesseract.image_to_data(_uncompressed(image), lang=lang, config=config,
                                             output_type=Output.DICT, timeout=_positive(timeout))
        except RuntimeError as e:  # pytesseract kills the child, then raises RuntimeError('Tesseract process timeout')
            if "timeout" in str(e).lower():
                raise OcrTimeout(f"tesseract > {timeout:g} s on {image.width}x{image.height} px") from e
            raise OcrEngineError(f"tesseract runtime error on {image.width}x{image.height} px") from e
        except pytesseract.TesseractNotFoundError as e:
            raise OcrEngineError("tesseract binary not found") from e
        except pytesseract.TesseractError as e:
            raise OcrEngineError(f"tesseract exit status {e.status}") from e  # its stderr is not passed on
        return words_from_tesseract(data)

    def orientation(self, image: Image.Image, timeout: float) -> Orientation | None:
        """Tesseract OSD (--psm 0); None when it cannot tell (sparse pages). Raises OcrTimeout, OcrEngineError."""
        try:
            osd = pytesseract.image_to_osd(_uncompressed(image), config="--psm 0", output_type=Output.DICT,
                                           timeout=_positive(timeout))
        except RuntimeError as e:
            if "timeout" in str(e).lower():
                raise OcrTimeout(f"tesseract osd > {timeout:g} s on {image.width}x{image.height} px") from e
            return None
        except pytesseract.TesseractNotFoundError as e:
            raise OcrEngineError("tesseract binary not found") from e
        except (pytesseract.TesseractError, ValueError, KeyError):  # "Too few characters", unparsable output
            return None
        try:
            return Orientation(rotate=int(osd["rotate"]) % 360, confidence=float(osd["orientation_conf"]))
        except (KeyError, TypeError, ValueError):
            return None


@functools.cache
def has_language(lang: str) -> bool:
    """True when the bundled tessdata folder (models/tessdata) holds the traineddata of `lang`."""
    return (SCRIPT_DIR / f"{lang}.traineddata").is_file()


def _positive(timeout: float) -> float:
    """pytesseract treats 0 as "no timeout"; we never want that."""
    return max(float(timeout), 0.001)


def _uncompressed(image: Image.Image) -> Image.Image:
    """The image tagged for an uncompressed temp file: pytesseract writes PNG by default (~0.15 s per letter page)."""
    image.format = "BMP"
    return image


# --------------------------------------------------------------------------------------------------------------------
# Coordinates: the ONE place where pixels become points.
# --------------------------------------------------------------------------------------------------------------------

def pixels_to_points(x0: float, top: float, x1: float, bottom: float, dpi_x: float, dpi_y: float) -> BBox:
    """A pixel box (edge coordinates, top-left origin) of the ORIGINAL image → the same box in points.

    1 pt = 1/72 in, so pt = px * 72 / dpi. `dpi` is the image's own resolution (or the 96-dpi screenshot guess,
    see imaging.SCREEN_DPI), or 72 * scale for a PDF page rendered at `scale`. Both frames have their origin at the
    top-left with y downwards, so no flip is needed. This is the only pixel → point conversion in the project.
    """
    sx, sy = 72.0 / dpi_x, 72.0 / dpi_y
    return BBox(min(x0, x1) * sx, min(top, bottom) * sy, max(x0, x1) * sx, max(top, bottom) * sy)


def _clip(box: BBox, page_w: float, page_h: float) -> BBox:
    """`box` clipped to the page (a deskewed word near an edge can map slightly outside it)."""
    return BBox(min(max(box.x0, 0.0), page_w), min(max(box.top, 0.0), page_h), min(max(box.x1, 0.0), page_w),
                min(max(box.bottom, 0.0), page_h))


def to_page_words(raw: list[OcrWord], to_original: PointMap, dpi_x: float, dpi_y: float, page_w: float,
                  page_h: float) -> tuple[Word, ...]:
    """Engine words → page `Word`s: lines numbered top→bottom by (block, par, line), words left→right in each line.

    Order is decided in the prepared (upright) image; boxes are mapped back through `to_original` to the original
    pixels and then to points.
    """
    lines: dict[tuple[int, int, int], list[OcrWord]] = {}
    for w in raw:
        lines.setdefault((w.block, w.par, w.line), []).append(w)
    ordered = sorted(lines.values(), key=lambda ws: (min(w.top for w in ws), min(w.left for w in ws)))
    out: list[Word] = []
    for index, line_words in enumerate(ordered):
        for w in sorted(line_words, key=lambda w: w.left):
            box = pixels_to_points(*to_original.map_box(w.left, w.top, w.left + w.width, w.top + w.height),
                                   dpi_x, dpi_y)
            out.append(Word(text=w.text, bbox=_clip(box, page_w, page_h), line=index,
                            confidence=min(max(w.conf / 100.0, 0.0), 1.0)))
    return tuple(out)


# --------------------------------------------------------------------------------------------------------------------
# One page
# --------------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Prepared:
    """An image ready for the engine, the map from its pixels back to the original's, and what was done to it."""

    image: Image.Image
    to_original: PointMap
    steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OcrResult:
    """Words of one page in points, the preparation steps applied (for Page.reason) and the page size."""

    words: tuple[Word, ...]
    steps: tuple[str, ...]
    width: float  # points
    height: float  # points


def prepare(image: Image.Image, engine: OcrEngine, limits: Limits = DEFAULT_LIMITS) -> Prepared:
    """Grayscale → dark-mode inversion → contrast stretch → local inversion of dark bars → OSD rotation → deskew →
    upscale. Raises OcrTimeout, OcrEngineError (from the engine's OSD)."""
    gray, steps = _cleaned(image)
    gray, to_original, turned = _oriented(gray, engine, limits)
    return _finished(gray, to_original, steps + turned, limits)


def _cleaned(image: Image.Image) -> tuple[Image.Image, tuple[str, ...]]:
    """The page in grey, dark text on light: the preparation steps before orientation (pixels do not move)."""
    steps: list[str] = []
    gray = imaging.to_grayscale(image)
    if imaging.is_dark_mode(gray):
        # Initials avatars first: light-on-dark only before the inversion (imaging.erase_avatars).
        gray, avatars = imaging.erase_avatars(gray)
        if avatars:
            steps.append(f"erased {len(avatars)} avatar{'s' if len(avatars) > 1 else ''}")
        gray = imaging.invert(gray)
        steps.append("inverted dark mode")
    stretched = imaging.stretch_contrast(gray)
    if stretched is not None:
        gray = stretched
        steps.append("contrast stretched")
    # Light text on the dark bars and buttons of a light page, after the stretch so that its decision still sees the
    # page as uploaded (a whitened bar must not turn a crisp screenshot into a "dim photo"). Pixels do not move.
    gray, regions = imaging.invert_dark_regions(gray)
    if regions:
        steps.append(f"inverted {len(regions)} dark region{'s' if len(regions) > 1 else ''}")
    # Dark text on grey table cells and bands: tesseract's global threshold and layout analysis drop such cells whole
    # (the "Patient" label of a shaded header column). After the inversion, so inverted bars are paper by now.
    gray, shaded = imaging.flatten_shading(gray)
    if shaded:
        steps.append(f"flattened shading ({shaded:.0%} of the page)")
    return gray, tuple(steps)


def _oriented(gray: Image.Image, engine: OcrEngine, limits: Limits) -> tuple[Image.Image, Affine, tuple[str, ...]]:
    """The page turned upright by the engine's OSD (when it is sure), the map back, and the step taken."""
    if imaging.ink_share(gray) < OSD_MIN_INK:
        return gray, IDENTITY, ()
    probe = gray
    if gray.width * gray.height > OSD_MAX_PIXELS:
        probe, _ = imaging.scale(gray, (OSD_MAX_PIXELS / (gray.width * gray.height)) ** 0.5)
    found = _guarded(engine.orientation, probe, limits.ocr_timeout_s)
    if found is not None and found.rotate in (90, 180, 270) and found.confidence >= OSD_MIN_CONFIDENCE:
        turned, back = imaging.rotate_quadrant(gray, found.rotate)
        return turned, back, (f"rotated {found.rotate}° (osd confidence {found.confidence:.1f})",)
    return gray, IDENTITY, ()


def _finished(gray: Image.Image, to_original: PointMap, steps: tuple[str, ...], limits: Limits) -> Prepared:
    """Deskew, ruling lines erased, upscale: the preparation steps after orientation."""
    out = list(steps)
    angle = imaging.estimate_skew(gray)
    if angle:
        gray, back = imaging.rotate_small(gray, angle)
        to_original = to_original.then(back)
        out.append(f"deskewed {angle:.1f}°")
    ink = imaging.ink_mask(gray)  # one mask for both: the line height and the ruling lines
    line_height = imaging.estimate_line_height(gray, ink)
    gray, ruled = imaging.erase_ruling_lines(gray, line_height, ink)
    if ruled:
        out.append(f"erased {ruled} ruling line{'s' if ruled > 1 else ''}")
        line_height = imaging.estimate_line_height(gray)  # the rules made bands of inked rows taller than text
    factor = imaging.upscale_factor(line_height, gray.width, gray.height, limits.max_pixels)
    if factor > 1.0:
        gray, back = imaging.scale(gray, factor)
        to_original = to_original.then(back)
        out.append(f"upscaled x{factor:.1f}")
    return Prepared(gray, to_original, tuple(out))


# A read this good shows the page upright, so tesseract's OSD (a second pass over the page, ~1.2-1.6 s on a 200-dpi
# letter scan: as much as the read itself; benchmarks/README.md "bench_pages.py") is not asked. A page turned 90° or
# 180° reads as a few low-confidence fragments, far below both marks.
UPRIGHT_MIN_WORDS = 20
UPRIGHT_MIN_MEDIAN_CONF = 70.0  # tesseract's 0..100 word confidence


def reads_upright(raw: list[OcrWord]) -> bool:
    """True when a read of the page as it is already shows upright text: enough words, read confidently."""
    if len(raw) < UPRIGHT_MIN_WORDS:
        return False
    confs = sorted(w.conf for w in raw)
    return confs[len(confs) // 2] >= UPRIGHT_MIN_MEDIAN_CONF


def read_image(image: Image.Image, dpi_x: float, dpi_y: float, engine: OcrEngine,
               limits: Limits = DEFAULT_LIMITS) -> OcrResult:
    """OCR one page image whose pixels are `dpi_x` × `dpi_y` per inch. Raises OcrTimeout, OcrEngineError.

    Orientation is found cheaply: the page is read as it is first; only when that read does not look upright
    (`reads_upright`) is the engine's OSD asked, and the page read again if OSD turns it."""
    # A phone photo of paper or a screen is flattened first (docs/ARCHITECTURE.md "Phone photos of paper and
    # screens"); `flat` maps the flattened pixels back to the photo's.
    square, to_square_source, squared = _square_pixels(image, dpi_x, dpi_y, limits)
    flattened, back, step = imaging.flatten_perspective(square)
    flat: PointMap = to_square_source if back is None else back if squared is None else _compose(to_square_source, back)
    gray, steps = _cleaned(flattened)
    steps = tuple(s for s in (squared, step) if s) + steps
    prepared = _finished(gray, flat, steps, limits)
    raw = _guarded(engine.read, prepared.image, limits.ocr_timeout_s)
    if not reads_upright(raw):
        turned, to_original, rotated = _oriented(gray, engine, limits)
        if rotated:
            prepared = _finished(turned, flat.then(to_original), steps + rotated, limits)
            raw = _guarded(engine.read, prepared.image, limits.ocr_timeout_s)
    page = pixels_to_points(0, 0, image.width, image.height, dpi_x, dpi_y)
    words = to_page_words(raw, prepared.to_original, dpi_x, dpi_y, page.x1, page.bottom)
    return OcrResult(words, prepared.steps, page.x1, page.bottom)


SQUARE_MIN_RATIO = 1.2  # pixels this much taller than wide (or wider than tall) are resampled square before OCR
SQUARE_MAX_STRETCH = 4.0


def _square_pixels(image: Image.Image, dpi_x: float, dpi_y: float,
                   limits: Limits) -> tuple[Image.Image, Affine, str | None]:
    """`image` resampled to square pixels when its resolution differs by axis (a fax in normal mode is 200 × 100 dpi:
    every glyph half as tall as it should be, which tesseract reads as garbage), the map back, and the step taken.
    The stretch is capped at 4x and by `limits.max_pixels`; square pixels are returned as they are."""
    ratio = dpi_x / dpi_y
    if 1.0 / SQUARE_MIN_RATIO <= ratio <= SQUARE_MIN_RATIO:
        return image, IDENTITY, None
    stretch = min(max(ratio, 1.0 / ratio), SQUARE_MAX_STRETCH)
    size = (image.width, round(image.height * stretch)) if ratio > 1 else (round(image.width * stretch), image.height)
    if size[0] * size[1] > limits.max_pixels:
        return image, IDENTITY, None
    source = image if image.mode in ("L", "RGB") else image.convert("L")
    out = source.resize(size, Image.Resampling.LANCZOS)
    return out, Affine(a=image.width / size[0], e=image.height / size[1]), \
        f"resampled to square pixels ({dpi_x:.0f} x {dpi_y:.0f} dpi)"


def _compose(outer: Affine, inner: PointMap) -> PointMap:
    """The map through `inner` (newest step), then `outer`."""
    if isinstance(inner, Affine):
        return outer.then(inner)
    return Homography((outer.a, outer.b, outer.c, outer.d, outer.e, outer.f, 0.0, 0.0, 1.0)).then(inner)


def _guarded(call: Any, image: Image.Image, timeout: float) -> Any:
    """Call an engine method, translating whatever a third-party engine raises into our two OCR errors."""
    try:
        return call(image, timeout)
    except DocverifyError:
        raise
    except (subprocess.TimeoutExpired, TimeoutError) as e:
        raise OcrTimeout(f"engine > {timeout:g} s on {image.width}x{image.height} px") from e
    except Exception as e:  # an engine bug must fail the page as an engine error, not crash the flow
        raise OcrEngineError(f"engine raised {type(e).__name__}") from e
