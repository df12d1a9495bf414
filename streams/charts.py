"""Trend charts of the care-team board as inline SVG, drawn on the server (no script, no CDN).

A chart is the hourly means of one vital sign over a window (24 h or 7 days) with the patient's
personal resting baseline as a band (mean ± 2 SD, the range the deviation detector treats as
usual) — the way early-warning trend charts put the observation beside its reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT, PAD = 480, 140, 28


@dataclass(frozen=True)
class Band:
    mean: float
    sd: float

    @property
    def low(self) -> float:
        return self.mean - 2 * self.sd

    @property
    def high(self) -> float:
        return self.mean + 2 * self.sd


def chart_svg(title: str, unit: str, points: list[tuple[float, float]], band: Band | None,
              start: float, end: float) -> str:  # fmt: skip
    """An SVG line chart of ``points`` (time, value) between ``start`` and ``end``.

    >>> svg = chart_svg("heart rate", "bpm", [(0, 60), (3600, 90)], Band(70, 5), 0, 7200)
    >>> svg.count("<polyline"), "baseline 60-80" in svg, "<title>" in svg
    (1, True, True)
    >>> "no readings" in chart_svg("SpO2", "%", [], None, 0, 3600)
    True
    """
    label = f"{escape(title)} ({escape(unit)})"
    head = (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{label}</title>')  # fmt: skip
    if not points:
        return (head + f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">{label}: '
                "no readings in this window</text></svg>")  # fmt: skip
    values = [v for _, v in points]
    low, high = min(values), max(values)
    if band is not None:
        low, high = min(low, band.low), max(high, band.high)
    margin = max((high - low) * 0.1, 1.0)
    low, high = low - margin, high + margin
    span = max(end - start, 1.0)

    def x(t: float) -> float:
        return PAD + (t - start) / span * (WIDTH - 2 * PAD)

    def y(v: float) -> float:
        return HEIGHT - PAD + (low - v) / (high - low) * (HEIGHT - 2 * PAD)

    parts = [head, f'<text x="{PAD}" y="14" class="chart-title">{label}</text>']
    if band is not None:
        top, bottom = y(band.high), y(band.low)
        parts.append(f'<rect class="band" x="{PAD}" y="{top:.1f}" width="{WIDTH - 2 * PAD}" '
                     f'height="{bottom - top:.1f}"><title>personal baseline {band.low:.0f}-'
                     f"{band.high:.0f} {escape(unit)}</title></rect>")  # fmt: skip
        parts.append(f'<text x="{WIDTH - PAD}" y="{top - 3:.1f}" text-anchor="end" class="band-'
                     f'label">baseline {band.low:.0f}-{band.high:.0f}</text>')  # fmt: skip
    line = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
    parts.append(f'<polyline class="series" fill="none" points="{line}"/>')
    parts += [f'<circle class="point" cx="{x(t):.1f}" cy="{y(v):.1f}" r="2.5"><title>{v:g}</title>'
              "</circle>" for t, v in points]  # fmt: skip
    for tick in (low + margin, high - margin):
        parts.append(f'<text x="2" y="{y(tick) + 4:.1f}" class="tick">{tick:.0f}</text>')
    parts.append("</svg>")
    return "".join(parts)
