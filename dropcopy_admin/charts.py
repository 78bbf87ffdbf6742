"""Charts of the dashboards: SVG drawn on the server by pygal, shown as an image.

pygal's SVG carries its own ``<style>`` element, which the pages' Content-Security-Policy
(``style-src 'self'``) would block inline; so a chart is an ``<img>`` whose source is the SVG as a
``data:`` URL (``img-src`` allows ``data:``). An SVG shown as an image runs no script and loads
nothing; pygal's JavaScript is off anyway (``js=[]``). Every chart's numbers are also in a table
on the page, for screen readers and for copying.
"""

import base64
import sys
from collections.abc import Iterable, Sequence

import pygal
from pygal.style import Style

# pygal adds a finder for its map plugins (unused here) to ``sys.meta_path``; it only has the
# ``find_module`` that Python 3.4 replaced, so every later import would warn (ImportWarning).
sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"]

BLUE, RED, GREEN = "#0b5cad", "#b42318", "#1a7f37"
STYLE_OPTIONS = dict(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1f2328",
    foreground_strong="#1f2328",
    foreground_subtle="#57606a",
    colors=(BLUE, RED, GREEN, "#8250df", "#9a6700"),
    font_family="sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=13,
    title_font_size=15,
    value_font_size=12,
)


def _config(colors: Sequence[str] | None = None, **options) -> dict:
    style = Style(**{**STYLE_OPTIONS, **({"colors": tuple(colors)} if colors else {})})
    return {
        "js": [],  # no pygal script: the page's policy runs none, and an image runs none either
        "style": style,
        "width": 640,
        "height": 300,
        "disable_xml_declaration": True,
        "show_legend": False,
        "print_values": False,
        "margin": 12,
        **options,
    }


def data_url(chart) -> str:
    svg = chart.render()
    svg = svg.encode("utf-8") if isinstance(svg, str) else svg
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def bars(
    *,
    title: str,
    labels: Sequence[str],
    series: Iterable[tuple[str, Sequence[float | None]]],
    horizontal: bool = False,
    stacked: bool = False,
    y_title: str = "",
    percent: bool = False,
    height: int = 300,
    colors: Sequence[str] | None = None,
) -> str:
    """A bar chart of ``series`` (name, values; ``None`` for no bar) over ``labels``, as a ``data:``
    URL for an ``<img>``. Stacked, series that never share a label colour their bars apart."""
    kinds = {
        (False, False): pygal.Bar,
        (True, False): pygal.HorizontalBar,
        (False, True): pygal.StackedBar,
        (True, True): pygal.HorizontalStackedBar,
    }
    kind = kinds[horizontal, stacked]
    series = list(series)
    options = _config(
        colors,
        title=title,
        height=height,
        show_legend=len(series) > 1,
        legend_at_bottom=True,
        x_label_rotation=0 if horizontal else 30,
        y_title=y_title or None,
    )
    if percent:
        options.update(range=(0, 100), value_formatter=lambda value: f"{value:.0f} %")
    chart = kind(**options)
    chart.x_labels = list(labels)
    for name, values in series:
        chart.add(name, [None if value is None else float(value) for value in values])
    return data_url(chart)
