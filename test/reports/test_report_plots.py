"""The report's plots (report_*.png): which exist for which run, and that each is a real picture."""
import json
import shutil
import struct
import zlib

from framework.reports import build_reports
from framework.run_data import MANIFEST, load_run


def assert_png(path, least_bytes=8000):
    """A whole PNG of a real size: signature, a correct IHDR, the IEND chunk last."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    ihdr = data[16:29]
    assert struct.unpack(">I", data[29:33])[0] == zlib.crc32(b"IHDR" + ihdr)
    width, height = struct.unpack(">II", ihdr[:8])
    assert width >= 400 and height >= 250, (path, width, height)
    assert data[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82", path
    assert len(data) >= least_bytes, (path, len(data))


def test_one_objective_run(minimal_run):
    for kind in ("progress", "predicted", "learning", "knob_importance"):
        assert_png(minimal_run / f"report_{kind}.png")
    # one objective: no front to draw (the best-so-far curve is the progress plot); no timeline files
    assert not (minimal_run / "report_front.png").exists()
    assert not (minimal_run / "report_memory_timeline.png").exists()


def test_two_objectives_each_exploration_its_plots(two_cost_run):
    for prefix in ("first", "second_one"):
        for kind in ("front", "progress", "predicted", "learning", "knob_importance"):
            assert_png(two_cost_run / f"report_{prefix}_{kind}.png")
    assert not (two_cost_run / "report_front.png").exists()


def _copy(run_dir, to):
    """A copy of a run, its manifest naming the copy's tables (a run made there)."""
    shutil.copytree(run_dir, to, ignore=shutil.ignore_patterns("explore_*", "checkpoints", "report_*"))
    m = json.loads((to / MANIFEST).read_text())
    for e in m["explores"]:
        e["tables"] = {k: str(to / type(to)(v).name) for k, v in e["tables"].items()}
    (to / MANIFEST).write_text(json.dumps(m))
    return to


def test_memory_timelines_are_plotted_when_the_run_directory_holds_them(minimal_run, tmp_path):
    run = _copy(minimal_run, tmp_path / "run")
    # ZPP-MEM's text format (simulator/memory_timeline.py): timestamp bytes_in_use delta op
    (run / "step_memory_timeline.gpu0.txt").write_text(
        "0.000 1000 1000 static\n1.500 5000 4000 forward/l0/mb0\n2.250 3000 -2000 forward/l0/mb0/end\n")
    (run / "other_memory_timeline.csv").write_text("time_us,bytes\n0,10\n1,400\n2,20\n")
    (run / "memory_timeline_notes.txt").write_text("no numbers here\n")   # matches the name only: skipped
    paths = build_reports(run)
    assert_png(paths["report_memory_timeline"], least_bytes=5000)
    assert paths["report_memory_timeline"] == run / "report_memory_timeline.png"
    assert "Memory timelines" in (run / "deffe_report.html").read_text()
    # the files gone, the next build removes its plot: the directory shows what the page shows
    for f in run.glob("*memory_timeline*.*[tv]"):
        f.unlink()
    assert "report_memory_timeline" not in build_reports(run)
    assert not (run / "report_memory_timeline.png").exists()
    assert "Memory timelines" not in (run / "deffe_report.html").read_text()


def test_a_moved_run_directory_is_read_from_where_it_is_now(minimal_run, tmp_path):
    made = _copy(minimal_run, tmp_path / "made_here")
    moved = made.rename(tmp_path / "moved_there")
    run = load_run(moved)
    assert run.first().files["evaluation"] == moved / "deffe_evaluation.csv"
    assert len(run.first().evaluations) == 40
    assert set(build_reports(moved)) >= {"xlsx", "html", "report_progress"}


def test_without_the_store_the_tables_are_enough(two_cost_run, tmp_path):
    """No deffe.db (copied without it): the hypervolume is computed from the evaluations instead."""
    run = _copy(two_cost_run, tmp_path / "run")
    for f in run.glob("deffe.db*"):
        f.unlink()
    paths = build_reports(run)
    for prefix in ("first", "second_one"):
        assert_png(paths[f"report_{prefix}_progress"])
        assert_png(paths[f"report_{prefix}_learning"])   # from model_metrics.csv


def test_a_cost_zero_everywhere_draws_without_a_numpy_warning(minimal_run, tmp_path):
    """A cost that is 0 for every point (the simulator's remat_time where nothing is rematerialised) made the
    report print numpy's 'RuntimeWarning: Mean of empty slice' and a line of plots.py: its MAPE is 0/0."""
    import warnings
    import pandas as pd
    run = _copy(minimal_run, tmp_path / "run")
    for f in run.glob("deffe.db*"):
        f.unlink()
    ev, pred = pd.read_csv(run / "deffe_evaluation.csv"), pd.read_csv(run / "deffe_prediction.csv")
    cost = next(c[len("predicted-"):] for c in pred.columns if c.startswith("predicted-"))
    ev[cost], pred[f"predicted-{cost}"] = 0, 0.0
    ev.to_csv(run / "deffe_evaluation.csv", index=False)
    pred.to_csv(run / "deffe_prediction.csv", index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = build_reports(run)
    assert_png(paths["report_predicted"], least_bytes=5000)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]


def test_the_front_plot_has_a_row_per_scenario_and_marks_failed_designs_failed(tmp_path):
    """report_front.png drew every scenario's designs and fronts in one chart (a front design could look
    dominated by another problem size's), plotted a failed sample that returned costs as 'infeasible or
    against a constraint', and Best designs listed the scenarios by natural sort, not in the written order
    of deffe_exploration.csv and the summary."""
    import pandas as pd
    from cli_helpers import run_deffe, write
    from framework.reports import content, plots
    write(tmp_path / "prob.py", 'def f(p):\n    x, y, s = int(p["x"]), int(p["y"]), int(p["s"])\n'
          '    return {"f1": s * (x + 1), "f2": s * (5 - x + y)}\n')
    write(tmp_path / "c.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "x", "values": "0-4"}, {"name": "y", "values": "0-2"}],
        "scenarios": [{"name": "s", "values": [10, 2]}], "costs": ["f1", "f2"],
        "sampling": {"plugin": "factorial"}, "evaluate": {"plugin": "python", "function": "prob:f"},
        "model": {"plugin": None}, "exploration": {"plugin": "sampling", "samples_per_step": 30, "max_samples": 30},
        "framework": {"run_directory": "run"}}))
    r = run_deffe("-config", "c.json", "-quiet", cwd=tmp_path)
    assert r.rc == 0, r
    run_dir = tmp_path / "run"
    for f in run_dir.glob("deffe.db*"):
        f.unlink()
    ev = pd.read_csv(run_dir / "deffe_evaluation.csv")
    assert len(ev) == 16   # "0-4": 0 to 3, as in Deffe
    ev.loc[(ev.s == 2) & (ev.x == 3) & (ev.y == 1), "status"] = "failed"   # its costs kept
    ev.to_csv(run_dir / "deffe_evaluation.csv", index=False)
    run = load_run(run_dir)
    ex = content.explorations(run)[0]
    fig = plots._front(run, ex)
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["s=10", "s=2"]    # the written order, a row each
    legends = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in axes]
    assert "failed" in legends[1] and "infeasible or against a constraint" not in legends[1], legends
    assert "failed" not in legends[0], legends
    for ax, s in zip(axes, (10, 2)):   # each panel: that scenario's designs only
        xs = sorted(x for coll in ax.collections for x, _y in coll.get_offsets())
        assert all(x % s == 0 for x in xs), (s, xs)
    best = content.best_designs(run, ex)
    assert list(dict.fromkeys(best["scenario"])) == ["s=10", "s=2"]


def test_the_progress_plot_draws_a_hypervolume_per_scenario(tmp_path):
    """With several objectives and scenarios report_progress.png drew one hypervolume of a front pooled over
    the scenario values: s=100's designs lost to s=1's and its progress did not show (a flat curve)."""
    from cli_helpers import run_deffe, write
    from framework.reports import content, plots
    write(tmp_path / "ev.py", 'def evaluate(p):\n    x, y, s = p["x"], p["y"], p["s"]\n'
          '    return {"time": float((x + 1) * s), "mem": float((4 - x) * s + y)}\n')
    write(tmp_path / "c.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "x", "values": [0, 1, 2, 3, 4]}, {"name": "y", "values": [0, 1]}],
        "scenarios": [{"name": "s", "values": [1, 100]}], "costs": ["time", "mem"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "samples_per_step": 5}, "framework": {"run_directory": "run"}}))
    r = run_deffe("-config", "c.json", "-quiet", cwd=tmp_path)
    assert r.rc == 0, r
    run = load_run(tmp_path / "run")
    ex = content.explorations(run)[0]
    lines = plots._progress(run, ex).get_axes()[0].get_lines()
    assert [line.get_label() for line in lines] == ["s=1", "s=100"]
    recorded = [s["scenarios"]["s=100"]["hypervolume"] for s in ex.data.steps]
    assert list(lines[1].get_ydata()) == recorded


def test_the_front_plot_draws_every_pair_of_objectives_for_every_scenario(tmp_path):
    """With three objectives and three scenario values each row drew 2 of the 3 pairs (thr / mem left out)."""
    from cli_helpers import run_deffe, write
    from framework.reports import content, plots
    write(tmp_path / "ev.py", 'def evaluate(p):\n    x, y, s = p["x"], p["y"], p["s"]\n'
          '    return {"time": float((x + 1) * s), "thr": float(2 * x + 3 * y + s), "mem": float(x + y)}\n')
    write(tmp_path / "c.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "x", "values": [0, 1, 2, 3]}, {"name": "y", "values": [0, 1, 2]}],
        "scenarios": [{"name": "s", "values": [1, 2, 3]}], "costs": ["time", "thr::max", "mem"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "samples_per_step": 36}, "framework": {"run_directory": "run"}}))
    r = run_deffe("-config", "c.json", "-quiet", cwd=tmp_path)
    assert r.rc == 0, r
    run = load_run(tmp_path / "run")
    titles = [ax.get_title() for ax in plots._front(run, content.explorations(run)[0]).get_axes()]
    assert titles == [f"s={s}: {a} / {b}" for s in (1, 2, 3)
                      for a, b in (("time", "thr"), ("time", "mem"), ("thr", "mem"))]
