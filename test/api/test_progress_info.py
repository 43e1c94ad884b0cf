"""framework.progress: what the progress shows (done, failed, best, model error, time left), on a terminal
and in a log file."""
import io

from framework.config import Cost
from framework.progress import Progress, best_text, duration_text


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


class Terminal(io.StringIO):
    def isatty(self):
        return True


def plain(total=10, **kw):
    clock, out = Clock(), io.StringIO()
    return Progress(total, "explore_a", stream=out, clock=clock, interval=30, **kw), clock, out


def test_a_log_file_gets_plain_lines_at_most_every_interval_and_one_at_the_end():
    p, clock, out = plain()
    for i in range(4):
        clock.t += 5
        p.update(failed=i == 3)
    assert out.getvalue() == ""   # 20 s: nothing yet
    clock.t += 15
    p.best("best exec_time 1.2 ms")   # 35 s: a line
    p.model(0.041)                    # right after: none
    lines = out.getvalue().splitlines()
    assert lines == ["explore_a: 4/10 samples (3 evaluated, 1 failed), best exec_time 1.2 ms, 35s elapsed, "
                     "about 52s left"]
    clock.t += 10
    p.update(cached=True)
    p.close()
    text = out.getvalue()
    assert "\r" not in text and len(text.splitlines()) == 2
    assert text.splitlines()[-1] == ("explore_a: 5/10 samples (3 evaluated, 1 from the store, 1 failed), "
                                     "best exec_time 1.2 ms, model MAPE 4.1%, 45s elapsed")


def test_the_end_does_not_repeat_the_line_just_written():
    p, clock, out = plain(total=2)
    clock.t += 10
    p.update()
    clock.t += 30
    p.update()              # the interval has passed: this one writes the line, and the end says nothing new
    p.close()
    assert out.getvalue().splitlines() == ["explore_a: 2/2 samples (2 evaluated), 40s elapsed"]


def test_time_left_is_the_smaller_of_the_sample_pace_and_the_time_budget():
    p, clock, _ = plain(total=100, max_time=600)
    assert p.seconds_left() == 600
    for _ in range(10):
        p.update(cached=True)   # from the store: no time, no pace
    assert p.seconds_left() == 600
    clock.t += 100
    for _ in range(10):
        p.update()
    assert p.seconds_left() == 500   # by the budget; the pace says 80 * 10 s = 800 s
    p2, clock2, _ = plain(total=100)
    clock2.t += 20
    p2.update()
    p2.update()
    assert p2.seconds_left() == 98 * 10
    assert plain(total=None)[0].seconds_left() is None


def test_the_bar_on_a_terminal_shows_the_news_within_its_width():
    out, clock = Terminal(), Clock()
    p = Progress(10, "explore_a", stream=out, clock=clock, width=120)
    clock.t += 10
    p.update()
    p.update(failed=True)
    p.best("best exec_time 1.2 ms")
    p.model(0.05)
    p.update(cached=True)
    assert p.postfix() == "1 failed, 1 stored, best exec_time 1.2 ms, model MAPE 5%, 35s left"
    # a narrow terminal drops the least wanted news first: stored, the model, then the best
    p.width = 90
    assert p.postfix() == "1 failed, best exec_time 1.2 ms, 35s left"
    p.width = 60
    assert p.postfix() == "1 failed, 35s left"
    p.width = 120
    p.close()   # the bar redraws at most 10 times a second: its last state is drawn when it closes
    last = out.getvalue().split("\r")[-1]   # ... with no time left: the exploration is over
    assert last.startswith("explore_a:  30%|") and "3/10" in last and last.rstrip().endswith("model MAPE 5%]")
    assert len(last.rstrip()) <= 120


def test_without_a_total_the_terminal_shows_a_count():
    out = Terminal()
    p = Progress(None, "explore_b", stream=out, width=100)
    p.update()
    p.best("front 3, hv 0.52")
    p.close()
    assert "explore_b: 1 samples [" in out.getvalue() and "front 3, hv 0.52" in out.getvalue()


def test_disabled_shows_nothing():
    for stream in (Terminal(), io.StringIO()):
        p = Progress(5, "x", enabled=False, stream=stream, interval=0)
        p.update()
        p.best("best c 1")
        p.close()
        assert stream.getvalue() == ""


def test_best_text_says_the_best_with_its_unit_or_the_front():
    costs = [Cost("exec_time", unit="s"), Cost("memory", unit="B"), Cost("cycles")]
    assert best_text({"feasible": 3, "best": 0.00123}, costs, ["exec_time"]) == "best exec_time 1.23 ms"
    assert best_text({"feasible": 3, "best": 5.8e9}, costs, ["memory"]) == "best memory 5.8 GB"
    assert best_text({"feasible": 3, "best": 123456.0}, costs, ["cycles"]) == "best cycles 123,456"
    assert best_text({"feasible": 9, "hypervolume": 0.8312, "front": 7}, costs,
                     ["exec_time", "memory"]) == "front 7, hv 0.831"
    assert best_text({"feasible": 0}, costs, ["exec_time"]) == "no feasible design yet"
    assert best_text(None, costs, ["exec_time"]) is None


def test_durations_read_at_a_glance():
    assert [duration_text(s) for s in (0, 44.6, 200, 7500, 3 * 86400 + 4 * 3600)] == \
        ["0s", "45s", "3m20s", "2h05m", "3d04h"]


def test_best_text_with_scenarios_says_each_combinations_own():
    # it showed one hypervolume (or best) pooled over the scenario values: a front of one problem size
    # dominated another's, whose own growing front left the line unchanged
    costs = [Cost("exec_time", unit="s"), Cost("memory", unit="B")]
    two = {"feasible": 9, "hypervolume": 5.0, "front": 4, "scenarios": {
        "size=1": {"feasible": 5, "hypervolume": 0.5, "front": 3},
        "size=100": {"feasible": 4, "hypervolume": 49230.0, "front": 2}}}
    assert best_text(two, costs, ["exec_time", "memory"]) == \
        "size=1 front 3, hv 0.5; size=100 front 2, hv 4.92e+04"
    one = {"feasible": 6, "best": 0.001, "scenarios": {f"n={i}": {"feasible": 1, "best": 0.001 * i}
                                                       for i in range(1, 7)}}
    one["scenarios"]["n=2"] = {"feasible": 0}
    assert best_text(one, costs, ["exec_time"]) == \
        "best exec_time: n=1 1 ms; n=2 no feasible design yet; n=3 3 ms; n=4 4 ms; 2 more"
