"""2 processes on localhost (`jax.distributed` over gloo, 2 fake CPU devices each: one 4-device mesh over 2 hosts)
against 1 process: `launch.py --mode=train --distributed` gives the parameters of a 1-process run on the same global
batches, checkpoints once and resumes; batched tracking and `modes.eval.run` split the sequences over the processes and
gather them (tests/multiprocess_worker.py). Children run with a timeout and are killed on any failure."""

import json
import os
import socket
import subprocess
import sys
import time

import jax
import numpy as np

from jaxtrack.modes import eval as eval_run
from jaxtrack.modes import train as train_run
from jaxtrack.train import checkpoint
from tests import multiprocess_config, multiprocess_worker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 240  # s, for each group of children started together


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def env(devices: int) -> dict:
    return {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_DISABLE_MOST_OPTIMIZATIONS": "1", "PYTHONPATH": ROOT,
            "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}


def start(command: list[str], log: str, devices: int) -> tuple[subprocess.Popen, str]:
    with open(log, "w") as f:  # the child keeps its own handle
        return subprocess.Popen(command, cwd=ROOT, env=env(devices), stdout=f, stderr=subprocess.STDOUT), log


def kill(children: list[tuple[subprocess.Popen, str]]) -> None:
    for p, _ in children:
        if p.poll() is None:
            p.kill()
            p.wait()


def wait_all(children: list[tuple[subprocess.Popen, str]]) -> list[str]:
    """Waits for `children` (from `start`); returns their outputs. Any failure or timeout kills them all and
    fails with every child's command, exit code and output tail."""
    deadline = time.monotonic() + TIMEOUT
    try:
        codes = [p.wait(timeout=max(0.0, deadline - time.monotonic())) for p, _ in children]
    except subprocess.TimeoutExpired:
        codes = ["timeout"] * len(children)
    finally:
        kill(children)
    outputs = [open(log).read() for _, log in children]
    if codes != [0] * len(children):
        raise AssertionError("\n".join(f"--- {' '.join(p.args[1:])} (exit {c}):\n{out[-3000:]}"
                                        for (p, _), c, out in zip(children, codes, outputs)))
    return outputs


def launch_train(workdir, data_dir, num_epochs: int, processes: int, devices: int, batch_size: int = 1):
    """Starts `launch.py --mode=train` of tests/multiprocess_config.py for `num_epochs` 1-step epochs in
    `processes` processes of `devices` CPU devices each; returns the children for `wait_all`."""
    args = [sys.executable, "launch.py", "--config=tests/multiprocess_config.py", f"--workdir={workdir}",
            f"--config.data.data_dir={data_dir}", f"--config.num_epochs={num_epochs}",
            f"--config.data.batch_size={batch_size}"]
    log = f"{workdir}.{num_epochs}"
    if processes == 1:
        return [start(args, f"{log}.log", devices)]
    port = free_port()
    return [start([*args, "--distributed", f"--coordinator_address=localhost:{port}", f"--num_processes={processes}",
                   f"--process_id={i}"], f"{log}.{i}.log", devices) for i in range(processes)]


def metric_steps(workdir) -> list[int]:
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        return [json.loads(line)["step"] for line in f]


def test_two_processes_train_like_one_and_resume(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    # 2 processes x 2 devices x batch 1 (a run stopped at step 2, then resumed to step 3) == this process alone, on
    # 1 device with batch 4: the same global batches (the pipeline's shards are rows of each global batch).
    children = launch_train(two, tmp_path / "tfds2", 2, 2, devices=2)
    config = multiprocess_config.get_config()
    config.data.batch_size, config.data.data_dir = 4, str(tmp_path / "tfds1")
    try:
        train_run.run(config, str(one))  # while the children run
    except BaseException:
        kill(children)
        raise
    wait_all(children)
    ckpts = two / "checkpoints"
    assert sorted(os.listdir(ckpts)) == ["2"] and metric_steps(two) == [1, 2]
    assert sorted(os.listdir(ckpts / "2" / "data")) == ["commit_success.txt", "process_0-of-2.json",
                                                        "process_1-of-2.json"]
    logs = wait_all(launch_train(two, tmp_path / "tfds2", 3, 2, devices=2))
    assert all(f"resuming from {ckpts / '2'}" in out for out in logs), [out[-2000:] for out in logs]
    assert sorted(os.listdir(ckpts)) == ["2", "3"] and metric_steps(two) == [1, 2, 3]  # process 0 alone logs
    assert (two / "train_summary.json").exists()
    a, b = checkpoint.restore_variables(one, step=3), checkpoint.restore_variables(two, step=3)
    assert jax.tree.structure(a) == jax.tree.structure(b)
    jax.tree.map_with_path(lambda path, x, y: np.testing.assert_allclose(
        x, y, atol=1e-5, err_msg=jax.tree_util.keystr(path)), a, b)


def test_two_processes_track_and_evaluate_like_one(tmp_path):
    port = free_port()
    workdirs = [tmp_path / f"process{i}" for i in (0, 1)]  # one each: process 1 must write nothing but its report
    children = [start([sys.executable, "-m", "tests.multiprocess_worker", str(i), str(port), str(w)],
                      str(tmp_path / f"{i}.log"), devices=2) for i, w in enumerate(workdirs)]
    try:
        alone = eval_run.run(multiprocess_worker.EVAL, str(tmp_path / "alone"))  # while the children run
    except BaseException:
        kill(children)
        raise
    wait_all(children)
    reports = [json.loads((w / "report.json").read_text()) for w in workdirs]
    drop_fps = lambda r: {t: {a: {k: v for k, v in s.items() if k != "fps"} for a, s in d.items()}
                          for t, d in r.items()}
    assert drop_fps(reports[0]) == drop_fps(reports[1]) == drop_fps(json.loads(json.dumps(alone)))
    assert os.listdir(workdirs[1]) == ["report.json"]
    results = workdirs[0] / "eval" / "synthetic" / "results"
    expected = tmp_path / "alone" / "eval" / "synthetic" / "results"
    files = sorted(p.relative_to(expected) for p in expected.rglob("*.txt"))
    assert files and files == sorted(p.relative_to(results) for p in results.rglob("*.txt"))
    for f in files:
        if "times" not in f.parts:
            assert (results / f).read_text() == (expected / f).read_text(), f
    assert (workdirs[0] / "eval" / "synthetic" / "summary.md").exists()
