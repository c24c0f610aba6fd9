"""Small, dependency-free SVG charts a marketer can paste into a slide.

Only what the campaign charts need: a frame with a title, a y axis for shares (0-100%),
labelled x positions, bars, error bars, a marker line and text. Every text is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 900, 480
LEFT, RIGHT, TOP, BOTTOM = 70, 30, 60, 70
FONT = "font-family='Helvetica, Arial, sans-serif'"
BLUE, GREY, RED, INK = "#2f6fb0", "#b8c2cc", "#c0392b", "#222"


@dataclass
class Canvas:
    """A plot area mapping x in [x_min, x_max] and y in [0, y_max] to pixels."""

    title: str
    x_min: float
    x_max: float
    y_max: float
    parts: list[str] = field(default_factory=list)

    def x(self, value: float) -> float:
        span = (self.x_max - self.x_min) or 1
        return LEFT + (value - self.x_min) / span * (WIDTH - LEFT - RIGHT)

    def y(self, value: float) -> float:
        return HEIGHT - BOTTOM - value / (self.y_max or 1) * (HEIGHT - TOP - BOTTOM)

    def text(
        self,
        x: float,
        y: float,
        words: str,
        *,
        size: int = 12,
        anchor: str = "middle",
        colour: str = INK,
        bold: bool = False,
    ) -> None:
        weight = " font-weight='bold'" if bold else ""
        self.parts.append(
            f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}' "
            f"fill='{colour}' {FONT}{weight}>{escape(words)}</text>"
        )

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        *,
        colour: str = INK,
        width: float = 1,
        dashed: bool = False,
    ) -> None:
        dash = " stroke-dasharray='6 4'" if dashed else ""
        self.parts.append(
            f"<line x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}' "
            f"stroke='{colour}' stroke-width='{width}'{dash}/>"
        )

    def bar(self, x_left: float, x_right: float, value: float, colour: str) -> None:
        top, bottom = self.y(value), self.y(0)
        self.parts.append(
            f"<rect x='{x_left:.1f}' y='{top:.1f}' width='{max(x_right - x_left, 0.5):.1f}' "
            f"height='{max(bottom - top, 0):.1f}' fill='{colour}'/>"
        )

    def error_bar(self, x: float, low: float, high: float) -> None:
        self.line(x, self.y(low), x, self.y(high), width=1.5)
        for end in (low, high):
            self.line(x - 5, self.y(end), x + 5, self.y(end), width=1.5)

    def share_axis(self, label: str) -> None:
        """Horizontal grid lines and labels at round percentages up to ``y_max``."""
        step = _step(self.y_max)
        tick = 0.0
        while tick <= self.y_max + 1e-9:
            self.line(LEFT, self.y(tick), WIDTH - RIGHT, self.y(tick), colour="#e5e8eb")
            self.text(LEFT - 8, self.y(tick) + 4, f"{tick:.0%}", size=11, anchor="end")
            tick += step
        self.line(LEFT, self.y(0), WIDTH - RIGHT, self.y(0))
        self.text(18, (TOP + HEIGHT - BOTTOM) / 2, label, size=12)

    def render(self) -> str:
        head = (
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}' "
            f"viewBox='0 0 {WIDTH} {HEIGHT}'>"
            f"<rect width='{WIDTH}' height='{HEIGHT}' fill='white'/>"
        )
        title = (
            f"<text x='{WIDTH / 2:.0f}' y='32' font-size='18' text-anchor='middle' "
            f"fill='{INK}' {FONT} font-weight='bold'>{escape(self.title)}</text>"
        )
        return head + title + "".join(self.parts) + "</svg>\n"


def _step(top: float) -> float:
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25):
        if top / step <= 8:
            return step
    return 0.25


def nice_top(value: float) -> float:
    """A round upper bound for a share axis (at least 5%)."""
    step = _step(max(value, 0.05))
    return max(step * (int(value / step) + 1), 0.05)
