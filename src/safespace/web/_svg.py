"""A small server-side SVG renderer for the console's charts: columns per day (stacked or side
by side) and horizontal bars. No script, no external asset, no inline style (the console's
CSP allows none): shapes carry presentation attributes only. Each chart is an ``img`` with
its own ``<title>`` and ``<desc>``; the page puts a data table beside it for anyone who
cannot see it. Every text is escaped here, so the page may insert the result as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["PALETTE", "bar_rows", "columns_by_day"]

# Okabe and Ito's colour-blind-safe palette (black left out: it is the axis colour).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#999999")

_W, _H = 720, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 12, 12, 64


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _nice_max(value: float) -> float:
    """A round upper bound for the axis (1, 2, 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 1.0
    while power * 10 <= value:
        power *= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _open(chart_id: str, title: str, desc: str, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{_e(chart_id)}" class="chart" '
        f'viewBox="0 0 {_W} {height}" role="img" '
        f'aria-labelledby="{_e(chart_id)}-title {_e(chart_id)}-desc">',
        f'<title id="{_e(chart_id)}-title">{_e(title)}</title>',
        f'<desc id="{_e(chart_id)}-desc">{_e(desc)}</desc>',
    ]


def _legend(names: Sequence[str], y: int) -> list[str]:
    out, x = [], _LEFT
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 14}" y="{y}" font-size="11" fill="#222">{_e(name)}</text>')
        x += 24 + 7 * len(name)
        if x > _W - 80:
            break
    return out


def columns_by_day(
    chart_id: str,
    title: str,
    desc: str,
    days: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    stacked: bool = True,
) -> str:
    """One column (stacked) or one group of thin columns (side by side) per day."""
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    n = max(1, len(days))
    if stacked:
        tallest = max((sum(v[i] for _, v in series) for i in range(len(days))), default=0)
    else:
        tallest = max((max(v, default=0) for _, v in series), default=0)
    top = _nice_max(float(tallest))
    out = _open(chart_id, title, desc, _H)
    base = _TOP + plot_h
    for frac in (0.0, 0.5, 1.0):  # gridlines with their values
        y = base - frac * plot_h
        label = f"{top * frac:g}"
        out.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_W - _RIGHT}" y2="{y:.1f}" '
            f'stroke="#ccc" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#222">{_e(label)}</text>'
        )
    slot = plot_w / n
    width = slot * 0.8
    for i, day in enumerate(days):
        x0 = _LEFT + i * slot + slot * 0.1
        y = float(base)
        for k, (name, values) in enumerate(series):
            value = values[i] if i < len(values) else 0
            if value <= 0:
                continue
            h = plot_h * value / top
            colour = PALETTE[k % len(PALETTE)]
            if stacked:
                x, w, y = x0, width, y - h
            else:
                w = width / max(1, len(series))
                x, y = x0 + k * w, base - h
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{_e(day)}: {_e(name)} {value}</title></rect>'
            )
        if (n - 1 - i) % 7 == 0:  # the last day, and every seventh day back from it
            out.append(
                f'<text x="{x0 + width / 2:.1f}" y="{base + 16}" font-size="11" '
                f'text-anchor="middle" fill="#222">{_e(day[5:])}</text>'
            )
    out.append(
        f'<line x1="{_LEFT}" y1="{base}" x2="{_W - _RIGHT}" y2="{base}" '
        f'stroke="#222" stroke-width="1"/>'
    )
    out += _legend([name for name, _ in series], _H - 16)
    out.append("</svg>")
    return "".join(out)


def bar_rows(
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[tuple[str, float, str]],
    *,
    maximum: float = 1.0,
) -> str:
    """One horizontal bar per row: ``(label, value, the value as text)``."""
    row_h = 26
    height = _TOP + row_h * max(1, len(rows)) + 8
    label_w = 200
    plot_w = _W - label_w - 80
    out = _open(chart_id, title, desc, height)
    top = maximum if maximum > 0 else 1.0
    for i, (label, value, text) in enumerate(rows):
        y = _TOP + i * row_h
        w = plot_w * min(max(value, 0.0), top) / top
        short = label if len(label) <= 28 else label[:27] + "…"
        out.append(
            f'<text x="{label_w - 8}" y="{y + 16}" font-size="12" text-anchor="end" '
            f'fill="#222">{_e(short)}</text>'
        )
        out.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
            f'fill="{PALETTE[3] if value >= 0.5 * top else PALETTE[0]}">'
            f"<title>{_e(label)}: {_e(text)}</title></rect>"
        )
        out.append(
            f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" font-size="12" '
            f'fill="#222">{_e(text)}</text>'
        )
    out.append("</svg>")
    return "".join(out)
