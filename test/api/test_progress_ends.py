"""framework.progress at the end of an exploration (no time left to wait for) and on a terminal that tells
no width (a pseudo-terminal without a size says 0 columns)."""
import io
import os
import sys

from framework.progress import Progress

from test_progress_info import Clock, Terminal   # the fake clock and terminal of the progress tests


def test_the_last_plain_line_of_an_exploration_that_ended_early_tells_no_time_left():
    # an exploration that stops before its sample budget (converged, all its points) ended with
    # "25/70 samples ..., about 9s left"
    clock, out = Clock(), io.StringIO()
    p = Progress(70, "explore_0", stream=out, clock=clock, interval=30)
    for _ in range(25):
        clock.t += 0.2
        p.update()
    p.best("front 8, hv 36")
    assert "left" in p.status_line()   # while it runs, the time left is news
    p.close()
    last = out.getvalue().splitlines()[-1]
    assert last == "explore_0: 25/70 samples (25 evaluated), front 8, hv 36, 5s elapsed"


def test_the_bar_of_an_exploration_that_ended_early_tells_no_time_left():
    clock, out = Clock(), Terminal()
    p = Progress(70, "explore_0", stream=out, clock=clock, width=120)
    for _ in range(25):
        clock.t += 0.2
        p.update()
    assert "left" in p.postfix()
    p.close()
    final = out.getvalue().split("\r")[-1]
    assert "25/70" in final and "left" not in final


def test_a_terminal_of_0_columns_shows_the_bar_at_a_sane_width(monkeypatch):
    master, slave = os.openpty()   # a fresh pseudo-terminal has no size: 0 columns, 0 lines (script(1))
    try:
        assert tuple(os.get_terminal_size(slave)) == (0, 0)
        with os.fdopen(slave, "w", buffering=1, closefd=False) as stream:
            monkeypatch.setattr(sys, "stderr", stream)   # tqdm asks the size of stderr's terminal itself
            p = Progress(10, "explore_0", clock=Clock())
            for _ in range(10):
                p.update()
            p.best("best thr 5")
            p.close()
            stream.flush()
        os.set_blocking(master, False)
        shown = os.read(master, 1 << 16).decode().rstrip().split("\r")[-1]
    finally:
        os.close(slave)
        os.close(master)
    assert shown.startswith("explore_0: 100%|") and "10/10" in shown and "best thr 5" in shown
    assert len(shown) <= 80
