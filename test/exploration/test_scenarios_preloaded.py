"""-only-preloaded-data-exploration with scenarios: what the summary says of the combinations the data hold."""
import json

from cli_helpers import run_deffe, write

EVALUATE = ('def f(p):\n    a, s = int(p["a"]), int(p["s"])\n'
            '    return {"f1": a * s, "f2": (10 - a) * s + a % 3}\n')


def _config(tmp_path, scenario, exploration, data_rows):
    write(tmp_path / "f.py", EVALUATE)
    write(tmp_path / "data.csv", "a,s,f1,f2\n" + "".join(
        f"{a},{s},{a * s},{(10 - a) * s + a % 3}\n" for a, s in data_rows))
    write(tmp_path / "c.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": [1, 2, 3, 4, 5, 6]}], "scenarios": [scenario],
        "costs": ["f1", "f2"], "evaluate": {"plugin": "python", "function": "f:evaluate"},
        "model": {"plugin": "sklearn_rf", "estimators": 5}, "exploration": exploration,
        "framework": {"run_directory": "run", "seed": 1, "progress": False}}))


def _summary(tmp_path) -> str:
    r = run_deffe("-config", "c.json", "-pre-evaluated-data", "data.csv", "-only-preloaded-data-exploration",
                  cwd=tmp_path)
    assert r.rc == 0, r
    return r.out[r.out.index("front (f1, f2):"):]


def test_designs_of_combinations_beyond_the_32_served_are_counted(tmp_path):
    # 40 scenario values in the data: the exploration serves a seeded 32 of them, its initial design draws from
    # all the data; the designs of the others were counted as evaluated and left out of every section unsaid
    _config(tmp_path, {"name": "s", "type": "integer", "min": 1, "max": 40},
            {"samples_per_step": 20, "max_samples": 60, "candidates": 200},
            [(a, s) for s in range(1, 41) for a in range(1, 7)])
    summary = _summary(tmp_path)
    sections = [line for line in summary.splitlines() if line.startswith("  s=")]
    in_sections = sum(int(line.split("(")[1].split()[0]) for line in sections)
    assert len(sections) == 32 and in_sections < 60, summary   # the case: designs outside the 32
    assert f"({60 - in_sections} more evaluated designs, of 2 other scenario combinations, are in no section" \
        in summary, summary


def test_a_sampling_exploration_of_the_data_lists_only_the_combinations_the_data_hold(tmp_path):
    # data for s=1 only, the config's s in [1, 2]: a section 's=2 (0 evaluated designs)' said it was served
    _config(tmp_path, {"name": "s", "values": [1, 2]}, {"plugin": "sampling", "samples_per_step": 10},
            [(a, 1) for a in range(1, 7)])
    summary = _summary(tmp_path)
    assert "  s=1 (6 evaluated designs" in summary and "s=2" not in summary, summary
