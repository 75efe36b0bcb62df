"""launch.py as a user runs it (subprocesses): the experiment list, one-line errors with a non-zero exit for what a
user can get wrong, a mode run with its outputs, and --noresume keeping the previous workdir."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY_BENCH = ["--experiment=kernel_bench", "--config.bench.shapes=siamfc", "--config.bench.ops=xcorr",
              "--config.bench.impls=shift", "--config.bench.batches=1", "--config.bench.dtypes=float32",
              "--config.bench.runs=2"]


def launch(*args):
    return subprocess.run([sys.executable, "launch.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_list_experiments():
    out = launch("--list_experiments")
    assert out.returncode == 0
    lines = dict(line.split(None, 1) for line in out.stdout.splitlines())
    assert {"quickstart", "kernel_bench", "siamban_acm_synthetic", "dpplstm_synthetic"} <= set(lines)
    assert lines["quickstart"].startswith("The main job")


@pytest.mark.parametrize("args, message", [
    (["--experiment=nosuch", "--workdir={tmp}"], "error: unknown experiment 'nosuch'"),
    (["--experiment=eval_synthetic", "--workdir={tmp}", "--config.nokey=1"], "error: unknown config key"),
    (["--experiment=eval_synthetic", "--workdir=/proc/jaxtrack"], "is not writable"),
    (["--experiment=eval_synthetic", "--workdir={tmp}", "--config.eval.benchmark=otb",
      "--config.eval.data_root=/nonexistent"], "error: FileNotFoundError: /nonexistent: OTB root folder not found"),
    (["--experiment=eval_synthetic", "--workdir={tmp}", "--config.eval.num_videos=many"], "num_videos"),
    (["--experiment=siamfc_synthetic", "--workdir={tmp}", "--mode=track"], "no checkpoint found"),
])
def test_user_errors_are_one_line(tmp_path, args, message):
    out = launch(*[a.format(tmp=tmp_path) for a in args])
    assert out.returncode != 0
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_bench_mode_and_noresume(tmp_path):
    workdir = tmp_path / "bench"
    first = launch(*TINY_BENCH, f"--workdir={workdir}")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0].startswith("kernel_bench --mode=bench in ")
    assert len(first.stdout.splitlines()) <= 10, first.stdout  # a quiet terminal: the bench table and little else
    assert (workdir / "log.txt").exists()
    assert "| xcorr | siamfc z6/x22 | 1 | float32 | shift |" in (workdir / "bench.md").read_text()
    assert '"mode": "bench"' in (workdir / "config.json").read_text()
    second = launch(*TINY_BENCH, f"--workdir={workdir}", "--noresume", "--config.bench.runs=3")
    assert second.returncode == 0, second.stderr
    old = [p for p in tmp_path.iterdir() if p.name.startswith("bench.old-")]
    assert len(old) == 1 and (old[0] / "bench.md").exists()
    assert '"runs": 3' in (workdir / "config.json").read_text()
