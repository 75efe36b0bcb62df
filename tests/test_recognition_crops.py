"""Multi-crop test views (`pipeline_clips.crop_view`, `data.clips.test_crops`): ThreeCrop and TenCrop against pixel
loops over mmaction2's crop boxes, the test batches' view order, and video scores averaged over views with the
mirrored classes swapped in flipped views, against a loop over rows."""

import jax
import numpy as np
import pytest

from jaxtrack.data import pipeline_clips
from jaxtrack.data.sources import InMemoryVideos
from jaxtrack.data.video import Video
from jaxtrack.eval import recognition


def ramp(h, w, offset=0):
    """A frame of (y * w + x + offset) mod 251 in channel 0 (+1, +2 in the others): any shift shows."""
    v = (np.arange(h * w).reshape(h, w) + offset) % 251
    return np.stack([v, (v + 1) % 251, (v + 2) % 251], -1).astype(np.uint8)


def loop_crop(frame, left, top, side, flip=False):
    out = np.zeros((side, side, 3), np.uint8)
    for y in range(side):
        for x in range(side):
            out[y, x] = frame[top + y, left + (side - 1 - x if flip else x)]
    return out


# mmaction2's boxes (left, top): ThreeCrop (left, right, middle: (w - S) // 2 steps); TenCrop (upper left, upper
# right, lower left, lower right, centre on (size - S) // 4 steps), each followed by its mirror image
THREE_WIDE = [(0, 0), (10, 0), (5, 0)]  # 20 x 31 frame, S = 20: step 5
THREE_TALL = [(0, 0), (0, 10), (0, 5)]  # 31 x 20 frame
TEN = [(0, 0), (20, 0), (0, 4), (20, 4), (10, 2)]  # 32 x 48 frame, S = 28 (32 = 28 * 256 / 224): steps 5, 1
# and on a 32 x 50 frame: step (50 - 28) // 4 = 5 again, the right two columns unused


@pytest.mark.parametrize("shape, size, crops, boxes", [((20, 31), 20, 3, THREE_WIDE), ((20, 31), 0, 3, THREE_WIDE),
                                                       ((31, 20), 20, 3, THREE_TALL), ((32, 48), 28, 10, TEN),
                                                       ((32, 50), 28, 10, TEN)])
def test_crop_views_are_mmaction2s_boxes(shape, size, crops, boxes):
    frame = ramp(*shape)
    side = size or min(shape)
    for view in range(crops):
        flip = crops == 10 and view % 2 == 1
        left, top = boxes[view // 2 if crops == 10 else view]
        np.testing.assert_array_equal(pipeline_clips.crop_view(frame, size, crops, view),
                                      loop_crop(frame, left, top, side, flip), err_msg=f"view {view}")


def test_ten_crop_resizes_the_shorter_side_by_256_over_224():
    views = [pipeline_clips.crop_view(ramp(64, 96), 28, 10, v) for v in range(10)]  # 64 -> 32, then 28 px crops
    assert {v.shape for v in views} == {(28, 28, 3)}
    np.testing.assert_array_equal(views[1], views[0][:, ::-1])
    assert pipeline_clips.crop_view(ramp(64, 96), 32, 3, 0).shape == (32, 32, 3)
    with pytest.raises(ValueError, match="test_crops must be one of"):
        pipeline_clips.ClipConfig(test_crops=5)


def test_test_batches_hold_every_view_of_every_clip():
    videos = [Video(name=f"v{i}", frames=np.stack([ramp(32, 48, 40 * i + t) for t in range(6)])) for i in range(2)]
    data = pipeline_clips.LabelledVideos(InMemoryVideos(videos), np.array([0, 1]), ("a", "b"))
    cfg = pipeline_clips.ClipConfig(num_segments=2, image_size=28, num_clips=2, test_crops=10)
    rows = [b for b in pipeline_clips.clip_batches(data, cfg, batch_size=7, train=False)]
    cat = {k: np.concatenate([b[k] for b in rows]) for k in rows[0]}
    want = [(v, c, crop) for v in range(2) for c in range(2) for crop in range(10)]
    assert list(zip(cat["index"], cat["clip"], cat["crop"], strict=True)) == want
    np.testing.assert_array_equal(cat["flip"], [crop % 2 == 1 for _, _, crop in want])
    for row, (v, c, crop) in enumerate(want):
        idx, _ = pipeline_clips.clip_indices(6, cfg, clip=c)
        for k in range(2):
            left, top = TEN[crop // 2]
            np.testing.assert_array_equal(cat["frames"][row, k, 0],
                                          loop_crop(ramp(32, 48, 40 * v + int(idx[k, 0])), left, top, 28, crop % 2))
    train = next(iter(pipeline_clips.clip_batches(data, cfg, batch_size=2)))
    assert train["frames"].shape[3:5] == (28, 28) and not train["flip"].any()  # training: the centre crop


def test_scores_average_views_and_swap_mirrored_classes():
    rng = np.random.default_rng(0)
    n_videos, n_classes, pairs = 3, 4, ((0, 1),)
    rows = [(v, view) for v in range(n_videos) for view in range(10)]
    logits = rng.normal(size=(len(rows), n_classes)).astype(np.float32)
    order = rng.permutation(len(rows))  # views of a video spread over batches
    batches = [{"index": np.array([rows[i][0] for i in chunk]), "flip": np.array([rows[i][1] % 2 == 1 for i in chunk]),
                "row": chunk} for chunk in np.array_split(order, 4)]
    got = recognition.video_scores(lambda b: logits[b["row"]], batches, n_videos, flip_pairs=pairs)
    want = np.zeros((n_videos, n_classes))
    for i, (v, view) in enumerate(rows):
        p = np.asarray(jax.nn.softmax(logits[i]))
        if view % 2:
            p = p[[1, 0, 2, 3]]  # a mirrored "left to right" is a "right to left"
        want[v] += p / 10
    np.testing.assert_allclose(got, want, rtol=1e-5)
    plain = recognition.video_scores(lambda b: logits[b["row"]], batches, n_videos)
    assert not np.allclose(plain, got)
