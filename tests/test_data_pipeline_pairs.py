"""Siamese pair pipeline: frame choice, negatives, box in crop vs painted target, determinism, resume, shards."""

import grain
import numpy as np
import pytest

from jaxtrack.data import augment, synthetic, tfds_source
from jaxtrack.data.pipeline_pairs import PairConfig, PairSampler, pair_batches
from jaxtrack.data.sources import InMemoryVideos
from jaxtrack.data.video import Video

SMALL = PairConfig(template_size=15, search_size=31, frame_range=3, neg_prob=0.3, gray_prob=0.0,
                   search_aug=augment.AugmentConfig(shift=8, scale=0.18, blur=0.2, flip=0.5, color=1.0))


def moving_target_videos(n=6, t=24, h=72, w=96, seed=0):
    """Gray noise videos (red channel 100) with a red rectangle moving right; every 4th frame has no box,
    and video 1 has no valid box at all. Box (pixel-centre convention) = painted pixels +- 0.5."""
    rng = np.random.default_rng(seed)
    videos = []
    for v in range(n):
        frames = rng.integers(60, 141, (t, h, w, 3), dtype=np.uint8)
        frames[..., 0] = 100
        boxes = np.full((t, 4), np.nan, np.float32)
        bw, bh = 12 + 2 * v, 10 + v
        for i in range(t):
            x0, y0 = 5 + i + v, 20 + v
            frames[i, y0:y0 + bh, x0:x0 + bw] = (250, 20, 20)
            if i % 4 != 3 and v != 1:
                boxes[i] = (x0 - 0.5, y0 - 0.5, bw, bh)
        videos.append(Video(name=f"v{v}", frames=frames, boxes=boxes))
    return InMemoryVideos(videos)


SOURCE = moving_target_videos()
NO_SHARD = grain.sharding.NoSharding()


def take(ds, n, it=None):
    it = iter(ds) if it is None else it
    return [next(it) for _ in range(n)], it


def ids(batches):
    """[N, 5]: template video, template frame, search video, search frame, negative."""
    return np.concatenate([np.concatenate([b["template_id"], b["search_id"], b["negative"][:, None]], 1)
                           for b in batches]).astype(int)


def test_pairs_frames_negatives_and_skips():
    sampler = PairSampler(SOURCE, SMALL)
    assert sampler.skipped == 1 and len(sampler) == 5
    batches, _ = take(pair_batches(SOURCE, SMALL, batch_size=25, seed=0, shard_options=NO_SHARD, num_threads=0), 16)
    rows = ids(batches)
    valid = [v.valid() for v in SOURCE.videos]
    assert all(valid[v][t] for v, t in np.concatenate([rows[:, :2], rows[:, 2:4]]))
    assert 1 not in rows[:, [0, 2]]
    pos, neg = rows[rows[:, 4] == 0], rows[rows[:, 4] == 1]
    assert (pos[:, 0] == pos[:, 2]).all() and (np.abs(pos[:, 1] - pos[:, 3]) <= 3).all()
    assert len(set(np.abs(pos[:, 1] - pos[:, 3]))) > 2
    assert (neg[:, 0] != neg[:, 2]).all()
    assert abs(len(neg) / len(rows) - 0.3) < 0.07  # 400 pairs: 3 binomial standard deviations
    assert batches[0]["template"].shape == (25, 15, 15, 3) and batches[0]["search"].dtype == np.uint8


def test_template_frames_cover_tsn_segments():
    cfg = PairConfig(template_size=15, search_size=31, pairs_per_video=3, neg_prob=0.0)
    ds = pair_batches(SOURCE, cfg, batch_size=15, seed=3, num_epochs=1, shard_options=NO_SHARD, num_threads=0)
    rows = ids(list(ds))
    assert len(rows) == 15
    for v in {0, 2, 3, 4, 5}:
        frames = np.flatnonzero(SOURCE.videos[v].valid())
        positions = sorted(np.searchsorted(frames, rows[rows[:, 0] == v, 1]))
        np.testing.assert_array_equal(np.array(positions) * 3 // len(frames), [0, 1, 2])


def red_edges(crop):
    ys, xs = np.nonzero(crop[..., 0] > 175)
    return np.array([xs.min() - 0.5, ys.min() - 0.5, xs.max() + 0.5, ys.max() + 0.5])


def test_box_in_crops_matches_painted_target():
    cfg = PairConfig(frame_range=5, neg_prob=0.3, template_aug=augment.AugmentConfig(shift=4, scale=0.05, flip=0.5),
                     search_aug=augment.AugmentConfig(shift=64, scale=0.18, flip=0.5, color=1.0))
    batches, _ = take(pair_batches(SOURCE, cfg, batch_size=8, seed=1, shard_options=NO_SHARD, num_threads=0), 3)
    for b in batches:
        for crop_key, box_key in (("template", "template_box"), ("search", "search_box")):
            for crop, box in zip(b[crop_key], b[box_key]):
                want = np.concatenate([box[:2], box[:2] + box[2:]])
                np.testing.assert_allclose(red_edges(crop), want, atol=0.75)
        centre = b["template_box"][:, :2] + b["template_box"][:, 2:] / 2
        assert (np.abs(centre - 63) <= 4 / 0.95 + 1e-3).all()


def test_deterministic_across_threads_and_seeds():
    a, _ = take(pair_batches(SOURCE, SMALL, batch_size=4, seed=7, shard_options=NO_SHARD, num_threads=0), 3)
    b, _ = take(pair_batches(SOURCE, SMALL, batch_size=4, seed=7, shard_options=NO_SHARD, num_threads=2), 3)
    c, _ = take(pair_batches(SOURCE, SMALL, batch_size=4, seed=8, shard_options=NO_SHARD, num_threads=0), 3)
    for x, y in zip(a, b):
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
    assert any(not np.array_equal(x["search"], z["search"]) for x, z in zip(a, c))


def test_resume_mid_epoch_is_identical():
    def make():
        return pair_batches(SOURCE, SMALL, batch_size=3, seed=5, shard_options=NO_SHARD, num_threads=2)

    _, it = take(make(), 4)  # 12 pairs: past the 5-item first epoch, mid-epoch of the third
    state = it.get_state()
    rest, _ = take(None, 3, it)
    fresh = iter(make())
    fresh.set_state(state)
    resumed, _ = take(None, 3, fresh)
    for x, y in zip(rest, resumed):
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])


def test_shards_are_disjoint_and_cover_the_epoch():
    cfg = PairConfig(template_size=15, search_size=31, pairs_per_video=2, neg_prob=0.0)
    items = []  # (video, TSN segment of the template frame) per shard
    for index in range(2):
        shard = grain.sharding.ShardOptions(index, 2, drop_remainder=False)
        rows = ids(list(pair_batches(SOURCE, cfg, batch_size=1, seed=0, num_epochs=1, shard_options=shard,
                                     num_threads=0)))
        valid = {v: np.flatnonzero(SOURCE.videos[v].valid()) for v in set(rows[:, 0])}
        items.append({(v, int(np.searchsorted(valid[v], t)) * 2 // len(valid[v])) for v, t in rows[:, :2]})
        assert len(rows) == len(items[-1]) == 5
    assert not items[0] & items[1]
    assert items[0] | items[1] == {(v, k) for v in (0, 2, 3, 4, 5) for k in (0, 1)}


def test_errors_name_the_problem():
    empty = InMemoryVideos([SOURCE.videos[1]])
    with pytest.raises(ValueError, match="no video has a frame with a valid box"):
        PairSampler(empty, SMALL)
    with pytest.raises(ValueError, match="neg_prob"):
        PairSampler(InMemoryVideos(SOURCE.videos[:2]), SMALL)
    with pytest.raises(ValueError, match="neg_prob"):
        PairConfig(neg_prob=2.0)


def test_tfds_source_gives_the_same_pairs(tmp_path):
    tiny = dict(height=48, width=40, n_frames=8, n_shots=2, min_shot_len=3, n_annotators=3, sprite_size=24)
    stored = tfds_source.load("synthetic_videos", "train", data_dir=tmp_path, image_format="png", num_train=3,
                              num_val=0, num_test=0, seed=1, **tiny)
    memory = InMemoryVideos(synthetic.make_videos(3, seed=1, config=synthetic.SyntheticConfig(**tiny)))
    a, _ = take(pair_batches(stored, SMALL, batch_size=4, seed=2, shard_options=NO_SHARD), 2)
    b, _ = take(pair_batches(memory, SMALL, batch_size=4, seed=2, shard_options=NO_SHARD), 2)
    for x, y in zip(a, b):
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
