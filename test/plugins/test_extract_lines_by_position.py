"""Extract ``cost_output`` reads the costs of a ``lines`` file by position, as Deffe read lines[index]."""
from test_extract_deffe import run


def test_a_blank_line_among_the_costs_fails_the_sample_instead_of_shifting_the_next_value_in(tmp_path, monkeypatch):
    # cpu_cycles, then power's grep found nothing (a blank line), then a statistic Deffe ignored
    result, _ = run(tmp_path, monkeypatch, {"evaluate.sh": "printf '6\\n\\n999\\n' > results.out\n"},
                    costs=("cpu_cycles", "power"))
    assert result.status == "failed" and result.costs.get("power") != 999, result
    assert "line 2 (cost power) is blank" in result.error, result.error


def test_the_first_lines_are_the_costs_and_later_ones_are_ignored(tmp_path, monkeypatch):
    result, _ = run(tmp_path, monkeypatch, {"evaluate.sh": "printf '6\\n7\\n\\nnot a number\\n' > results.out\n"},
                    costs=("cpu_cycles", "power"))
    assert result.status == "ok" and result.costs == {"cpu_cycles": 6.0, "power": 7.0}, result
