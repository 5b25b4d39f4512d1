"""Plots and a self-contained HTML report of one simulated history.

>>> from colossus.report import build_figures, write_report     # doctest: +SKIP
>>> write_report(result, "runs/memphis/report.html")             # doctest: +SKIP

``figures`` builds plotly figures (also used by the web dashboard),
``tables`` the key numbers as display strings, ``html`` puts both in one file.
"""

from colossus.report.downsample import MAX_POINTS, bucket_last, bucket_mean
from colossus.report.figures import CAPTIONS, NAMES, ReportError, build_figures
from colossus.report.html import render_report, write_report
from colossus.report.tables import Table, headline, summary_tables

__all__ = [
    "CAPTIONS", "MAX_POINTS", "NAMES", "ReportError", "Table", "build_figures", "bucket_last", "bucket_mean",
    "headline", "render_report", "summary_tables", "write_report",
]
