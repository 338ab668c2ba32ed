"""Every benchmark still runs: its ``--quick`` mode, end to end, in a fresh process.

The quick modes use tiny synthetic inputs and write only to temporary
folders, so a benchmark whose imports or calls rot fails here instead of on
the next long run; ``benchmarks/results`` is left as it was.

The quick runs go in two groups, one fresh process each, so that TensorFlow
is imported twice rather than once per benchmark (about 5 s each): each
benchmark runs as ``python bench_x.py --quick`` would run it, with its own
arguments and a temporary working folder.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted((ROOT / "benchmarks").glob("bench_*.py"))
RESULTS = ROOT / "benchmarks" / "results"
#: Two groups of about equal time (alternate names: about 130 s of quick runs each).
GROUPS = [BENCHMARKS[0::2], BENCHMARKS[1::2]]
#: Runs each script given as ``__main__`` with ``--quick`` in a temporary folder
#: and prints one line: ``RESULTS {script: {"stdout": ..., "error": ...}}``.
RUNNER = r"""
import contextlib, io, json, os, runpy, sys, tempfile, traceback

sys.path.insert(0, sys.argv[1])
results = {}
for script in sys.argv[2:]:
    out, error = io.StringIO(), None
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        sys.argv = [script, "--quick"]
        try:
            with contextlib.redirect_stdout(out):
                runpy.run_path(script, run_name="__main__")
        except SystemExit as exit:
            error = None if exit.code in (None, 0) else f"exit status {exit.code}"
        except BaseException:
            error = traceback.format_exc()[-3000:]
    results[script] = {"stdout": out.getvalue()[-2000:], "error": error}
print("RESULTS", json.dumps(results))
"""


def test_every_benchmark_has_a_quick_mode_and_a_results_file():
    assert len(BENCHMARKS) >= 9
    assert sorted(sum(GROUPS, [])) == BENCHMARKS
    for script in BENCHMARKS:
        assert "add_quick_flag(parser)" in script.read_text(), script.name
        results = RESULTS / f"{script.stem.removeprefix('bench_')}.txt"
        assert results.is_file(), f"{script.name} has no {results.name}"
        # One run, ending with its headline: a figure, not a total time.
        last = results.read_text().rstrip().splitlines()[-1]
        assert re.search(r"\d", last) and not last.startswith("total time"), results.name


@pytest.mark.slow
@pytest.mark.parametrize("group", GROUPS,
                         ids=lambda scripts: "+".join(s.stem[6:] for s in scripts))
def test_benchmarks_run_in_quick_mode(group, tmp_path):
    before = {path.name: path.stat().st_mtime_ns for path in RESULTS.iterdir()}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3",
           "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", RUNNER, str(ROOT / "benchmarks"),
                           *map(str, group)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    report = [line for line in done.stdout.splitlines() if line.startswith("RESULTS ")]
    assert report, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads(report[-1].removeprefix("RESULTS "))
    assert list(results) == list(map(str, group))
    for script, result in results.items():
        name = Path(script).name
        assert result["error"] is None, f"{name}:\n{result['error']}"
        lines = result["stdout"].strip().splitlines()
        # Each ends with its headline: a figure.
        assert lines and re.search(r"\d", lines[-1]), f"{name}:\n{result['stdout']}"
    assert {path.name: path.stat().st_mtime_ns for path in RESULTS.iterdir()} == before
