"""Portal screenshots drawn with Pillow: a phone app (light or dark) and a desktop web page."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from .layouts import Screen
from .paper import font, wrap


@dataclass(frozen=True)
class Theme:
    bg: tuple[int, int, int]
    card: tuple[int, int, int]
    text: tuple[int, int, int]
    muted: tuple[int, int, int]
    brand: tuple[int, int, int]
    line: tuple[int, int, int]


LIGHT = Theme((242, 244, 247), (255, 255, 255), (25, 28, 33), (96, 102, 112), (0, 94, 162), (222, 226, 232))
DARK = Theme((14, 15, 17), (30, 32, 36), (236, 238, 241), (160, 166, 175), (24, 40, 64), (58, 62, 70))


def _initials(name: str) -> str:
    parts = [p for p in name.replace(",", " ").split() if p[0].isalpha()]
    return (parts[0][0] + parts[-1][0]).upper() if parts else "?"


def phone_image(screen: Screen, theme: Theme) -> Image.Image:
    """A 1170x2532 (iPhone, 3x) portal screenshot: status bar, app bar with account holder, cards, tab bar."""
    w, h, m = 1170, 2532, 42
    img = Image.new("RGB", (w, h), theme.bg)
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, w, 420), fill=theme.brand)
    d.text((80, 48), "9:41", font=font("sans", True, 46), fill=(255, 255, 255))
    d.rounded_rectangle((w - 160, 58, w - 80, 94), 8, outline=(255, 255, 255), width=4)
    d.rectangle((w - 154, 64, w - 100, 88), fill=(255, 255, 255))
    d.text((w // 2, 190), screen.app, font=font("sans", True, 60), fill=(255, 255, 255), anchor="mm")
    d.ellipse((m, 280, m + 100, 380), fill=(255, 255, 255))
    d.text((m + 50, 330), _initials(screen.account), font=font("sans", True, 40), fill=theme.brand, anchor="mm")
    d.text((m + 130, 300), screen.account, font=font("sans", True, 46), fill=(255, 255, 255))
    d.text((m, 470), screen.page_title, font=font("sans", True, 62), fill=theme.text)
    y = 580
    title_f, row_f, sub_f = font("sans", True, 48), font("sans", False, 44), font("sans", False, 38)
    for card in screen.cards:
        body: list[tuple[str, ImageFont.FreeTypeFont, tuple[int, int, int]]] = []
        for primary, secondary in card.rows:
            body += [(t, row_f, theme.text) for t in wrap(primary, row_f, w - 4 * m)]
            if secondary:
                body += [(t, sub_f, theme.muted) for t in wrap(secondary, sub_f, w - 4 * m)]
            body.append(("", sub_f, theme.muted))
        height = 110 + sum(58 if f is row_f else 50 for _, f, _ in body)
        if y + height > h - 230:
            raise ValueError(f"card {card.title!r} does not fit the phone screen")
        d.rounded_rectangle((m, y, w - m, y + height), 28, fill=theme.card, outline=theme.line, width=2)
        d.text((2 * m, y + 36), card.title, font=title_f, fill=theme.text)
        yy = y + 110
        for t, f, col in body:
            d.text((2 * m, yy), t, font=f, fill=col)
            yy += 58 if f is row_f else 50
        y += height + 36
    d.rectangle((0, h - 200, w, h), fill=theme.card)
    d.line((0, h - 200, w, h - 200), fill=theme.line, width=2)
    for i, label in enumerate(("Home", "Messages", "Visits", "Menu")):
        d.text(((i + 0.5) * w / 4, h - 110), label, font=font("sans", False, 34), fill=theme.muted, anchor="mm")
    return img


def desktop_image(screen: Screen, px: int) -> Image.Image:
    """A 1920x1080 portal page (light): top bar with the account name, left navigation, two columns of cards."""
    w, h, t = 1920, 1080, LIGHT
    img = Image.new("RGB", (w, h), t.bg)
    d = ImageDraw.Draw(img)
    bar = int(px * 4)
    d.rectangle((0, 0, w, bar), fill=t.brand)
    d.text((32, bar // 2), screen.app, font=font("sans", True, px * 1.6), fill=(255, 255, 255), anchor="lm")
    d.text((w - 32, bar // 2), f"Welcome, {screen.account}   |   Log out", font=font("sans", False, px),
           fill=(255, 255, 255), anchor="rm")
    nav_w = 280
    d.rectangle((0, bar, nav_w, h), fill=(255, 255, 255))
    for i, item in enumerate(("Home", "Messages", "Test Results", "Visits", "Health Summary", "Medications",
                              "Billing", "Share My Record")):
        y = bar + 24 + i * px * 2.6
        if item == screen.page_title:
            d.rectangle((0, y - px * 0.6, nav_w, y + px * 1.8), fill=(228, 238, 248))
        d.text((32, y), item, font=font("sans", item == screen.page_title, px), fill=t.text)
    x0 = nav_w + 40
    d.text((x0, bar + 28), screen.page_title, font=font("sans", True, px * 1.9), fill=t.text)
    col_w = (w - x0 - 40 - 30) // 2
    ys = [bar + 28 + int(px * 3.6)] * 2
    title_f, row_f, sub_f = font("sans", True, px * 1.2), font("sans", False, px), font("sans", False, px * 0.95)
    for i, card in enumerate(screen.cards):
        col = i % 2
        x, y = x0 + col * (col_w + 30), ys[col]
        rows = [(p, s) for p, s in card.rows]
        height = int(px * 3.4 + len(rows) * px * 2.9)
        d.rounded_rectangle((x, y, x + col_w, y + height), 8, fill=t.card, outline=t.line, width=1)
        d.text((x + 20, y + px * 0.9), card.title, font=title_f, fill=t.text)
        yy = y + px * 3.0
        for primary, secondary in rows:
            d.text((x + 20, yy), primary, font=row_f, fill=t.text)
            if secondary:
                d.text((x + col_w - 20, yy), secondary, font=sub_f, fill=t.muted, anchor="ra")
            d.line((x + 20, yy + px * 2.0, x + col_w - 20, yy + px * 2.0), fill=t.line)
            yy += px * 2.9
        ys[col] = y + height + 24
        if ys[col] > h:
            raise ValueError(f"card {card.title!r} does not fit the desktop screen")
    return img
