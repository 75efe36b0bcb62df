"""SiamMask's jnp paste of the window mask (`track.siammask.paste`) against pysot's `_crop_back` (cv2.warpAffine,
restated below from pysot's arithmetic), and batched tracking of a tiny SiamMask (masks, rotated boxes) against
`MaskTracker` run one sequence at a time."""

import functools

import cv2
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtrack import boxes, families, sharding
from jaxtrack.data import synthetic
from jaxtrack.track import batched, siammask
from jaxtrack.track.siamese import RPNConfig
from tests.test_train_tasks import TINY, numpy_init


def crop_back(window_mask, window, crop_center, s_x, config, image_hw):
    """pysot `SiamMaskTracker.track`'s crop_box / sub_box / back_box and `_crop_back` (cv2.warpAffine), float64."""
    out_size = window_mask.shape[0]
    crop_box = [crop_center[0] - s_x / 2, crop_center[1] - s_x / 2, s_x, s_x]
    s = crop_box[2] / config.instance_size
    sub_box = [crop_box[0] + window[0] * s, crop_box[1] + window[1] * s, s * config.exemplar_size,
               s * config.exemplar_size]
    s = out_size / sub_box[2]
    im_h, im_w = image_hw
    back_box = [-sub_box[0] * s, -sub_box[1] * s, im_w * s, im_h * s]
    a, b = (im_w - 1) / back_box[2], (im_h - 1) / back_box[3]
    mapping = np.array([[a, 0, -a * back_box[0]], [0, b, -b * back_box[1]]], np.float64)
    return cv2.warpAffine(window_mask, mapping, (im_w, im_h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


@functools.cache
def jitted_paste():
    return jax.jit(siammask.paste, static_argnums=(4, 6))


@pytest.mark.parametrize("seed", range(6))
def test_paste_equals_pysots_crop_back(seed):
    """Random windows (smooth blobs and noise, S = 15 / 63 / 127) anywhere around and across random frames:
    probabilities within 1e-3 of cv2's (measured 1.4e-4 over 200 draws: float32 coordinates against float64;
    opencv 5's warpAffine interpolates at the exact position, not at 1/32 px) and at most 2 pixels on the other
    side of the threshold; a padded output is the frame's paste with zeros beyond it."""
    rng = np.random.default_rng(seed)
    config = RPNConfig()
    size = (15, 63, 127)[seed % 3]
    yy, xx = np.mgrid[:size, :size]
    blob = 1 / (1 + np.exp(-(0.3 * size - np.hypot(yy - size / 2, xx - size / 3)) / 2))
    window_mask = (blob if seed % 2 else rng.random((size, size))).astype(np.float32)
    image_hw = (int(rng.integers(40, 400)), int(rng.integers(40, 500)))
    s_x = float(np.round(rng.uniform(30, 600)))
    center = np.array([rng.uniform(-40, image_hw[1] + 40), rng.uniform(-40, image_hw[0] + 40)])
    window = 4.0 + 8 * rng.integers(0, 25, 2)
    want = crop_back(window_mask, window, center, s_x, config, image_hw)
    assert (want > siammask.MASK_THRESHOLD).any() or seed % 2 == 0
    args = (jnp.asarray(window_mask), jnp.float32(window), jnp.float32(center), jnp.float32(s_x), config,
            np.int32(image_hw))
    got = np.asarray(jitted_paste()(*args, image_hw))
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-3)
    assert ((got > siammask.MASK_THRESHOLD) != (want > siammask.MASK_THRESHOLD)).sum() <= 2
    padded = np.asarray(jitted_paste()(*args, (image_hw[0] + 7, image_hw[1] + 5)))
    np.testing.assert_array_equal(padded[:image_hw[0], :image_hw[1]], got)
    assert not padded[image_hw[0]:].any() and not padded[:, image_hw[1]:].any()


def test_paste_of_a_single_bright_pixel_lands_where_the_map_sends_it():
    """Closed form: with a window of S frame px (s_x = instance size), frame column x samples window column
    u = x W / (W - 1) - left (pysot's back_box stretch), so one hot pixel j pastes as max(0, 1 - |u - j|) (rows
    alike)."""
    config = RPNConfig(exemplar_size=127, instance_size=255)
    s_x, size, hw = 255.0, 127, (300, 400)  # s = 1: the window is 127 frame px, one window px per frame px
    center, window = np.float32([200, 150]), np.float32([60, 20])
    m = np.zeros((size, size), np.float32)
    m[40, 70] = 1.0
    got = np.asarray(jitted_paste()(jnp.asarray(m), window, center, jnp.float32(s_x), config, np.int32(hw), hw))
    left = center - s_x / 2 + window  # frame (x, y) of window pixel (0, 0)
    cols = np.maximum(0, 1 - np.abs(np.arange(hw[1]) * hw[1] / (hw[1] - 1) - left[0] - 70))
    rows = np.maximum(0, 1 - np.abs(np.arange(hw[0]) * hw[0] / (hw[0] - 1) - left[1] - 40))
    np.testing.assert_allclose(got, np.outer(rows, cols), atol=1e-4)


def tiny_siammask():
    """The tiny SiamMask of the training tests (63 / 167 crops, refine to 63 x 63), numpy-initialised, with the
    refine's last bias lowered so that its masks hold both sides of the threshold; its published tracker settings
    at those crops."""
    kwargs, z, x = TINY["siammask"]
    model = families.get("siammask").build(**kwargs)
    shapes = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, z, z, 3)), jnp.zeros((1, x, x, 3)),
                            jnp.ones((1, 2)))
    variables = numpy_init(shapes, seed=3)
    config = families.get("siammask").tracker_config("unit", {"exemplar_size": z, "instance_size": x})
    return model, config, variables


def test_batched_masks_equal_mask_tracker_one_sequence_at_a_time():
    """Two synthetic videos of different sizes and lengths (5 frames 96 x 112, 3 frames 80 x 128) tracked together:
    boxes, masks and rotated boxes as MaskTracker's on each alone (masks: at most 3 pixels apart a frame, the
    vmapped float32 step against the single one); frame 0 the init box filled / its corners; after a sequence's
    end, masks 0 and polygons NaN; beyond a smaller frame, 0. The multi-process assembly (each process's rows
    gathered and padded to the largest frame) run on this one process gives the same arrays."""
    model, config, variables = tiny_siammask()
    videos = [synthetic.make_video(i, seed=2, config=synthetic.SyntheticConfig(
        height=h, width=w, n_frames=n, n_shots=1, min_shot_len=n)) for i, (n, h, w) in enumerate(((5, 96, 112),
                                                                                                 (3, 80, 128)))]
    init = np.stack([v.boxes[0] for v in videos]).astype(np.float32)
    fns = batched.make_fns(model, config)
    frames = [list(v.frames) for v in videos]
    out = batched.track_sequences(model, config, variables, frames, init, fns)
    out_boxes, _, masks, polygons = out
    gathered = batched._across_processes(model, config, variables, frames, init, fns, sharding.make_mesh())
    for a, b in zip(gathered, out, strict=True):
        np.testing.assert_array_equal(a, b)
    assert masks.shape == (2, 5, 96, 128) and masks.dtype == np.uint8 and polygons.shape == (2, 5, 4, 2)
    tracker = siammask.MaskTracker("siammask", model, config, variables)
    checked = 0
    for i, v in enumerate(videos):
        h, w = v.frames[0].shape[:2]
        np.testing.assert_array_equal(masks[i, 0, :h, :w], boxes.box_mask(init[i], (h, w)))
        np.testing.assert_allclose(polygons[i, 0], boxes.xywh_to_corners(init[i]))
        tracker.init(v.frames[0], init[i])
        for t in range(1, len(v)):
            box, _ = tracker.track(v.frames[t])
            np.testing.assert_allclose(out_boxes[i, t], box, atol=1e-3)
            assert (masks[i, t, :h, :w] != tracker.last_mask).sum() <= 3, (i, t)
            np.testing.assert_allclose(polygons[i, t], tracker.last_polygon, atol=0.5)
            checked += 0 < tracker.last_mask.sum() < h * w
        assert not masks[i, :, h:].any() and not masks[i, :, :, w:].any()
        assert not masks[i, len(v):].any() and np.isnan(polygons[i, len(v):]).all()
    assert checked >= 4  # masks neither empty nor full on most frames
