"""Exported trackers (`jaxtrack.track.export`): the reloaded StableHLO tracks exactly as the jitted tracker on
frames of several sizes (symbolic H, W), `--mode=export` from a checkpoint folder, the file CLI, `--mode=track`,
bad input."""

import functools
import json

import cv2
import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
import pytest

from jaxtrack import boxes, config, families
from jaxtrack.data import synthetic
from jaxtrack.modes import export as export_mode
from jaxtrack.modes import track as track_run
from jaxtrack.track import draw, export, siamese
from jaxtrack.train import checkpoint
from tests.test_models_heads import BOX, X, Z, abstract, random_variables

pytest.importorskip("flatbuffers", reason="jax.export serialization needs flatbuffers")

NAME = "siamrpnpp"
KWARGS = {"backbone": "resnet18_small_atrous", "neck_channels": 8, "backbone_args": {"stage_sizes": (1, 1, 1, 1)}}


@functools.cache
def variables():
    model = families.get(NAME).build(**KWARGS)
    return random_variables(jax.eval_shape(model.init, jax.random.key(0), *abstract(Z, X, BOX)))


def tracker():
    family = families.get(NAME)
    return siamese.Tracker(NAME, family.build(**KWARGS), family.tracker, variables())


def experiment(**track_video) -> ml_collections.ConfigDict:
    c = config.experiment("track")
    c.model.name, c.model.kwargs, c.task.normalize, c.export_platforms = NAME, KWARGS, "none", ("cpu",)
    c.track_video.update(track_video)
    return c


@functools.cache
def exported_dir(tmp_root):
    export.export_tracker(tracker(), tmp_root / "export", platforms=("cpu",), model_kwargs=KWARGS)
    return tmp_root / "export"


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    return exported_dir(tmp_path_factory.mktemp("exported"))


def run_boxes(t, frames, box):
    t.init(frames[0], box)
    return np.stack([box] + [t.track(f)[0] for f in frames[1:]])


@pytest.mark.parametrize("hw", [(96, 128), (121, 90)])
def test_exported_tracker_matches_jitted_tracker(export_dir, hw):
    cfg = synthetic.SyntheticConfig(height=hw[0], width=hw[1], n_frames=5, n_shots=1, min_shot_len=5)
    video = synthetic.make_video(0, seed=3, config=cfg)
    box = np.asarray(video.boxes[0], np.float32)
    want = run_boxes(tracker(), video.frames, box)
    got = run_boxes(export.ExportedTracker(export_dir), video.frames, box)
    assert np.isfinite(want).all()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)
    assert np.abs(np.diff(want, axis=0)).max() > 0  # the tracker moved: the comparison is not vacuous


def test_manifest(export_dir):
    manifest = json.loads((export_dir / "manifest.json").read_text())
    assert manifest["model"] == NAME and manifest["platforms"] == ["cpu"]
    assert manifest["model_kwargs"]["neck_channels"] == 8
    assert manifest["tracking"]["window_influence"] == families.get(NAME).tracker.window_influence


def test_export_mode_from_checkpoint_and_cli(tmp_path):
    v = variables()
    with ocp.StandardCheckpointer() as ckpt:
        ckpt.save((tmp_path / "checkpoints" / "7" / "state").absolute(),
                  {"params": v["params"], "batch_stats": v["batch_stats"], "step": 7})
    export_mode.run(experiment(), str(tmp_path))
    cfg = synthetic.SyntheticConfig(height=80, width=100, n_frames=4, n_shots=1, min_shot_len=4)
    video = synthetic.make_video(1, seed=0, config=cfg)
    for t, frame in enumerate(video.frames):
        cv2.imwrite(str(tmp_path / f"{t:04d}.png"), frame[..., ::-1])
    box = np.asarray(video.boxes[0], np.float32)
    out = tmp_path / "boxes.txt"
    export.main([str(tmp_path / "export"), f"--frames={tmp_path}/*.png", "--box=" + ",".join(map(str, box)),
                 f"--out={out}"])
    got = np.loadtxt(out, delimiter=",")
    np.testing.assert_allclose(got, run_boxes(tracker(), video.frames, box), atol=0.01)


def test_track_mode(tmp_path):
    """`--mode=track` on synthetic test videos (checkpoint) and on a frame folder (exported tracker)."""
    v = variables()
    with ocp.StandardCheckpointer() as ckpt:
        ckpt.save((tmp_path / "checkpoints" / "3" / "state").absolute(), {"params": v["params"],
                                                                          "batch_stats": v["batch_stats"]})
    config = experiment(num_videos=1, synthetic={"height": 72, "width": 88, "n_frames": 6, "n_shots": 1,
                                                 "min_shot_len": 6})
    report = track_run.run(config, str(tmp_path))
    (name, entry), = report.items()
    video = synthetic.make_videos(1, seed=0, split="test", config=synthetic.SyntheticConfig(
        height=72, width=88, n_frames=6, n_shots=1, min_shot_len=6))[0]
    want = run_boxes(tracker(), video.frames, video.boxes[0])
    np.testing.assert_allclose(np.loadtxt(tmp_path / "track" / f"{name}.txt", delimiter=","), want, atol=0.01)
    seen = np.flatnonzero(video.cover[1:] > 0) + 1
    iou = np.mean([boxes.iou(want[t], video.boxes[t]) for t in seen])
    assert entry["frames"] == 6 and entry["ao"] == pytest.approx(iou, abs=1e-3) and len(seen) >= 3
    assert (tmp_path / "track" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    export_mode.run(config, str(tmp_path))
    for t, frame in enumerate(video.frames):
        cv2.imwrite(str(tmp_path / f"f{t}.png"), frame[..., ::-1])
    config.track_video.update(frames=str(tmp_path / "f*.png"), box=",".join(map(str, video.boxes[0])),
                              exported=True)
    (name, entry), = track_run.run(config, str(tmp_path)).items()
    assert "ao" not in entry  # no ground truth beyond frame 0
    np.testing.assert_allclose(np.loadtxt(tmp_path / "track" / f"{name}.txt", delimiter=","), want, atol=0.01)
    config.track_video.box = "1,2,3"
    with pytest.raises(ValueError, match=r"track_video\.box must be x,y,w,h"):
        track_run.run(config, str(tmp_path))


def test_tracked_frames_grid():
    """Boxes drawn on the chosen steps only: red prediction and green ground-truth outlines, tiles in a grid."""
    frames = np.zeros((10, 20, 30, 3), np.uint8)
    pred, gt = np.full((10, 4), [2, 3, 10, 8], np.float32), np.full((10, 4), [15, 5, 6, 6], np.float32)
    gt[9] = np.nan
    steps = draw.frame_steps(10, 4)
    assert steps.tolist() == [0, 3, 6, 9]
    grid = draw.tracked_frames(frames[steps], steps, pred, gt, cols=3, labels=False)
    assert grid.shape == (40, 90, 3)
    assert tuple(grid[3, 2]) == draw.PRED and tuple(grid[10, 11]) == draw.PRED  # corners (2, 3), (11, 10)
    assert tuple(grid[5, 15]) == draw.GT and tuple(grid[7, 7]) == (0, 0, 0)  # inside the box: untouched
    assert not (grid[20:40, 30:60] == draw.GT).all(-1).any()  # step 9: no ground truth drawn
    assert not grid[20:40, 60:90].any()  # the empty tile filling the grid
    with pytest.raises(ValueError, match="must agree"):
        draw.tracked_frames(frames[:2], [0, 10], pred)


def test_bad_input(tmp_path, export_dir):
    with pytest.raises(FileNotFoundError, match=r"init\.jaxexport"):
        export.ExportedTracker(tmp_path)
    t = export.ExportedTracker(export_dir)
    with pytest.raises(RuntimeError, match="before init"):
        t.track(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        t.init(np.zeros((8, 8, 3), np.float32), [1, 1, 4, 4])
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        checkpoint.restore_variables(tmp_path)
    with pytest.raises(KeyError, match="not fields of RPNConfig"):
        families.get(NAME).tracker_config(overrides={"scale_step": 1.1})
    with pytest.raises(SystemExit):
        export.main([str(export_dir), "--frames=/nonexistent/*.png", "--box=1,2,3,4"])
