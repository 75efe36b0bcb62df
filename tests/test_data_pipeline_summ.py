"""Summarization batches: buckets, masks, padding never leaking, labels by hand, determinism, resume, shards;
frame features from the registered backbone."""

import grain
import jax
import numpy as np
import pytest

from jaxtrack.data.pipeline_summ import SummConfig, bucket_length, summ_batches, video_example
from jaxtrack.data.sources import InMemoryVideos
from jaxtrack.data.video import Video
from jaxtrack.models.backbones import BACKBONES, get_backbone
from jaxtrack.models.features import FeatureConfig, FrameFeatures, video_features

LENGTHS = (10, 40, 70, 23, 33)
CONFIG = SummConfig(buckets=(16, 32, 64))
NO_SHARD = grain.sharding.NoSharding()


def summ_videos(seed=0):
    """Videos of LENGTHS frames with 3 users; video 2 has gt_score and picks (every 2nd of 140 frames)."""
    rng = np.random.default_rng(seed)
    videos = []
    for i, n in enumerate(LENGTHS):
        frames = 2 * n if i == 2 else n
        cps = np.array([[s, min(s + 9, frames - 1)] for s in range(0, frames, 10)], np.int32)
        extra = dict(picks=np.arange(0, frames, 2, dtype=np.int32), gt_score=rng.random(n).astype(np.float32)) \
            if i == 2 else {}
        videos.append(Video(name=f"s{i}", n_frames=frames, features=rng.normal(size=(n, 8)).astype(np.float32) + 5,
                            user_scores=rng.integers(1, 6, (3, frames)).astype(np.float32),
                            user_summaries=(rng.random((3, frames)) < 0.4).astype(np.uint8), change_points=cps,
                            **extra))
    return InMemoryVideos(videos)


SOURCE = summ_videos()


def test_bucket_length():
    assert [bucket_length(n, (16, 32, 64)) for n in (1, 16, 17, 64, 65, 130)] == [16, 16, 32, 64, 128, 192]


def test_padding_masks_and_buckets():
    batches = list(summ_batches(SOURCE, CONFIG, batch_size=2, shuffle=False, shard_options=NO_SHARD))
    assert [b["index"].tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert [b["features"].shape[1] for b in batches] == [64, 128, 64]  # T buckets of max(10, 40), 70, 33
    assert [b["frame_mask"].shape[1] for b in batches] == [64, 192, 64]  # video 2 has 140 frames
    for b in batches:
        for row, i in enumerate(b["index"]):
            video, n = SOURCE.videos[i], LENGTHS[i]
            m = b["mask"][row]
            assert m[:n].all() and not m[n:].any() and b["length"][row] == n
            np.testing.assert_array_equal(b["features"][row][m], video.features)
            assert (b["features"][row][~m] == 0).all() and (b["picks"][row][~m] == -1).all()
            assert not b["keyframes"][row][~m].any() and (b["scores"][row][~m] == 0).all()
            fm = b["frame_mask"][row]
            assert fm.sum() == len(video) == b["n_frames"][row]
            np.testing.assert_array_equal(b["user_summaries"][row][:, fm], video.user_summaries)
            assert (b["user_summaries"][row][:, ~fm] == 0).all() and b["user_mask"][row].all()
            sm = b["segment_mask"][row]
            np.testing.assert_array_equal(b["change_points"][row][sm], video.change_points)
            assert (b["change_points"][row][~sm] == -1).all()
        # a masked statistic sees exactly the real frames
        masked = (b["features"] * b["mask"][..., None]).sum((1, 2)) / (b["mask"].sum(1) * 8)
        np.testing.assert_allclose(masked, [SOURCE.videos[i].features.mean() for i in b["index"]], rtol=1e-5)


def test_scores_and_keyframes_by_hand():
    plain, picked = SOURCE.videos[0], SOURCE.videos[2]
    ex = video_example(plain, None)
    mean = plain.user_scores.mean(0)
    np.testing.assert_allclose(ex["scores"], (mean - mean.min()) / (mean.max() - mean.min()), rtol=1e-6)
    assert ex["scores"].min() == 0 and ex["scores"].max() == 1
    votes = plain.user_summaries.sum(0)
    np.testing.assert_array_equal(ex["keyframes"], votes >= 2)  # majority of 3 users
    ex = video_example(picked, None)
    np.testing.assert_array_equal(ex["scores"], picked.gt_score)
    np.testing.assert_array_equal(ex["keyframes"], picked.user_summaries[:, ::2].sum(0) >= 2)
    np.testing.assert_array_equal(ex["picks"], np.arange(0, 140, 2))
    with pytest.raises(ValueError, match=r"features must be \[10, D\]"):
        video_example(plain, np.zeros((9, 8), np.float32))


def test_deterministic_resume_and_shards():
    def make(seed=4):
        return summ_batches(SOURCE, CONFIG, batch_size=2, seed=seed, num_epochs=None, shard_options=NO_SHARD)

    it = iter(make())
    first = [next(it)["index"].tolist() for _ in range(4)]  # 8 videos: mid second epoch
    state = it.get_state()
    rest = [next(it) for _ in range(3)]
    again = iter(make())
    assert [next(again)["index"].tolist() for _ in range(4)] == first
    fresh = iter(make())
    fresh.set_state(state)
    for x, y in zip(rest, [next(fresh) for _ in range(3)]):
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
    assert sorted([*first[0], *first[1], first[2][0]]) == [0, 1, 2, 3, 4]  # first epoch is a permutation
    other = iter(make(seed=5))
    assert [next(other)["index"].tolist() for _ in range(4)] != first
    shards = [{i for b in summ_batches(SOURCE, CONFIG, batch_size=2, seed=0,
                                       shard_options=grain.sharding.ShardOptions(k, 2)) for i in b["index"]}
              for k in range(2)]
    assert not shards[0] & shards[1] and shards[0] | shards[1] == set(range(5))


def test_backbone_outputs_and_registry():
    model = get_backbone("resnet18_small")
    x = np.zeros((2, 64, 48, 3), np.float32)
    shapes = jax.eval_shape(lambda: model.init_with_output(jax.random.key(0), x)[0])
    assert {k: v.shape for k, v in shapes.items()} == {
        "stem": (2, 16, 12, 16), "layer1": (2, 16, 12, 16), "layer2": (2, 8, 6, 32), "layer3": (2, 4, 3, 64),
        "layer4": (2, 2, 2, 128), "pooled": (2, 128)}
    assert "resnet18_small" in BACKBONES
    with pytest.raises(KeyError, match="resnet18_small"):
        get_backbone("nope")


def test_frame_features_deterministic_and_summarizer_ready():
    rng = np.random.default_rng(0)
    videos = [Video(name=f"f{i}", frames=rng.integers(0, 256, (n, 40, 56, 3), dtype=np.uint8),
                    user_scores=rng.random((2, n)).astype(np.float32),
                    user_summaries=(rng.random((2, n)) < 0.5).astype(np.uint8)) for i, n in enumerate((5, 12))]
    source = InMemoryVideos(videos)
    extractor = FrameFeatures(FeatureConfig(image_size=32, chunk_size=8))
    feats = video_features(source, extractor)
    assert [f.shape for f in feats] == [(5, 128), (12, 128)] and feats[0].dtype == np.float32
    np.testing.assert_array_equal(extractor(videos[1].frames), feats[1])
    given = FrameFeatures(FeatureConfig(image_size=32, chunk_size=8), variables=extractor.variables)
    np.testing.assert_array_equal(given(videos[0].frames), feats[0])
    assert np.isfinite(feats[1]).all() and feats[1].std(0).max() > 0  # frames differ -> features differ
    batch = next(iter(summ_batches(source, CONFIG, batch_size=2, features=feats, shuffle=False,
                                   shard_options=NO_SHARD)))
    assert batch["features"].shape == (2, 16, 128) and batch["mask"].sum() == 17
    half = videos[1].user_summaries.sum(0) == 1  # 1 of 2 users: exactly the 0.5 threshold counts
    assert half.any() and (batch["keyframes"][1, :12] == (videos[1].user_summaries.sum(0) >= 1)).all()
    with pytest.raises(ValueError, match="frames must be"):
        extractor(np.zeros((3, 8, 8), np.uint8))
