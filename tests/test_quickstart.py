"""The quickstart job end to end on tiny settings (a 2-step SiamFC, 1 test video, a 1-epoch dppLSTM): every
stage's outputs exist, the report's figures are the stages' own numbers, and a rerun resumes (skips eval)."""

import json

import numpy as np

from experiments import quickstart as quickstart_config
from experiments import siamfc_synthetic
from jaxtrack.modes import quickstart
from tests.test_experiments import TINY_DATA

PNG = b"\x89PNG\r\n\x1a\n"


def tiny_config():
    c = quickstart_config.get_config()
    t = siamfc_synthetic.get_config()  # the cheapest tracker to compile
    t.data.options = TINY_DATA
    t.data.batch_size, t.data.num_threads, t.data.eval_batches = 2, 1, 0
    t.num_epochs, t.steps_per_epoch, t.log_every, t.checkpoint_every = 1, 2, 1, 2
    t.tensorboard = False
    t.eval = c.tracker.eval
    t.eval.num_videos, t.eval.baselines = 1, ("static",)
    t.eval.synthetic = {"height": 96, "width": 96, "n_frames": 8, "n_shots": 1}
    c.tracker = t
    s = c.summarizer
    s.data.options.update({"num_train": 3, "num_val": 1, "num_test": 2, "height": 64, "width": 64, "n_frames": 24,
                           "n_shots": 2})
    s.features.chunk_size, s.num_epochs, s.data.batch_size = 24, 2, 2
    c.report_frames = 4
    return c


def test_quickstart_tiny(tmp_path):
    out = quickstart.run(tiny_config(), str(tmp_path))
    for path in ["report.md", "quickstart.json", "tracked_frames.png", "tracker/loss_curve.png",
                 f"{quickstart.EVAL_DIR}/all_success.png", f"{quickstart.EVAL_DIR}/all_precision.png",
                 "summarizer/loss_curve.png",
                 "summarizer/summary_scores.png"]:
        assert (tmp_path / path).exists(), path
        if path.endswith(".png"):
            assert (tmp_path / path).read_bytes()[:8] == PNG
    assert set(out["eval"]) == {"siamfc", "static"} and out["tracker"]["last_step"] == 2
    report = (tmp_path / "report.md").read_text()
    for t, r in out["eval"].items():
        assert f"| {t} | 1 | {r['all']['auc']:.3f} | {r['all']['precision_20']:.3f} |" in report
    dpp = out["summarizer"]["results"]["model"]
    assert f"{dpp['f']:.3f}" in report and np.isfinite(dpp["f"])
    saved = json.loads((tmp_path / "quickstart.json").read_text())
    assert saved["eval"]["static"]["auc"] == out["eval"]["static"]["all"]["auc"]
    eval_mtime = (tmp_path / quickstart.EVAL_DIR / "summary.json").stat().st_mtime
    again = quickstart.run(tiny_config(), str(tmp_path))  # resumes: trained, nothing re-evaluated
    assert again["tracker"]["last_step"] == 2
    assert (tmp_path / quickstart.EVAL_DIR / "summary.json").stat().st_mtime == eval_mtime
