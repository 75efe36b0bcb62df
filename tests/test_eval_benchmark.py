"""Benchmark toolkit: baselines on a tiny synthetic video, result-file round trips, tables and plots, and
`modes.eval.run` end to end (the VOT measures: test_eval_vot.py)."""

import zipfile

import cv2
import numpy as np
import pytest

from jaxtrack import config as config_lib
from jaxtrack import families
from jaxtrack.data import synthetic
from jaxtrack.eval import benchmark
from jaxtrack.modes import eval as run
from jaxtrack.track import baselines
from jaxtrack.train import checkpoint

GT = np.array([10.0, 10.0, 10.0, 10.0], np.float32)


@pytest.fixture(scope="module")
def tiny_video():
    config = synthetic.SyntheticConfig(height=64, width=80, n_frames=8, n_shots=1, min_shot_len=8)
    return synthetic.make_videos(1, seed=0, config=config, split="test")[0]


@pytest.mark.parametrize("name", sorted(baselines.BASELINES))
def test_baselines_track_tiny_video(name, tiny_video):
    result = benchmark.run_sequence(baselines.make(name), tiny_video)
    assert result.boxes.shape == (8, 4) and np.isfinite(result.boxes).all()
    np.testing.assert_array_equal(result.boxes[0], tiny_video.boxes[0])
    score = benchmark.score_sequence(tiny_video, result)
    assert 0.0 <= score.otb.success_auc <= 1.0 and score.fps > 0
    with pytest.raises(KeyError, match="not registered"):
        baselines.make("mosse2")


@pytest.mark.parametrize("layout, one_based", [("otb", True), ("otb", False), ("got10k", False)])
def test_result_files_round_trip(tmp_path, layout, one_based):
    boxes = np.random.default_rng(0).uniform(0, 100, (6, 4)).round(3).astype(np.float32)
    res = benchmark.Run(boxes, np.ones(6, np.float32), np.linspace(0.01, 0.02, 6))
    benchmark.write_result(layout, tmp_path, "trk", "seq1", res, one_based=one_based)
    box_path, _ = benchmark.result_paths(layout, tmp_path, "trk", "seq1")
    first = np.array(box_path.read_text().splitlines()[0].split(","), float)
    np.testing.assert_allclose(first[:2], boxes[0, :2] + one_based, atol=1e-3)
    back = benchmark.read_result(layout, tmp_path, "trk", "seq1", one_based=one_based)
    np.testing.assert_allclose(back.boxes, boxes, atol=1e-3)
    np.testing.assert_allclose(back.seconds, res.seconds, atol=1e-8)
    expected = {"otb": "trk/seq1.txt", "got10k": "trk/seq1/seq1_001.txt"}[layout]
    assert box_path == tmp_path / expected


def test_got10k_submission_zip(tmp_path):
    res = benchmark.Run(np.ones((3, 4), np.float32), np.ones(3, np.float32), np.full(3, 0.01))
    for seq in ("GOT-10k_Test_000001", "GOT-10k_Test_000002"):
        benchmark.write_result("got10k", tmp_path, "trk", seq, res)
    path = benchmark.submission_zip(tmp_path, "trk")
    assert path == benchmark.submission_path(tmp_path, "trk") == tmp_path / "trk.zip"
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == [f"GOT-10k_Test_00000{i}/GOT-10k_Test_00000{i}_{k}.txt"
                                        for i in (1, 2) for k in ("001", "time")]
        assert z.read("GOT-10k_Test_000002/GOT-10k_Test_000002_001.txt").decode().splitlines()[0] == \
            "1.0000,1.0000,1.0000,1.0000"
    with pytest.raises(FileNotFoundError, match="no result files"):
        benchmark.submission_zip(tmp_path, "nobody")


def test_table_plots_and_run_end_to_end(tmp_path):
    report = run.run(eval_config(benchmark="synthetic", num_videos=2, baselines=["static"], vot=True,
                                 synthetic={"height": 96, "width": 96, "n_frames": 12, "n_shots": 2}), str(tmp_path))
    out = tmp_path / "eval" / "synthetic"
    assert (out / "all_success.png").read_bytes()[:4] == b"\x89PNG" and (out / "all_precision.png").exists()
    md = (out / "summary.md").read_text()
    assert "| static | 2 |" in md and "EAO" in md
    assert (out / "results" / "static" / "test_00000.txt").exists()
    assert 0 <= report["static"]["all"]["auc"] <= 1 and "eao" in report["static"]["vot"]
    with pytest.raises(KeyError, match=r"config\.eval\.benchmark"):
        run.run(eval_config(benchmark="vot2099"), str(tmp_path))


def test_summary_has_paired_differences(tmp_path):
    """Two trackers: summary.md's paired row is the difference of their overall AUCs (the mean of the per-video
    AUCs) with an interval around it; one tracker: no such section."""
    cfg = eval_config(benchmark="synthetic", num_videos=3, baselines=["static", "kcf"],
                      synthetic={"height": 96, "width": 96, "n_frames": 12, "n_shots": 2})
    report = run.run(cfg, str(tmp_path))
    md = (tmp_path / "eval" / "synthetic" / "summary.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| static - kcf |"))
    mean, lo, hi = (float(v) for v in row.replace("[", "").replace("]", "").split("|")[2:4][0:1]
                    + row.split("[")[1].split("]")[0].split(","))
    assert mean == pytest.approx(report["static"]["all"]["auc"] - report["kcf"]["all"]["auc"], abs=1.5e-3)
    assert lo <= mean <= hi and hi > lo
    assert run.paired_differences({"static": np.zeros(3)}) == ""


def test_load_variables(tmp_path):
    import orbax.checkpoint as ocp

    ckpt = ocp.StandardCheckpointer()
    ckpt.save(tmp_path / "checkpoints" / "7" / "state", {"params": {"w": np.ones(3)}, "batch_stats": {}, "step": 7})
    ckpt.wait_until_finished()
    variables = checkpoint.restore_variables(tmp_path)
    np.testing.assert_array_equal(variables["params"]["w"], np.ones(3))
    with pytest.raises(FileNotFoundError, match="no checkpoint 3"):
        checkpoint.restore_variables(tmp_path, 3)


def test_track_config_overrides_defaults():
    from jaxtrack.track import siamese

    got = families.get("siamrpnpp").tracker_config("imagenet", {"instance_size": 127, "scales": [4.0]})
    assert got == siamese.RPNConfig(normalize="imagenet", instance_size=127, scales=(4.0,))
    assert families.get("siamban").tracker_config("none") == siamese.BANConfig()
    with pytest.raises(KeyError, match="not fields of BANConfig"):
        families.get("siamban").tracker_config(overrides={"scale_lr": 0.5})


def _write_frames(folder, n, size=(48, 64)):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        cv2.imwrite(str(folder / f"{i:08d}.jpg"), np.full((*size, 3), 20 * i, np.uint8))


def test_got10k_test_writes_the_submission(tmp_path):
    for name in ("GOT-10k_Test_000001", "GOT-10k_Test_000002"):
        _write_frames(tmp_path / "data" / "test" / name, 4)
        (tmp_path / "data" / "test" / name / "groundtruth.txt").write_text("5,6,20,10\n")
    (tmp_path / "data" / "test" / "list.txt").write_text("GOT-10k_Test_000001\nGOT-10k_Test_000002\n")
    report = run.run(eval_config(benchmark="got10k_test", data_root=str(tmp_path / "data"), baselines=["static"]),
                     str(tmp_path))
    with zipfile.ZipFile(report["static"]["submission"]) as z:
        assert len(z.namelist()) == 4
        lines = z.read("GOT-10k_Test_000002/GOT-10k_Test_000002_001.txt").decode().splitlines()
    assert lines == ["5.0000,6.0000,20.0000,10.0000"] * 4  # the static box, 0-based as the ground truth


def test_vot_benchmark_runs_the_reinitialisation_protocol(tmp_path):
    root = tmp_path / "vot"
    _write_frames(root / "ball" / "color", 12)
    rect = "10,8,20,16"
    (root / "ball" / "groundtruth.txt").write_text("\n".join([rect] * 6 + ["30,20,12,10"] * 6) + "\n")
    (root / "list.txt").write_text("ball\n")
    report = run.run(eval_config(benchmark="vot", data_root=str(root), baselines=["static"]), str(tmp_path))
    vot = report["static"]["vot"]
    assert vot["failures"] >= 1  # the static box loses the target when it jumps at frame 6
    assert "EAO" in (tmp_path / "eval" / "vot" / "summary.md").read_text()


def test_checkpoints_field_adds_models(tmp_path):
    c = eval_config(models=[{"workdir": "a", "label": "x"}], checkpoints="b, c")
    assert run.model_entries(c, tmp_path) == [{"workdir": "a", "label": "x"}, {"workdir": "b"}, {"workdir": "c"}]
    with pytest.raises(FileNotFoundError, match=r"config\.json: no such file"):
        run.make_trackers(eval_config(checkpoints=str(tmp_path), baselines=[]), tmp_path)
    trained = config_lib.experiment("train")
    trained.model.name = "siamfc"
    trained_dir = tmp_path / "trained"
    from jaxtrack import workdir

    workdir.write_config(trained_dir, trained)
    with pytest.raises(FileNotFoundError, match="no checkpoint found"):
        run.make_trackers(eval_config(models=[{"workdir": str(trained_dir)}], baselines=[]), tmp_path)
    trained.eval = eval_config(baselines=[]).eval  # a training experiment in its own workdir evaluates its model
    (trained_dir / "checkpoints").mkdir()
    assert run.model_entries(trained, trained_dir) == []  # no checkpoint yet
    (trained_dir / "checkpoints" / "5").mkdir()
    assert run.model_entries(trained, trained_dir) == [{"workdir": str(trained_dir)}]


def eval_config(**eval_fields):
    c = config_lib.experiment("eval")
    c.eval.update(eval_fields)
    return c
