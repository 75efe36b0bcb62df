"""The dppLSTM synthetic experiment end to end on a tiny dataset: frame-statistics features, sub-shot evaluation,
oracle row and report."""

import json

import numpy as np

from experiments import dpplstm_synthetic
from jaxtrack.data import tfds_source
from jaxtrack.eval import summ_eval, summ_run
from jaxtrack.eval.summarization import f_score


def test_tiny_run_reports_baselines_on_sub_shots(tmp_path):
    c = dpplstm_synthetic.get_config()
    c.data.data_dir = str(tmp_path / "tfds")
    c.data.options.update(num_train=2, num_val=1, num_test=2, height=32, width=32, n_frames=24, n_shots=2)
    c.features.update(image_size=16, stats_grid=2)
    c.model.update(hidden=8, mlp_hidden=8, kernel_dim=4)
    c.summ.update(batch_size=2, max_shot_len=5)
    c.train.num_epochs = 2
    out = summ_run.run(c, str(tmp_path / "run"))
    assert set(out["results"]) == {"model", "random", "uniform", "oracle", "human", "model_dpp_map"}
    assert set(out["val_results"]) == set(out["results"])
    assert len(out["epoch_seconds"]) == 2 and all(s > 0 for s in out["epoch_seconds"])
    test = tfds_source.load("synthetic_videos", "test", data_dir=c.data.data_dir, **c.data.options.to_dict())
    uniform = [f_score(summ_eval.uniform_summary(24, len(summ_eval.split_shots(v.change_points, 5))),
                       v.user_summaries, "avg")[0] for v in test.videos]
    assert out["results"]["uniform"]["f"] == np.mean(uniform)  # 24 frames in 2 shots -> >= 5 sub-shots of <= 5
    saved = json.loads((tmp_path / "run" / "summary_results.json").read_text())
    assert saved["results"]["oracle"]["mean"] == out["results"]["oracle"]
    report = (tmp_path / "run" / "summary_report.md").read_text()
    assert "shots cut to at most 5 frames" in report and "| oracle |" in report and "D=14)" in report
    assert "Val split (1 videos" in report
