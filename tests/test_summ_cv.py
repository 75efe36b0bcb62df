"""`--mode=summarize` with `summ.folds = K`: the k-fold protocol end to end on a tiny eccv16 h5 dataset (SumMe
layout, 3 videos of 2-frame shots, 2 folds, a tiny model for 1 epoch)."""

import json

import h5py
import numpy as np
import pytest

from experiments import dpplstm_synthetic
from jaxtrack import workdir as jt_workdir
from jaxtrack.data import tfds_source
from jaxtrack.eval import summ_eval, summ_predict
from jaxtrack.eval.summarization import f_score
from jaxtrack.modes import summarize
from jaxtrack.train import checkpoint
from tests.test_data_tfds import _summe_files

FOLDS = [{"train_keys": ["video_3"], "test_keys": ["video_1", "video_2"]},
         {"train_keys": ["video_1", "video_2"], "test_keys": ["video_3"]}]


def test_k_fold_protocol_on_eccv16_h5(tmp_path):
    manual = tmp_path / "raw"
    _summe_files(manual, FOLDS)
    rng = np.random.default_rng(0)
    with h5py.File(manual / "eccv16_dataset_summe_google_pool5.h5", "a") as f:  # varied features, 2-frame shots
        for g in f.values():
            n, steps = int(g["n_frames"][()]), len(g["features"])
            for name in ("features", "change_points", "n_frame_per_seg"):
                del g[name]
            g["features"] = rng.normal(size=(steps, 4)).astype(np.float32)
            g["change_points"] = np.stack([np.arange(0, n, 2), np.minimum(np.arange(0, n, 2) + 1, n - 1)], 1)
            g["n_frame_per_seg"] = np.diff(np.append(g["change_points"][:, 0], n))
    c = dpplstm_synthetic.get_config()
    c.data.update(dataset="summe", manual_dir=str(manual), batch_size=1)
    c.model.kwargs.update(hidden=4, mlp_hidden=4, kernel_dim=2)
    c.summ.update(folds=2, mode="max")
    c.num_epochs = 1
    workdir = tmp_path / "cv"
    out = summarize.run(c, str(workdir))

    full = tfds_source.load("summe", "full", data_dir=tmp_path / "tfds", manual_dir=manual)  # default data_dir
    videos = {v.name: v for v in full.videos}
    tested = [name for names in out["test_videos"] for name in names]
    assert out["test_videos"] == [f["test_keys"] for f in FOLDS]
    assert sorted(tested) == sorted(videos) and len(set(tested)) == len(tested)  # disjoint, covering
    for k, names in enumerate(out["test_videos"]):
        split = out["splits"][k]
        uniform = [f_score(summ_eval.uniform_summary(len(videos[n]), len(videos[n].change_points)),
                           videos[n].user_summaries, "max")[0] for n in names]
        assert split["uniform"]["mean"]["f"] == np.mean(uniform)
        assert split["human"]["mean"]["f"] == pytest.approx(1.0)  # the fixture's two users agree
    assert out["mean"]["model"]["f"] == np.mean([s["model"]["mean"]["f"] for s in out["splits"]])

    saved = json.loads((workdir / "cv_results.json").read_text())
    np.testing.assert_equal(saved["mean"], out["mean"])  # NaN tau of the oracle's constant scores too
    assert saved["test_videos"] == out["test_videos"]
    md = (workdir / "cv_results.md").read_text()
    assert "## split 0 (2 test videos)" in md and "## split 1 (1 test videos)" in md and "mean over 2 splits" in md
    assert jt_workdir.read_config(workdir).summ.folds == 2

    # Fold 1's model read back from its workdir reproduces its row (features z-scored with its training videos).
    assert checkpoint.steps(workdir / "split0") == [1] and checkpoint.steps(workdir / "split1") == [2]
    assert (workdir / "split1" / "loss_curve.png").exists()
    task, params = jt_workdir.load_summarizer(workdir / "split1")
    z = summ_predict.standardizer([videos["video_1"].features, videos["video_2"].features])
    video = videos["video_3"]
    (pred,) = summ_predict.predict(task, params, [z(video.features)], c.data.summ.buckets)
    row = summ_eval.score_steps(video, pred["importance"], video.change_points, mode="max")
    assert row == out["splits"][1]["model"]["videos"][0]
