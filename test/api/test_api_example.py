"""example/notebook_api.py, the example of the API's documentation, runs and says what it promises."""
import re
import subprocess
import sys

from cli_helpers import ROOT, deffe_env


def test_the_api_example_runs(tmp_path):
    run_dir = tmp_path / "explore_api"
    r = subprocess.run([sys.executable, str(ROOT / "example" / "notebook_api.py"), str(run_dir)], cwd=tmp_path,
                       env=deffe_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert f"60 designs evaluated in {run_dir}" in r.stdout
    assert re.search(r"^best: tile=\d+ unroll=\d+ time=\d+\.\d+ ms$", r.stdout, re.M)
    assert "mape_percent" in r.stdout and "predicted-time" in r.stdout
    lines = re.findall(r"^tile=(\d+) unroll=4: predicted (\S+) ms, true (\S+) ms$", r.stdout, re.M)
    assert [t for t, _p, _q in lines] == ["20", "24", "28"]
    for _tile, predicted, true in lines:
        assert abs(float(predicted) - float(true)) / float(true) < 0.1
    assert (run_dir / "deffe_run.json").is_file() and not list(tmp_path.glob("*.json"))
    assert not (ROOT / "example" / "explore_api").exists()
