"""The SiamMask tracker frame for frame against pysot's (tests/torch_ref/siammask_tracker.py, a restatement of
`SiamMaskTracker` over the narrow torch siammask_r50_l3 of tests/torch_ref/siammask.py with non-default random
weights): the model goes to a `.pth`, through `--mode=convert` (experiment siammask_r50_l3) into a workdir, and
`workdir.load_tracker` (the family's `MaskTracker`) tracks a short synthetic video (RGB) next to the reference on the
same frames in BGR. Boxes agree to 0.05 px, masks pixel for pixel up to the threshold's ties (float32 state and
network against float64 / torch: at most 30 boundary pixels of 76800; 4 measured), rotated boxes to 0.5 px (0
measured). See tests/test_parity_tracking.py on why one fixed video: the two trackers agree until a state lands on a
decision boundary (videos 0-2 of this stream stay together for 11 frames, 0-3 for 23 at 24 frames)."""

import cv2
import numpy as np
import pytest

from jaxtrack import workdir
from jaxtrack.data import synthetic
from jaxtrack.modes import convert as convert_mode
from jaxtrack.track.siammask import MaskTracker, rotated_box

torch = pytest.importorskip("torch")
from experiments import siammask_r50_l3  # noqa: E402
from tests.torch_ref import builders, siammask_tracker  # noqa: E402
from tests.torch_ref import siammask as tm  # noqa: E402
from tests.torch_ref.builders import tame  # noqa: E402
from tests.torch_ref.tracker_loop import first_crops, reference_settings  # noqa: E402

torch.set_num_threads(1)
FRAMES = 12


@torch.no_grad()
def mask_model(bgr, box, track):
    """The narrow siammask_r50_l3, randomized on the first crops, tamed, and its refine's last conv biased so that
    the window masks hold both sides of the threshold."""
    model = tm.build(small=True)
    z, x = first_crops(bgr, box, track)
    builders.randomize(model, lambda: (model.template(z), model.track(x)))
    model = tame(model)
    model.refine_head.post2.weight.mul_(0.3)
    model.refine_head.post2.bias.fill_(-0.5)
    return model


def test_masks_boxes_and_rotated_boxes_match_pysots(tmp_path):
    cfg = synthetic.SyntheticConfig(height=240, width=320, n_frames=FRAMES, n_shots=1, min_shot_len=FRAMES)
    v = synthetic.make_video(0, seed=5, config=cfg)
    config = siammask_r50_l3.get_config()
    config.model.kwargs.update(tm.SMALL)
    box0 = np.asarray(v.boxes[0], np.float64)
    model = mask_model(v.frames[0][..., ::-1], box0, config.track)
    torch.save(model.state_dict(), tmp_path / "model.pth")
    config.convert.checkpoint = str(tmp_path / "model.pth")
    convert_mode.run(config, str(tmp_path / "run"))
    ours = workdir.load_tracker(tmp_path / "run")
    assert isinstance(ours, MaskTracker)
    ref = siammask_tracker.Tracker(model, reference_settings(config.track, False))

    ours.init(v.frames[0], box0.astype(np.float32))
    ref.init(np.ascontiguousarray(v.frames[0][..., ::-1]), box0)
    contour_frames = 0
    for t, frame in enumerate(v.frames[1:], 1):
        box, _ = ours.track(frame)
        want = ref.track(np.ascontiguousarray(frame[..., ::-1]))
        assert np.abs(box - np.asarray(want["bbox"])).max() <= 0.05, t
        want_mask = want["mask"] > siammask_tracker.MASK_THERSHOLD
        assert ours.last_mask.shape == want_mask.shape and ours.last_mask.dtype == np.uint8
        differ = int((ours.last_mask.astype(bool) != want_mask).sum())
        assert differ <= 30 and want_mask.sum() > 1000, (t, differ)
        assert np.abs(ours.last_polygon - np.reshape(want["polygon"], (4, 2))).max() <= 0.5, t
        corners = np.array([[box[0], box[1]], [box[0] + box[2], box[1]], [box[0] + box[2], box[1] + box[3]],
                            [box[0], box[1] + box[3]]])
        contour_frames += not np.allclose(ours.last_polygon, corners, atol=1e-3)
    assert contour_frames >= 3  # the rotated boxes come from masks, not from the fallback alone


def test_rotated_box_of_a_drawn_rectangle_and_the_fallback():
    """minAreaRect of a filled rotated rectangle gives its corners (to a pixel); a mask whose largest contour has
    area <= 100 px gives the box's corners clockwise from the top-left, as pysot's fallback."""
    mask = np.zeros((120, 160), np.uint8)
    corners = np.array([[40, 30], [110, 60], [95, 95], [25, 65]], np.float64)  # sides (70, 30) and (-15, 35)
    cv2.fillPoly(mask, [corners.astype(np.int32)], 1)
    got = rotated_box(mask, [0, 0, 1, 1])
    dist = np.linalg.norm(got[:, None] - corners[None], axis=-1).min(1)
    assert dist.max() < 2.0
    small = np.zeros((120, 160), np.uint8)
    small[10:18, 20:30] = 1  # contour area 7 * 9 = 63
    np.testing.assert_allclose(rotated_box(small, [5, 6, 10, 20]), [[5, 6], [15, 6], [15, 26], [5, 26]])
