"""Reports of a run, built from its run directory alone (the manifest deffe_run.json, the tables, the store):

* ``deffe_report.xlsx``  every table of the run in one workbook (xlsx.py)
* ``report_*.png``        the front, progress, predicted against true, learning curves, knob importance,
                          memory timelines (plots.py)
* ``deffe_report.html``   one self-contained page with the summary, the front as a sortable table and the
                          plots (html.py)

``run_deffe.py -report RUN_DIR`` rebuilds them without evaluating anything (`build_reports_cli`); a run
builds them at its end (`reports_after_run`).
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from ..errors import DeffeError
from ..run_data import load_run
from .content import explorations

__all__ = ["build_reports", "build_reports_cli", "reports_after_run"]


def build_reports(run_dir: str | os.PathLike, warn=None) -> dict[str, Path]:
    """Write every report of the run in ``run_dir`` into it; {name: path}: "xlsx", "html", and each plot
    by its file name without .png. A directory that is not a run raises DeffeError. What the reader should
    know of the data (evaluations shown from the run store) goes to ``warn`` (default: stderr)."""
    from .html import NAME as HTML, write_html
    from .plots import write_plots
    from .xlsx import NAME as XLSX, write_xlsx
    run = load_run(run_dir)
    for note in run.warnings:
        (warn or (lambda text: print(text, file=sys.stderr)))(f"warning: {note}")
    explored = explorations(run)
    try:
        plots = write_plots(run, explored)
        out = {"xlsx": write_xlsx(run, explored, run.run_dir / XLSX)}
        out["html"] = write_html(run, explored, plots, run.run_dir / HTML)
    except OSError as e:   # a full disk, a read-only run directory, a directory or a broken link in the way
        raise _unwritable(run.run_dir, e) from None
    return {**out, **plots}


def _unwritable(run_dir: Path, e: OSError) -> DeffeError:
    """A report that cannot be written, named by its file, with the way on: what is in its place (a directory,
    a link to nowhere) is no matter of free space."""
    what = e.strerror or str(e)
    if not getattr(e, "filename", None):
        return DeffeError(f"cannot write the reports ({what})", file=str(run_dir), hint=_SPACE)
    path = Path(e.filename)
    name = path.name
    if path.is_dir() and not path.is_symlink():   # (a link to a directory: its target is what is in the way)
        return DeffeError(f"cannot write {name}: a directory is in the place of this file ({what})",
                          file=str(path), hint="move the directory aside: the report is written in its place")
    if path.is_symlink() and (path.is_dir() or not path.exists()):
        target = os.readlink(path)
        where = "a directory" if path.is_dir() else "nothing that can be written"
        return DeffeError(f"cannot write {name}: it is a link to {target}, {where} ({what})", file=str(path),
                          hint="remove the link (or make it point to a file that can be written): the report "
                               "is written in its place")
    return DeffeError(f"cannot write {name} ({what})", file=str(path), hint=_SPACE)


_SPACE = "free some space, or copy the run directory somewhere writable and give the copy to -report (a run " \
         "directory describes itself)"


def build_reports_cli(run_dir: str | os.PathLike, quiet: bool = False) -> int:
    """``run_deffe.py -report RUN_DIR``: rebuild the reports, print their paths (not with -quiet: warnings
    only); exit status 0."""
    paths = build_reports(run_dir)
    if not quiet:
        for path in paths.values():
            print(path)
    return 0


def reports_after_run(run_dir: str | os.PathLike, log: logging.Logger | None = None) -> dict[str, Path]:
    """The reports at the end of a run (framework.report_files): a report that cannot be built is a
    warning, never the run's failure — every result is stored, and ``-report`` builds them again later."""
    log = log or logging.getLogger("deffe")
    try:
        paths = build_reports(run_dir, log.warning)
    except Exception as e:  # noqa: BLE001 - the run's results are safe whatever a plot does
        log.warning(f"warning: reports not written: {e}; run_deffe.py -report {run_dir} tries again")
        log.debug("report failure", exc_info=sys.exc_info())
        return {}
    log.info(f"reports: {paths['html']}, {paths['xlsx'].name} and {len(paths) - 2} plot(s) in the run directory")
    return paths
