"""`--mode=summarize` (`jaxtrack.modes.summarize`) end to end on a tiny synthetic dataset: frame-statistics
features, sub-shot evaluation, oracle row, report, workdir contract (config.json, checkpoints, loss curve) and the
trained model read back with `workdir.load_summarizer`."""

import json

import numpy as np

from experiments import dpplstm_synthetic
from jaxtrack import workdir as jt_workdir
from jaxtrack.data import tfds_source
from jaxtrack.eval import summ_eval, summ_predict
from jaxtrack.eval.summarization import f_score
from jaxtrack.models.features import FeatureConfig, FrameFeatures, video_features
from jaxtrack.modes import summarize
from jaxtrack.train import checkpoint


def test_tiny_run_reports_baselines_on_sub_shots(tmp_path):
    c = dpplstm_synthetic.get_config()
    c.data.options.update(num_train=2, num_val=1, num_test=2, height=32, width=32, n_frames=24, n_shots=2)
    c.data.batch_size = 2
    c.features.update(image_size=16, stats_grid=2)
    c.model.kwargs.update(hidden=8, mlp_hidden=8, kernel_dim=4)
    c.summ.max_shot_len = 5
    c.num_epochs = 2
    workdir = tmp_path / "run"
    out = summarize.run(c, str(workdir))
    assert set(out["results"]) == {"model", "random", "uniform", "oracle", "human", "model_dpp_map"}
    assert set(out["val_results"]) == set(out["results"])
    assert len(out["epoch_seconds"]) == 2 and all(s > 0 for s in out["epoch_seconds"])
    data_dir = tmp_path / "tfds"  # the default: <workdir>/../tfds
    test = tfds_source.load("synthetic_videos", "test", data_dir=data_dir, **c.data.options.to_dict())
    uniform = [f_score(summ_eval.uniform_summary(24, len(summ_eval.split_shots(v.change_points, 5))),
                       v.user_summaries, "avg")[0] for v in test.videos]
    assert out["results"]["uniform"]["f"] == np.mean(uniform)  # 24 frames in 2 shots -> >= 5 sub-shots of <= 5
    saved = json.loads((workdir / "summary_results.json").read_text())
    assert saved["results"]["oracle"]["mean"] == out["results"]["oracle"]
    report = (workdir / "summary_report.md").read_text()
    assert "shots cut to at most 5 frames" in report and "| oracle |" in report and "D=14)" in report
    assert "Val split (1 videos" in report
    for name in ("loss_curve.png", "summary_scores.png"):
        assert (workdir / name).read_bytes()[:4] == b"\x89PNG"
    assert checkpoint.steps(workdir) == [2]  # 2 epochs of 2 // 2 steps; the last step is saved
    assert jt_workdir.read_config(workdir).task.to_dict() == c.task.to_dict()

    # The checkpoint read back reproduces the run's model row on the test split.
    task, params = jt_workdir.load_summarizer(workdir)
    extractor = FrameFeatures(FeatureConfig(**c.features.to_dict()))
    train = tfds_source.load("synthetic_videos", "train", data_dir=data_dir, **c.data.options.to_dict())
    z = summ_predict.standardizer(video_features(train, extractor))
    results, _ = summ_predict.evaluate_split(task, params, test.videos, [z(f) for f in video_features(test, extractor)],
                                             buckets=c.data.summ.buckets, mode="avg", proportion=0.15, max_shot_len=5)
    assert results["model"]["mean"] == out["results"]["model"]
