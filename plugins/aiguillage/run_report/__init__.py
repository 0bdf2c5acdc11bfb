"""The daily run report, in French for the Département's staff: what ran, what came in, what was
built, what the quality gate found, what each agency received, the alerts sent and how long each
task took. A day that stops before the extracts gets one too (aiguillage.failed_day).

``collect`` gathers it (read-only), ``write`` stores it as ``<outbox>/_runs/<day>/run_report.json``
and ``run_report.html`` (one self-contained page), ``render`` gives the HTML alone.
"""

from aiguillage.run_report.collect import collect
from aiguillage.run_report.render import render
from aiguillage.run_report.store import html_path, report_dir, write

__all__ = ["collect", "html_path", "render", "report_dir", "write"]
