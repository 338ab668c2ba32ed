"""Every benchmark still runs: its ``--quick`` mode, end to end, in a fresh process.

The quick modes use tiny synthetic inputs and write only to temporary
folders, so a benchmark whose imports or calls rot fails here instead of on
the next long run; ``benchmarks/results`` is left as it was.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted((ROOT / "benchmarks").glob("bench_*.py"))
RESULTS = ROOT / "benchmarks" / "results"


def test_every_benchmark_has_a_quick_mode_and_a_results_file():
    assert len(BENCHMARKS) >= 9
    for script in BENCHMARKS:
        assert "add_quick_flag(parser)" in script.read_text(), script.name
        results = RESULTS / f"{script.stem.removeprefix('bench_')}.txt"
        assert results.is_file(), f"{script.name} has no {results.name}"
        # One run, ending with its headline: a figure, not a total time.
        last = results.read_text().rstrip().splitlines()[-1]
        assert re.search(r"\d", last) and not last.startswith("total time"), results.name


@pytest.mark.slow
@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda path: path.stem)
def test_benchmark_runs_in_quick_mode(script, tmp_path):
    before = {path.name: path.stat().st_mtime_ns for path in RESULTS.iterdir()}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3",
           "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, str(script), "--quick"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines and re.search(r"\d", lines[-1]), done.stdout[-2000:]
    assert {path.name: path.stat().st_mtime_ns for path in RESULTS.iterdir()} == before
