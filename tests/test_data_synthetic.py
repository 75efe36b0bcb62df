"""Synthetic video generator: determinism, geometry, attributes, annotators, shots (checked on the outputs)."""

import dataclasses

import numpy as np
import pytest
from scipy import stats

from jaxtrack.data import synthetic
from jaxtrack.data.synthetic import SyntheticConfig

SMALL = SyntheticConfig(height=128, width=128, n_frames=32, n_shots=3, min_shot_len=6, n_annotators=8)
SEED = 11
N = 12


@pytest.fixture(scope="module")
def videos():
    return synthetic.make_videos(N, seed=SEED, config=SMALL)


@pytest.fixture(scope="module")
def plans():
    return [synthetic.make_plan(i, seed=synthetic.split_seed(SEED, "train"), config=SMALL) for i in range(N)]


def _assert_same(a, b):
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), field.name
        else:
            assert x == y, field.name


def test_deterministic_and_splits_differ():
    a = synthetic.make_video(3, seed=5, config=SMALL)
    _assert_same(a, synthetic.make_video(3, seed=5, config=SMALL))
    assert not np.array_equal(a.frames, synthetic.make_video(3, seed=6, config=SMALL).frames)
    train, val = (synthetic.make_videos(2, seed=5, config=SMALL, split=s) for s in ("train", "val"))
    assert [v.name for v in train] == ["train_00000", "train_00001"]
    assert not np.array_equal(train[0].frames, val[0].frames)


def test_workers_give_identical_videos():
    serial = synthetic.make_videos(3, seed=2, config=SMALL, split="test")
    for a, b in zip(serial, synthetic.make_videos(3, seed=2, config=SMALL, split="test", num_workers=2)):
        _assert_same(a, b)


def test_default_config_shapes():
    v = synthetic.make_video(0, seed=0, config=SyntheticConfig())
    t = SyntheticConfig().n_frames
    assert v.frames.shape == (t, 256, 256, 3) and v.frames.dtype == np.uint8
    assert v.boxes.shape == (t, 4) and v.boxes.dtype == np.float32
    assert v.user_scores.shape == (SyntheticConfig().n_annotators, t) and v.user_summaries.dtype == np.uint8
    assert v.cover.dtype == np.int8 and v.visible.dtype == bool and v.change_points.dtype == np.int32


def test_boxes_inside_frame_and_visibility_consistent(videos):
    for v in videos:
        finite = np.isfinite(v.boxes).all(1)
        np.testing.assert_array_equal(finite, v.visible)
        np.testing.assert_array_equal(v.cover == 0, ~v.visible)
        assert np.isnan(v.boxes[~v.visible]).all()
        b = v.boxes[v.visible]
        assert (b[:, :2] >= 0).all() and (b[:, 2:] > 0).all()
        assert (b[:, 0] + b[:, 2] <= SMALL.width).all() and (b[:, 1] + b[:, 3] <= SMALL.height).all()
        assert v.visible[0] and v.cover[0] == 8  # the first frame is a clean template
    assert any((~v.visible).any() for v in videos)  # full occlusion / out of view does happen


def _chroma_hist(frame, box):
    x, y, w, h = (round(float(c)) for c in box)
    rgb = frame[max(y, 0):y + h, max(x, 0):x + w].reshape(-1, 3).astype(np.float64) + 1
    chroma = rgb[:, :2] / rgb.sum(1, keepdims=True)
    hist, _, _ = np.histogram2d(chroma[:, 0], chroma[:, 1], bins=12, range=[[0, 1], [0, 1]])
    return hist.ravel() / hist.sum()


def test_target_is_at_the_box(videos):
    """The box region's colours match frame 0's target more than a random or a shifted region does."""
    rng = np.random.default_rng(0)
    for v in videos:
        template = _chroma_hist(v.frames[0], v.boxes[0])
        at_box, random, shifted = [], [], []
        for t in np.flatnonzero(v.cover == 8)[1:]:
            x, y, w, h = v.boxes[t]
            at_box.append(np.minimum(template, _chroma_hist(v.frames[t], v.boxes[t])).sum())
            other = [rng.uniform(0, SMALL.width - w), rng.uniform(0, SMALL.height - h), w, h]
            random.append(np.minimum(template, _chroma_hist(v.frames[t], other)).sum())
            moved = [np.clip(x + 0.9 * w * rng.choice([-1, 1]), 0, SMALL.width - w), y, w, h]
            shifted.append(np.minimum(template, _chroma_hist(v.frames[t], moved)).sum())
        assert np.mean(at_box) > np.mean(random) + 0.15, v.name
        assert np.mean(at_box) > np.mean(shifted) + 0.05, v.name


def test_attributes_match_the_boxes(videos, plans):
    for v, plan in zip(videos, plans):
        centres = v.boxes[:, :2] + v.boxes[:, 2:] / 2
        motion = np.hypot(*np.diff(centres, axis=0).T)
        assert v.attributes["FM"] == bool(np.nanmax(motion, initial=0) > 20), v.name
        full = v.cover == 8
        area = v.boxes[full, 2] * v.boxes[full, 3]
        scale = np.sqrt(area / area[0])
        assert v.attributes["SV"] == bool(((scale < 0.5) | (scale > 2)).any()), v.name
        assert v.attributes["LR"] == bool(area.min() < 400), v.name
        if v.attributes["OCC"]:
            assert v.cover.min() <= 5, v.name  # > 30% hidden -> < 70% visible
        if v.attributes["OV"]:
            assert v.cover.min() <= 6, v.name
        kinds = {e.kind for e in plan.events}
        assert v.attributes["OCC"] <= ("occlusion" in kinds), v.name  # occluders only come with that event
        if "fast_motion" in kinds:
            assert v.attributes["FM"] and v.attributes["MB"], v.name
    for flag in ("FM", "OCC", "SV"):  # the flags do vary, so the checks above can fail
        assert len({v.attributes[flag] for v in videos}) == 2, flag


def test_annotators_follow_interesting_events(videos, plans):
    for v, plan in zip(videos, plans):
        assert set(np.unique(v.user_scores)) <= {1, 2, 3, 4, 5}
        mean_score = v.user_scores.mean(0)
        assert stats.spearmanr(mean_score, plan.interest)[0] > 0.6, v.name
        in_event = np.zeros(len(v), bool)
        for e in plan.events:
            in_event[e.start:e.end + 1] = True
        if in_event.any():
            assert mean_score[in_event].mean() > mean_score[~in_event].mean() + 0.5, v.name
        ratio = v.user_summaries.mean(1)
        assert (ratio > 0.05).all() and (ratio < 0.3).all() and abs(ratio.mean() - SMALL.summary_ratio) < 0.05
        picked = v.user_summaries.astype(bool)
        assert np.mean([plan.interest[p].mean() > plan.interest[~p].mean() for p in picked]) > 0.7, v.name
        np.testing.assert_allclose(v.gt_score, (mean_score - 1) / 4, rtol=1e-6)


def test_flash_events_are_visible_in_the_pixels(videos, plans):
    flashes = 0
    for v, plan in zip(videos, plans):
        brightness = v.frames.reshape(len(v), -1).mean(1)
        for e in (e for e in plan.events if e.kind == "flash"):
            a, b = plan.shots[e.shot]
            calm = [t for t in range(a, b + 1) if not e.start <= t <= e.end]
            assert brightness[e.start:e.end + 1].max() > np.max(brightness[calm]) + 10, v.name
            flashes += 1
    assert flashes > 0


def test_change_points_partition_and_cut_the_scene(videos):
    for v in videos:
        cp = v.change_points
        assert cp[0, 0] == 0 and cp[-1, 1] == len(v) - 1 and len(cp) == SMALL.n_shots
        np.testing.assert_array_equal(cp[1:, 0], cp[:-1, 1] + 1)
        assert (cp[:, 1] - cp[:, 0] + 1 >= SMALL.min_shot_len).all()
        diff = np.abs(np.diff(v.frames.astype(np.int16), axis=0)).mean((1, 2, 3))
        cuts = cp[1:, 0] - 1
        within = np.delete(diff, cuts)
        assert diff[cuts].min() > 2 * np.median(within), v.name


@pytest.mark.parametrize("kwargs", [dict(n_frames=10, n_shots=4, min_shot_len=3), dict(height=16),
                                    dict(summary_ratio=1.5), dict(target_size=(0.3, 0.1)), dict(n_annotators=0)])
def test_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError, match="SyntheticConfig"):
        SyntheticConfig(**kwargs)
