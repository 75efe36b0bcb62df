"""Frame statistics (colour / motion energy) against per-pixel loops, and their place in FrameFeatures."""

import numpy as np
import pytest

from jaxtrack.data.sources import InMemoryVideos
from jaxtrack.data.video import Video
from jaxtrack.models.features import FeatureConfig, FrameFeatures, frame_statistics, video_features


def reference_statistics(images, grid):
    """One frame and one cell at a time, with Python loops."""
    x = images.astype(np.float64) / 255
    t_n, h, w, _ = x.shape
    ch, cw = h // grid, w // grid
    rows = []
    for t in range(t_n):
        mean = [x[t, :, :, c].mean() for c in range(3)]
        std = [x[t, :, :, c].std() for c in range(3)]
        prev = x[t - 1] if t else x[t]
        d_mean = [mean[c] - prev[:, :, c].mean() for c in range(3)]
        motion = np.zeros((h, w))
        for i in range(h):
            for j in range(w):
                motion[i, j] = sum(abs(x[t, i, j, c] - prev[i, j, c]) for c in range(3)) / 3
        cells = [motion[r * ch:(r + 1) * ch, c * cw:(c + 1) * cw].mean() for r in range(grid) for c in range(grid)]
        rows.append(mean + std + d_mean + cells + [motion.max()])
    return np.array(rows)


@pytest.mark.parametrize("grid", [1, 2])
def test_frame_statistics_match_loops(grid):
    images = np.random.default_rng(grid).integers(0, 256, (4, 6, 6, 3), dtype=np.uint8)
    got = frame_statistics(images, grid)
    assert got.shape == (4, 10 + grid * grid) and got.dtype == np.float32
    np.testing.assert_allclose(got, reference_statistics(images, grid), atol=1e-6)


def test_frame_statistics_see_a_flash_and_a_moving_square():
    frames = np.full((4, 8, 8, 3), 50, np.uint8)
    frames[2] = 200  # a flash on frame 2
    frames[1, :4, :4] = 255  # a square appears top-left on frame 1 (absent on frames 0, 3)
    stats = frame_statistics(frames, 2)
    assert stats[2, 6:9] == pytest.approx([200 / 255 - stats[1, 0]] * 3, abs=1e-6)  # brightness jump
    assert stats[1, 9] > 0 and (stats[1, 10:13] == 0).all()  # motion only in the top-left cell
    assert stats[2, -1] == pytest.approx(150 / 255, abs=1e-6) and stats[0, 6:].max() == 0


def test_frame_features_statistics_only_and_concatenated():
    rng = np.random.default_rng(0)
    videos = [Video(name=f"v{i}", frames=rng.integers(0, 256, (n, 20, 28, 3), dtype=np.uint8)) for i, n in
              enumerate((3, 7))]
    stats_only = FrameFeatures(FeatureConfig(backbone="", image_size=16, stats_grid=4))
    feats = video_features(InMemoryVideos(videos), stats_only)
    assert stats_only.variables is None and stats_only.dim == 26 and [f.shape for f in feats] == [(3, 26), (7, 26)]
    np.testing.assert_array_equal(feats[1], frame_statistics(np.stack([stats_only.resize(f) for f in
                                                                        videos[1].frames]), 4))
    both = FrameFeatures(FeatureConfig(image_size=16, chunk_size=4, stats_grid=4))
    backbone = FrameFeatures(FeatureConfig(image_size=16, chunk_size=4), variables=both.variables)
    out = both(videos[1].frames)
    assert both.dim == backbone.dim + 26 == out.shape[1]
    np.testing.assert_array_equal(out, np.concatenate([backbone(videos[1].frames), feats[1]], 1))


@pytest.mark.parametrize("kwargs, match", [({"backbone": ""}, "needs a backbone"),
                                           ({"stats_grid": 3}, "stats_grid must"),
                                           ({"stats_grid": -1}, "stats_grid must")])
def test_feature_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FeatureConfig(**kwargs)
