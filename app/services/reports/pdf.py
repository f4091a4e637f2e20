"""The monthly report as an A4 PDF, with ReportLab.

Why ReportLab and not WeasyPrint: ReportLab is pure Python on PyPI (a wheel, no system
library), so the app server and CI need nothing beyond pip; WeasyPrint needs Pango,
HarfBuzz and fontconfig from the system, which every machine would have to install.
The Chinese font is embedded (subset) from a TrueType collection on the machine:
``REPORT_PDF_FONT`` (default ``/usr/share/fonts/truetype/wqy/wqy-microhei.ttc``, Debian's
``fonts-wqy-microhei``, which CI installs). Charts are drawn with ReportLab's own
graphics (vectors, the same numbers as the tables under them).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from flask_babel import gettext as _
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from app.models import choices as c
from app.services.reports.content import ReportContent
from app.validation import format_yuan

FONT_NAME = "YijiaCJK"
DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
PALETTE = [
    colors.HexColor(h)
    for h in ("#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452")
]


class FontMissing(RuntimeError):
    """The Chinese font for PDFs is not on this machine."""


def register_font(path: str | None) -> None:
    path = path or DEFAULT_FONT
    if not Path(path).is_file():
        raise FontMissing(
            f"the Chinese font for PDF reports is missing: {path} (install fonts-wqy-microhei "
            "or set REPORT_PDF_FONT to a TrueType font with Chinese glyphs)"
        )
    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return  # registered once per process (the first path configured wins)
    options = {"subfontIndex": 0} if path.lower().endswith(".ttc") else {}
    pdfmetrics.registerFont(TTFont(FONT_NAME, path, **options))


def _text(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, Decimal):
        return format_yuan(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _bar_chart(categories, series, names, width=170 * mm, height=62 * mm) -> Drawing:
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 14 * mm, 14 * mm
    chart.width, chart.height = width - 60 * mm, height - 22 * mm
    chart.data = [tuple(float(v or 0) for v in s) for s in series] or [(0,)]
    chart.categoryAxis.categoryNames = [str(x)[:8] for x in categories] or [""]
    chart.categoryAxis.labels.fontName = FONT_NAME
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = FONT_NAME
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    top = max([max(s) for s in chart.data if s] + [1])
    chart.valueAxis.valueMax = top * 1.15
    chart.categoryAxis.style = "stacked" if len(series) > 2 else "parallel"
    for i in range(len(chart.data)):
        chart.bars[i].fillColor = PALETTE[i % len(PALETTE)]
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 44 * mm, height - 6 * mm
    legend.fontName, legend.fontSize = FONT_NAME, 7
    legend.alignment = "right"
    legend.colorNamePairs = [(PALETTE[i % len(PALETTE)], str(n)[:14]) for i, n in enumerate(names)]
    drawing.add(legend)
    return drawing


def _chart(kind: str, content: ReportContent):
    board = content.board
    if kind == "households":
        return _bar_chart(
            [r.name for r in board.areas],
            [
                [r.households - r.helping - r.closed for r in board.areas],
                [r.helping for r in board.areas],
                [r.closed for r in board.areas],
            ],
            [
                c.label(c.HOUSEHOLD_STATUSES, "registered"),
                c.label(c.HOUSEHOLD_STATUSES, "helping"),
                c.label(c.HOUSEHOLD_STATUSES, "closed"),
            ],
        )
    if kind == "intake":
        return _bar_chart(
            [str(label) for _v, label in c.INTAKE_CHANNELS],
            [[board.channel_total(v) for v, _l in c.INTAKE_CHANNELS]],
            [_("New cases")],
        )
    if kind == "needs":
        statuses = [(v, label) for v, label in c.NEED_STATUSES if v != "withdrawn"]
        return _bar_chart(
            [str(label) for _d, label in c.NEED_DIMENSIONS],
            [[board.needs[d].get(v, 0) for d, _l in c.NEED_DIMENSIONS] for v, _l in statuses],
            [str(label) for _v, label in statuses],
        )
    if kind == "money":
        months = board.months
        zero = (Decimal("0"), Decimal("0"))
        return _bar_chart(
            months,
            [
                [board.money.get(m, zero)[0] for m in months],
                [board.money.get(m, zero)[1] for m in months],
            ],
            [_("Money in"), _("Money out")],
        )
    return None


def write_pdf(content: ReportContent, path: Path, *, font_path: str | None = None) -> None:
    register_font(font_path)
    base = ParagraphStyle("base", fontName=FONT_NAME, fontSize=9, leading=13)
    title = ParagraphStyle("title", parent=base, fontSize=16, leading=22, spaceAfter=6)
    heading = ParagraphStyle("heading", parent=base, fontSize=12, leading=18, spaceBefore=8)
    note = ParagraphStyle("note", parent=base, fontSize=8, textColor=colors.HexColor("#555555"))
    cell = ParagraphStyle("cell", parent=base, fontSize=7.5, leading=10)

    story = [Paragraph(content.title, title)]
    for section in content.sections:
        block = [Paragraph(section.title, heading)]
        if section.chart:
            drawing = _chart(section.chart, content)
            if drawing is not None:
                block.append(drawing)
        story.append(KeepTogether(block))
        for table in section.tables:
            data = [[Paragraph(str(h), cell) for h in table.headers]]
            for row in table.rows:
                data.append([Paragraph(_text(v), cell) for v in row])
            grid = Table(data, repeatRows=1, hAlign="LEFT")
            grid.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#999999")),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf5")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            story += [Spacer(1, 2 * mm), grid]
        if section.note:
            story += [Spacer(1, 1.5 * mm), Paragraph(section.note, note)]

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(FONT_NAME, 7)
        canvas.drawString(15 * mm, 10 * mm, content.title)
        canvas.drawRightString(195 * mm, 10 * mm, str(doc.page))
        canvas.restoreState()

    document = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=content.title,
        author="瑶海益家",
    )
    document.build(story, onFirstPage=footer, onLaterPages=footer)
