"""Target masks of the synthetic videos and the `search_mask` of the pair pipeline, against the boxes and pixels."""

import numpy as np
import pytest

from jaxtrack import boxes
from jaxtrack.data import augment, synthetic
from jaxtrack.data.pipeline_pairs import PairConfig, PairSampler
from jaxtrack.data.sources import InMemoryVideos
from jaxtrack.data.video import Video

TINY = synthetic.SyntheticConfig(height=64, width=80, n_frames=24, n_shots=2, min_shot_len=6, sprite_size=32,
                                 event_prob=1.0)


def test_synthetic_masks_agree_with_the_boxes():
    """Label 1 only; no box -> empty mask; a fully visible target's mask spans exactly its box; a partly hidden one
    (occluded or leaving the frame) lies inside its box, which still counts the hidden part."""
    seen = set()
    for index in range(4):
        v = synthetic.make_video(index, seed=3, config=TINY)
        assert v.masks.shape == (24, 64, 80) and v.masks.dtype == np.uint8 and set(np.unique(v.masks)) <= {0, 1}
        from_mask = boxes.mask_to_xywh(v.masks)
        for t in range(len(v)):
            if not v.valid()[t]:
                assert not v.masks[t].any()
                seen.add("absent")
            elif v.cover[t] == 8:
                np.testing.assert_array_equal(from_mask[t], v.boxes[t])
                seen.add("full")
            else:
                x, y, w, h = v.boxes[t]
                mx, my, mw, mh = from_mask[t]
                assert x <= mx and y <= my and mx + mw <= x + w and my + mh <= y + h
                assert 0 < v.masks[t].sum() <= w * h
                seen.add("partial")
    assert seen == {"absent", "full", "partial"}


def _red_square_videos():
    """Noise videos (red channel 100) with a red (250) square moving right; masks = the painted square."""
    rng = np.random.default_rng(0)
    videos = []
    for v in range(2):
        frames = rng.integers(60, 141, (8, 72, 96, 3), dtype=np.uint8)
        frames[..., 0] = 100
        masks = np.zeros((8, 72, 96), np.uint8)
        bxs = np.zeros((8, 4), np.float32)
        for t in range(8):
            x0, y0, side = 20 + 3 * t, 25 + v, 14 + 2 * v
            frames[t, y0:y0 + side, x0:x0 + side] = (250, 20, 20)
            masks[t, y0:y0 + side, x0:x0 + side] = 1
            bxs[t] = (x0, y0, side, side)
        videos.append(Video(name=f"v{v}", frames=frames, boxes=bxs, masks=masks))
    return videos


def test_search_mask_is_the_target_in_the_search_crop():
    """Cropped with the search image's warp (shift, scale, flip): search_mask = the crop's red pixels (> midway
    between background 100 and target 250), up to the rounding of a few edge pixels; template crops carry none."""
    aug = augment.AugmentConfig(shift=8, scale=0.18, flip=0.5)
    config = PairConfig(template_size=31, search_size=63, frame_range=4, neg_prob=0.0, template_aug=augment.NO_AUG,
                        search_aug=aug, masks=True)
    sampler = PairSampler(InMemoryVideos(_red_square_videos()), config)
    for i in range(12):
        pair = sampler.random_map(i % len(sampler), np.random.default_rng(i))
        assert pair["search_mask"].shape == (63, 63) and pair["search_mask"].dtype == np.uint8
        red = pair["search"][..., 0] > 175
        assert red.sum() > 20 and np.mean(red != pair["search_mask"].astype(bool)) < 0.01
    assert "search_mask" not in PairSampler(InMemoryVideos(_red_square_videos()),
                                            PairConfig(template_size=31, search_size=63, neg_prob=0.0)).random_map(
                                                0, np.random.default_rng(0))


def test_masks_requested_from_a_source_without_masks():
    videos = [Video(name=v.name, frames=v.frames, boxes=v.boxes) for v in _red_square_videos()]
    with pytest.raises(ValueError, match=r"data\.pairs\.masks=True: the source holds no target masks"):
        PairSampler(InMemoryVideos(videos), PairConfig(neg_prob=0.0, masks=True))
