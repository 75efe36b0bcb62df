"""`--mode=eval` resumes and cleans up (`jaxtrack.eval.results`): a run killed with SIGKILL leaves no summary and
no result folder of another run, and its rerun tracks only the missing sequences and writes the summary of an
uninterrupted run; a changed video list or tracker starts a fresh folder (the old one set aside, restored when it
is wanted again); the identity of a model is its step, settings and weights.

    python -m tests.test_eval_resume WORKDIR N_VIDEOS   # the run the kill test kills (slow "drift" tracker)
"""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import orbax.checkpoint as ocp
import pytest

from jaxtrack import config as config_lib
from jaxtrack import families
from jaxtrack import workdir as jt_workdir
from jaxtrack.data import synthetic
from jaxtrack.eval import benchmark, results
from jaxtrack.modes import eval as eval_mode
from jaxtrack.track import baselines
from jaxtrack.train import checkpoint

TINY = {"height": 64, "width": 80, "n_frames": 8, "n_shots": 1, "min_shot_len": 8}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class DriftTracker:
    """Moves the initial box 1 px right per frame; `init` sleeps `pause` seconds (a slow tracker to kill)."""

    pause = 0.0

    def init(self, frame, box):
        time.sleep(self.pause)
        self.box = np.asarray(box, np.float32).copy()

    def track(self, frame):
        self.box[0] += 1
        return self.box.copy(), 1.0


def eval_config(n_videos: int):
    c = config_lib.experiment("eval")
    c.eval.update(benchmark="synthetic", num_videos=n_videos, synthetic=TINY, baselines=("drift", "static"), vot=True,
                  attribute_plots=False)
    return c


@pytest.fixture
def tracked(monkeypatch):
    """Registers "drift"; returns the list of (tracker class, video name) one-pass runs made from now on."""
    monkeypatch.setitem(baselines.BASELINES, "drift", DriftTracker)
    calls, run_sequence = [], benchmark.run_sequence

    def counted(tracker, video):
        calls.append((type(tracker).__name__, video.name))
        return run_sequence(tracker, video)

    monkeypatch.setattr(benchmark, "run_sequence", counted)
    return calls


def box_files(folder) -> list[str]:
    return sorted(p.name for p in folder.glob("*.txt"))


def video_count(folder) -> int | None:
    """The video count of the identity `folder` holds (None: none yet)."""
    try:
        return json.loads((folder / "identity.json").read_text())["videos"]["count"]
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def without_fps(report: dict) -> dict:
    return {t: {a: {k: v for k, v in s.items() if k != "fps"} for a, s in d.items()} for t, d in report.items()}


def md_without_fps(md: str) -> str:
    return "\n".join(line.rsplit("|", 2)[0] if line.startswith("| ") and "seqs" not in line else line
                     for line in md.splitlines())


def test_kill_9_then_resume_gives_the_uninterrupted_summary(tmp_path, tracked):
    out = tmp_path / "killed" / "eval" / "synthetic"
    eval_mode.run(eval_config(3), str(tmp_path / "killed"))  # an earlier evaluation: its summary must not survive
    assert (out / "summary.md").exists()
    child = subprocess.Popen([sys.executable, "-m", "tests.test_eval_resume", str(tmp_path / "killed"), "4"],
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    drift, deadline = out / "results" / "drift", time.time() + 120
    while not (video_count(drift) == 4 and box_files(drift)):  # the killed run's drift folder has a result
        assert child.poll() is None and time.time() < deadline, child.stderr.read().decode()[-2000:]
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert 1 <= len(box_files(drift)) < 4  # killed in the middle of the slow tracker
    assert not (out / "summary.md").exists() and not (out / "summary.json").exists()  # no stale summary
    assert box_files(out / "results" / "static") == []  # not reached, but its folder is the killed run's already
    for name in ("static", "drift"):
        assert video_count(out / "results" / name) == 4
        assert len(box_files(next((out / "set_aside").glob(f"{name}.*")))) == 3  # the earlier run's, set aside
    missing = [f"test_{i:05d}" for i in range(4) if not (drift / f"test_{i:05d}.txt").exists()
               or not (drift / "times" / f"test_{i:05d}_time.txt").exists()]

    tracked.clear()
    resumed = eval_mode.run(eval_config(4), str(tmp_path / "killed"))
    # nothing finished is tracked again: drift's missing sequences, then static's (none finished before the kill)
    assert tracked == [("DriftTracker", n) for n in missing] + [("StaticTracker", f"test_{i:05d}") for i in range(4)]
    whole = eval_mode.run(eval_config(4), str(tmp_path / "whole"))
    assert without_fps(resumed) == without_fps(whole)
    assert resumed["drift"]["all"]["n"] == 4 and "vot" in resumed["drift"]
    expected = tmp_path / "whole" / "eval" / "synthetic"
    assert md_without_fps((out / "summary.md").read_text()) == md_without_fps((expected / "summary.md").read_text())
    for name in ("static", "drift"):
        assert box_files(out / "results" / name) == box_files(expected / "results" / name)
        for f in box_files(expected / "results" / name):
            assert (out / "results" / name / f).read_text() == (expected / "results" / name / f).read_text()


def test_fewer_videos_start_a_fresh_folder_and_the_old_one_comes_back(tmp_path, tracked):
    out = tmp_path / "eval" / "synthetic"
    legacy = out / "results" / "static"  # written before result sets had an identity: 5 sequences
    for i in range(5):
        benchmark.write_result("otb", out / "results", "static", f"test_{i:05d}",
                               benchmark.Run(np.zeros((8, 4), np.float32), np.ones(8), np.ones(8)))
    three = eval_mode.run(eval_config(3), str(tmp_path))
    assert box_files(legacy) == ["test_00000.txt", "test_00001.txt", "test_00002.txt"]
    assert len(box_files(out / "set_aside" / "static.unkeyed")) == 5  # set aside, not deleted

    videos = synthetic.make_videos(2, seed=0, config=synthetic.SyntheticConfig(**TINY), split="test")
    reference = benchmark.summarize([benchmark.score_sequence(v, benchmark.run_sequence(baselines.make("static"), v))
                                     for v in videos])
    tracked.clear()
    two = eval_mode.run(eval_config(2), str(tmp_path))
    assert box_files(legacy) == ["test_00000.txt", "test_00001.txt"]  # the third video's result is not there
    assert two["static"]["all"]["n"] == 2 and "| static | 2 |" in (out / "summary.md").read_text()
    assert two["static"]["all"]["auc"] == pytest.approx(reference.auc, abs=1e-4)
    assert two["static"]["all"]["cle"] == pytest.approx(reference.cle, abs=1e-3)
    assert sorted(tracked) == sorted((c, v.name) for c in ("StaticTracker", "DriftTracker") for v in videos)

    tracked.clear()
    again = eval_mode.run(eval_config(3), str(tmp_path))  # back to 3 videos: the set-aside folders come back
    assert tracked == [] and again == three


def test_changed_tracker_starts_a_fresh_folder(tmp_path, tracked, monkeypatch):
    out = tmp_path / "eval" / "synthetic" / "results"
    eval_mode.run(eval_config(2), str(tmp_path))
    old_key = json.loads((out / "static" / "identity.json").read_text())["key"]
    monkeypatch.setattr(eval_mode.cv2, "__version__", "0.0.test")  # another OpenCV: other baseline results
    tracked.clear()
    eval_mode.run(eval_config(2), str(tmp_path))
    assert sorted(tracked) == sorted((c, f"test_{i:05d}") for c in ("StaticTracker", "DriftTracker") for i in (0, 1))
    assert json.loads((out / "static" / "identity.json").read_text())["tracker"]["opencv"] == "0.0.test"
    assert (tmp_path / "eval" / "synthetic" / "set_aside" / f"static.{old_key}" / "identity.json").exists()


class Plain:
    """`track.siamese.Tracker` without its compiled steps: the identity needs its fields only."""

    def __init__(self, name, model, config, variables):
        self.name, self.model, self.config, self.variables = name, model, config, variables


def test_model_identity_is_step_settings_and_weights(tmp_path, monkeypatch):
    # the checkpoints hold a made-up variable tree: the family's tracker class must not run the model
    monkeypatch.setitem(families.REGISTRY, "siamfc", dataclasses.replace(families.get("siamfc"), tracker_class=Plain))
    trained = config_lib.experiment("train")
    trained.model.name = "siamfc"
    saver = ocp.StandardCheckpointer()
    for workdir, step, w in (("a", 1, 1.0), ("a", 2, 2.0), ("a", 3, 2.0), ("b", 3, 1.0)):
        jt_workdir.write_config(tmp_path / workdir, trained)
        saver.save(tmp_path / workdir / "checkpoints" / str(step) / checkpoint.STATE,
                   {"params": {"w": np.full(3, w, np.float32)}, "batch_stats": {}, "step": step})
        saver.wait_until_finished()
    videos = synthetic.make_videos(1, seed=0, config=synthetic.SyntheticConfig(**TINY), split="test")
    other_videos = synthetic.make_videos(1, seed=1, config=synthetic.SyntheticConfig(**TINY), split="test")
    assert other_videos[0].name == videos[0].name  # same name, other pixels and boxes

    def key(workdir="a", on=videos, **entry):
        c = eval_config(1)
        c.eval.update(models=[{"workdir": str(tmp_path / workdir), **entry}], baselines=[])
        (_, tracker), = eval_mode.make_trackers(c, tmp_path / "elsewhere").values()
        return results.identity(tracker, on)["key"]

    latest = key()
    assert key(step=3) == latest and key(step=3, label="x") == latest  # -1 is the latest step; labels do not count
    changed = [key(step=2), key(step=1), key(track={"scale_lr": 0.5}), key("b"), key(on=other_videos)]
    assert len({latest, *changed}) == 6  # step, weights (b: same step), settings, videos


if __name__ == "__main__":
    baselines.BASELINES["drift"] = DriftTracker
    DriftTracker.pause = 1.0  # the kill lands while the first sequences are being written
    eval_mode.run(eval_config(int(sys.argv[2])), sys.argv[1])
