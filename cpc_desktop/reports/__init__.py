"""Disaggregated statistics of a period, small-cell protection, and their PDF/CSV exports.

No Qt. The window and the CLI call the same functions:

    report = build_report(vault, ReportRequest(start, end, shelter), purpose="screen")
    pdf_bytes = render_pdf(build_report(vault, request, purpose="export"), lang="es")
    write_csv(export_report, path)            # a zip, one UTF-8 (BOM) CSV per table
    charts = chart_specs(report, tr)           # what each chart draws
    drawing = chart_drawing(spec, width)       # reportlab Drawing (the PDF uses it)
    svg = chart_svg(spec, width)               # SVG bytes (QSvgRenderer shows them)
"""
from .charts import ChartSpec, chart_drawing, chart_of, chart_specs, chart_svg
from .compute import ReportData, build_report, check_request, load, protect, shown
from .csv_export import csv_files, table_csv, write_csv
from .model import (
                    FULL_COUNT_ROLES,
                    Cell,
                    Column,
                    Label,
                    Report,
                    ReportError,
                    ReportRequest,
                    Row,
                    Table,
)
from .pdf import render_pdf, write_pdf

__all__ = ["FULL_COUNT_ROLES", "Cell", "ChartSpec", "Column", "Label", "Report", "ReportData",
           "ReportError", "ReportRequest", "Row", "Table", "build_report", "chart_drawing",
           "chart_of", "chart_specs", "chart_svg", "check_request", "csv_files", "load",
           "protect", "render_pdf", "shown", "table_csv", "write_csv", "write_pdf"]
