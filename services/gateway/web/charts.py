"""Charts drawn on the server as inline SVG (no script, no chart library, nothing fetched): the
geometry here, the markup in `templates/charts.html`. Each chart has a title and a description
for screen readers, and the page shows the same numbers in a table under it (the accessible form).

    bars([("上辛堡村", 68.2), ("下辛堡村", None)])   -> horizontal bars, one per row, 0-100 %
    trend([("2026-01", 60.0), ("2026-02", 61.5)])  -> a line over the months, 0-100 %
"""

from __future__ import annotations

WIDTH = 640
LABEL = 170        # room for a village's name left of its bar
BAR = 18
GAP = 8
TOP, BOTTOM = 10, 26


def _scale(values: list[float | None]) -> float:
    """The axis' top: 100 for rates, unless one is higher (a 建档率 over 100 % when the 常住人口 is old)."""
    top = max([v for v in values if v is not None] + [100.0])
    return float(((int(top) + 9) // 10) * 10)


def bars(rows: list[tuple[str, float | None]]) -> dict:
    values = [v for _, v in rows]
    top = _scale(values)
    plot = WIDTH - LABEL - 60
    height = TOP + len(rows) * (BAR + GAP) + BOTTOM
    items = []
    for i, (label, value) in enumerate(rows):
        y = TOP + i * (BAR + GAP)
        w = 0 if value is None else plot * value / top
        items.append({"label": label, "value": value, "y": y, "w": round(w, 1), "text_y": y + BAR - 4,
                      "text": "无数据" if value is None else f"{value:.1f}%", "value_x": round(LABEL + w + 6, 1)})
    ticks = [{"x": round(LABEL + plot * t / top, 1), "label": f"{t:g}%"} for t in (0, top / 2, top)]
    return {"width": WIDTH, "height": height, "label_x": LABEL - 6, "x0": LABEL, "bar": BAR, "items": items,
            "ticks": ticks, "axis_y": height - BOTTOM + 4}


def trend(points: list[tuple[str, float | None]]) -> dict:
    values = [v for _, v in points]
    top = _scale(values)
    left, right, height = 50, 20, 220
    plot_w, plot_h = WIDTH - left - right, height - TOP - BOTTOM - 10
    step = plot_w / max(len(points) - 1, 1)
    dots = []
    for i, (label, value) in enumerate(points):
        x = left + step * i if len(points) > 1 else left + plot_w / 2
        y = None if value is None else TOP + plot_h * (1 - value / top)
        dots.append({"label": label, "value": value, "x": round(x, 1), "y": None if y is None else round(y, 1),
                     "text": "无数据" if value is None else f"{value:.1f}%"})
    line = " ".join(f"{d['x']},{d['y']}" for d in dots if d["y"] is not None)
    grid = [{"y": round(TOP + plot_h * (1 - t / top), 1), "label": f"{t:g}%"} for t in (0, top / 2, top)]
    return {"width": WIDTH, "height": height, "left": left, "right": WIDTH - right, "dots": dots, "line": line,
            "grid": grid, "label_y": TOP + plot_h + 18, "every": max(1, len(points) // 12)}
