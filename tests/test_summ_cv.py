"""`--mode=summarize` on an eccv16 dataset: the command line the README gives (`--config.data.dataset=summe
--config.data.manual_dir=...`, no folds set) runs the 5 canonical splits end to end on a tiny eccv16 h5 file
written here (SumMe layout, 5 videos of 2-frame shots, a tiny model for 1 epoch), and `--mode=compress` takes a fold
of it; bad videos stop it in one line."""

import json

import h5py
import numpy as np
import pytest

import launch
from jaxtrack import modes
from jaxtrack import workdir as jt_workdir
from jaxtrack.data import tfds_source
from jaxtrack.eval import summ_eval, summ_predict
from jaxtrack.eval.summarization import f_score
from jaxtrack.train import checkpoint

KEYS = [f"video_{k}" for k in range(1, 6)]
FOLDS = [{"train_keys": [k for k in KEYS if k != test], "test_keys": [test]} for test in KEYS]  # leave one out
H5 = "eccv16_dataset_summe_google_pool5.h5"


def summe_files(manual, lengths=(30, 45, 20, 24, 36)):
    """The h5 file and splits json of SumMe's eccv16 layout: varied features on every 15th frame, 2-frame shots,
    two agreeing users."""
    manual.mkdir(parents=True)
    rng = np.random.default_rng(0)
    with h5py.File(manual / H5, "w") as f:
        for key, n in zip(KEYS, lengths, strict=True):
            g = f.create_group(key)
            picks = np.arange(0, n, 15)
            g["features"], g["picks"], g["gtscore"] = rng.normal(size=(len(picks), 4)), picks, rng.random(len(picks))
            g["user_summary"] = (np.arange(n)[None] % 3 == 0).repeat(2, 0).astype(np.float32)
            g["change_points"] = np.stack([np.arange(0, n, 2), np.minimum(np.arange(0, n, 2) + 1, n - 1)], 1)
            g["n_frame_per_seg"], g["n_frames"] = np.diff(np.append(g["change_points"][:, 0], n)), n
    (manual / "summe_splits.json").write_text(json.dumps(FOLDS))


def readme_command(workdir, manual, *overrides):
    """(config, mode) of the README's command on SumMe, with a tiny model."""
    return launch.resolve(["launch.py", "--experiment=dpplstm_synthetic", f"--workdir={workdir}",
                           "--config.data.dataset=summe", f"--config.data.manual_dir={manual}",
                           "--config.summ.mode=max", "--config.data.batch_size=1", "--config.num_epochs=1",
                           "--config.model.kwargs.hidden=4", "--config.model.kwargs.mlp_hidden=4",
                           "--config.model.kwargs.kernel_dim=2", *overrides])


def test_five_canonical_splits_from_the_readme_command(tmp_path):
    manual, workdir = tmp_path / "raw", tmp_path / "cv"
    summe_files(manual)
    c, mode = readme_command(workdir, manual)
    assert (mode, c.summ.folds) == ("summarize", 0)
    out = modes.get(mode)(c, str(workdir))

    full = tfds_source.load("summe", "full", data_dir=tmp_path / "tfds", manual_dir=manual)  # default data_dir
    videos = {v.name: v for v in full.videos}
    tested = [name for names in out["test_videos"] for name in names]
    assert out["test_videos"] == [f["test_keys"] for f in FOLDS] and len(out["splits"]) == 5
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
    assert "## split 4 (1 test videos)" in md and "mean over 5 splits" in md

    # Fold 1's model read back from its workdir reproduces its row (features z-scored with its training videos).
    assert all(checkpoint.steps(workdir / f"split{k}") == [4] for k in range(5))  # 4 videos, batch 1, 1 epoch
    assert (workdir / "split1" / "loss_curve.png").exists()
    task, params = jt_workdir.load_summarizer(workdir / "split1")
    z = summ_predict.standardizer([videos[k].features for k in FOLDS[1]["train_keys"]])
    video = videos["video_2"]
    (pred,) = summ_predict.predict(task, params, [z(video.features)], c.data.summ.buckets)
    row = summ_eval.score_steps(video, pred["importance"], video.change_points, mode="max")
    assert row == out["splits"][1]["model"]["videos"][0]

    # --mode=compress on fold 1 of the run: at full rank, without fine-tuning, the same figures as its cv row.
    c.compress.update(fold=1, rank=4, finetune_epochs=0, repeats=1)
    exact, full = modes.get("compress")(c, str(workdir))
    for key in ("f", "tau", "rho"):
        assert exact[key] == pytest.approx(out["splits"][1]["model"]["mean"][key], nan_ok=True)
        assert full[key] == pytest.approx(exact[key], nan_ok=True, abs=1e-9)
    assert (workdir / "split1" / "compressed" / "rank4" / "compress_results.md").exists()


@pytest.mark.parametrize("bad, message", [
    ("nan", r"eccv16_dataset_summe_google_pool5.h5: video 'video_3': features \(2, 4\) holds 1 NaN/inf values "
            r"\(first at index \[1, 2\]\)"),
    ("gtscore", r"eccv16_dataset_summe_google_pool5.h5: video 'video_3': gtscore \(2,\) holds 2 NaN/inf values"),
    ("empty", r"eccv16_dataset_summe_google_pool5.h5: video 'video_3': zero-length video \(n_frames=0"),
])
def test_a_bad_video_stops_the_build_in_one_line(tmp_path, bad, message):
    """NaN features used to give NaN tau / rho for that video (left out of the model's mean, kept in the baselines');
    a zero-length video an IndexError."""
    manual = tmp_path / "raw"
    summe_files(manual)
    with h5py.File(manual / H5, "a") as f:
        g = f["video_3"]
        if bad == "nan":
            g["features"][1, 2] = np.nan
        elif bad == "gtscore":
            g["gtscore"][...] = np.inf
        else:
            for name in list(g):
                del g[name]
            g["features"], g["picks"], g["gtscore"] = np.zeros((0, 4)), np.zeros(0, int), np.zeros(0)
            g["user_summary"], g["change_points"] = np.zeros((2, 0)), np.zeros((0, 2), int)
            g["n_frame_per_seg"], g["n_frames"] = np.zeros(0, int), 0
    c, mode = readme_command(tmp_path / "cv", manual)
    with pytest.raises(ValueError, match=message) as e:
        modes.get(mode)(c, str(tmp_path / "cv"))
    assert "\n" not in str(e.value)
    assert not (tmp_path / "cv" / "split0").exists()  # nothing trained
