"""`--mode=export` of a SiamMask workdir: the step artifact also returns the frame's mask (uint8 [H, W], symbolic H,
W). Reloaded with `jax.export.deserialize` alone it tracks as `MaskTracker` (boxes and masks) on two frame sizes;
`ExportedTracker` gives `last_mask` / `last_polygon` as MaskTracker's, and through `eval.benchmark.run_sequence`
masks and rotated boxes; the frames CLI writes them as palette PNGs and VOT polygons; the manifest names the
outputs."""

import json

import cv2
import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from jaxtrack import config as config_lib
from jaxtrack.data import synthetic
from jaxtrack.data.readers import davis
from jaxtrack.eval import benchmark
from jaxtrack.modes import export as export_mode
from jaxtrack.track import export, siammask
from tests.test_mask_batched import tiny_siammask
from tests.test_train_tasks import TINY

pytest.importorskip("flatbuffers", reason="jax.export serialization needs flatbuffers")


def video(h: int, w: int, n: int = 4):
    return synthetic.make_video(0, seed=4, config=synthetic.SyntheticConfig(height=h, width=w, n_frames=n,
                                                                            n_shots=1, min_shot_len=n))


def test_export_mode_of_siammask_returns_masks(tmp_path):
    model, settings, variables = tiny_siammask()
    with ocp.StandardCheckpointer() as ckpt:
        ckpt.save((tmp_path / "checkpoints" / "1" / "state").absolute(),
                  {"params": variables["params"], "batch_stats": variables["batch_stats"]})
    c = config_lib.experiment("export")
    kwargs, z, x = TINY["siammask"]
    c.model.name, c.model.kwargs, c.task.normalize, c.export_platforms = "siammask", kwargs, "unit", ("cpu",)
    c.track = {"exemplar_size": z, "instance_size": x}
    manifest = export_mode.run(c, str(tmp_path))
    assert manifest["outputs"] == ["box", "score", "mask"] and "mask [H, W] uint8" in manifest["step"]
    assert json.loads((tmp_path / "export" / "manifest.json").read_text())["outputs"] == manifest["outputs"]

    init, step = (jax.export.deserialize(bytearray((tmp_path / "export" / f"{n}.jaxexport").read_bytes()))
                  for n in ("init", "step"))
    tracker = siammask.MaskTracker("siammask", model, settings, variables)
    nontrivial = 0
    for h, w in ((96, 112), (81, 130)):  # one artifact, two frame sizes
        v = video(h, w)
        box0 = np.asarray(v.boxes[0], np.float32)
        state = init.call(v.frames[0], box0)
        tracker.init(v.frames[0], box0)
        for frame in v.frames[1:]:
            state, box, score, mask = step.call(state, frame)
            want_box, want_score = tracker.track(frame)
            assert mask.shape == (h, w) and mask.dtype == np.uint8
            np.testing.assert_allclose(box, want_box, rtol=1e-5, atol=1e-3)
            assert abs(float(score) - want_score) < 1e-4
            assert (np.asarray(mask) != tracker.last_mask).sum() <= 3
            nontrivial += 0 < tracker.last_mask.sum() < h * w

    exported = export.ExportedTracker(tmp_path / "export")
    v = video(96, 112)
    run = benchmark.run_sequence(exported, v)
    tracker.init(v.frames[0], v.boxes[0])
    for t, frame in enumerate(v.frames[1:], 1):
        tracker.track(frame)
        assert (run.masks[t] != tracker.last_mask).sum() <= 3
        np.testing.assert_allclose(run.polygons[t], tracker.last_polygon, atol=0.5)
    assert run.masks.shape == (4, 96, 112) and run.polygons.shape == (4, 4, 2)
    assert nontrivial >= 4  # masks neither empty nor full: the comparison is not vacuous

    for t, frame in enumerate(v.frames):
        cv2.imwrite(str(tmp_path / f"f{t}.png"), frame[..., ::-1])
    out = tmp_path / "cli" / "seq.txt"
    export.main([str(tmp_path / "export"), f"--frames={tmp_path}/f*.png", "--box=" + ",".join(map(str, v.boxes[0])),
                 f"--out={out}"])
    np.testing.assert_allclose(np.loadtxt(out, delimiter=","), run.boxes, atol=1e-3)
    for t in range(len(v)):
        np.testing.assert_array_equal(davis.read_label_png(tmp_path / "cli" / "seq" / f"f{t}.png"), run.masks[t])
    polygons = np.loadtxt(tmp_path / "cli" / "seq_polygons.txt", delimiter=",").reshape(-1, 4, 2)
    np.testing.assert_allclose(polygons, run.polygons, atol=1e-3)
