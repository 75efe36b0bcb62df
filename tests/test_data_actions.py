"""Action recognition data: the synthetic clips (classes visible in the pixels, time-reverse pairs), TSN clip
sampling with masks, the grain clip batches, and the something-something v2 / UCF101 readers and builders on
fixtures written here."""

import json

import cv2
import numpy as np
import pytest

from jaxtrack.data import pipeline_clips, synthetic_actions
from jaxtrack.data.readers import actions
from jaxtrack.data.sources import InMemoryVideos
from jaxtrack.data.video import Video


def _object_trace(frames):
    """Per frame: the x centroid of the pixels far from the clip's per-pixel temporal median."""
    diff = np.abs(frames.astype(np.float32) - np.median(frames, 0)).sum(-1) > 60
    xs = np.arange(frames.shape[2])
    return (diff.sum(1) * xs).sum(1) / np.maximum(diff.sum((1, 2)), 1)


def test_clip_classes_show_in_the_pixels():
    config = synthetic_actions.ActionConfig()
    for index in range(20):
        video, cls = synthetic_actions.make_clip(index, seed=3, config=config)
        assert cls == index % 10 and video.frames.shape == (16, 32, 32, 3) and video.frames.dtype == np.uint8
        x = _object_trace(video.frames)
        if cls in (0, 1):  # the object's centroid goes right (0) or left (1)
            assert (x[-1] - x[0]) * (1 if cls == 0 else -1) > 5, (index, x)
        if cls == 8:  # a flash: some frames' mean colour jumps
            means = video.frames.reshape(16, -1, 3).mean(1)
            assert np.abs(means - np.median(means, 0)).max() > 40
    again, _ = synthetic_actions.make_clip(7, seed=3, config=config)
    np.testing.assert_array_equal(again.frames, synthetic_actions.make_clip(7, seed=3, config=config)[0].frames)


def test_zoom_pair_sizes_go_opposite_ways():
    sizes = {}
    for index in (2, 3, 12, 13):
        video, cls = synthetic_actions.make_clip(index, seed=0)
        colour_far = np.abs(video.frames.astype(np.float32) - video.frames[:, :2, :2].mean((1, 2), keepdims=True))
        area = (colour_far.sum(-1) > 80).sum((1, 2))
        sizes.setdefault(cls, []).append(area[-1] - area[0])
    assert min(sizes[2]) > 20 and max(sizes[3]) < -20


def test_clip_indices_train_test_and_short_videos():
    cfg = pipeline_clips.ClipConfig(num_segments=4, snippet_len=2, num_clips=2)
    idx, mask = pipeline_clips.clip_indices(18, cfg)  # starts 0..16 in 4 segments of 4.25: clip 0 at 1/4
    np.testing.assert_array_equal(idx[:, 0], np.floor(np.arange(4) * 4.25 + 0.25 * 4.25))
    np.testing.assert_array_equal(idx[:, 1], idx[:, 0] + 1)
    assert mask.all()
    idx1, _ = pipeline_clips.clip_indices(18, cfg, clip=1)
    np.testing.assert_array_equal(idx1[:, 0], np.floor(np.arange(4) * 4.25 + 0.75 * 4.25))
    rng = np.random.default_rng(0)
    for _ in range(20):
        idx, _ = pipeline_clips.clip_indices(18, cfg, rng)
        assert np.all((idx[:, 0] >= np.floor(np.arange(4) * 4.25)) & (idx[:, 0] < np.arange(1, 5) * 4.25))
    idx, mask = pipeline_clips.clip_indices(3, cfg)  # 2 starts < K = 4: two real segments, then padding
    np.testing.assert_array_equal(mask, [True, True, False, False])
    np.testing.assert_array_equal(idx[:2], [[0, 1], [1, 2]])


def _labelled(n=6, frames=5):
    videos = [Video(name=f"v{i}", frames=np.full((frames if i else 2, 8, 12, 3), i, np.uint8)) for i in range(n)]
    return pipeline_clips.LabelledVideos(InMemoryVideos(videos), np.arange(n) % 3, ("a", "b", "c"))


def test_clip_batches_train_resume_and_test_order():
    data = _labelled()
    cfg = pipeline_clips.ClipConfig(num_segments=3, image_size=8)
    it = iter(pipeline_clips.clip_batches(data, cfg, batch_size=4, seed=1))
    batch = next(it)
    assert batch["frames"].shape == (4, 3, 1, 8, 8, 3) and batch["mask"].shape == (4, 3)
    np.testing.assert_array_equal(batch["label"], batch["index"] % 3)
    np.testing.assert_array_equal(batch["frames"][:, 0, 0, 0, 0, 0], batch["index"])  # frames of that video
    state = it.get_state()
    after = next(it)
    it.set_state(state)
    np.testing.assert_array_equal(next(it)["frames"], after["frames"])
    test = list(pipeline_clips.clip_batches(data, pipeline_clips.ClipConfig(num_segments=3, num_clips=2),
                                            batch_size=5, train=False))
    assert [len(b["index"]) for b in test] == [5, 5, 2]
    order = np.concatenate([b["index"] for b in test])
    np.testing.assert_array_equal(order, np.repeat(np.arange(6), 2))
    np.testing.assert_array_equal(test[0]["mask"][0], [True, True, False])  # video 0 has 2 frames
    assert not test[0]["frames"][0, 2].any()


def _image(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((6, 10, 3), value, np.uint8))


def write_ssv2(root):
    (root / "labels.json").write_text(json.dumps({"Pushing something from left to right": "1",
                                                  "Pushing something from right to left": "0"}))
    entries = [{"id": "11", "template": "Pushing [something] from left to right"},
               {"id": "12", "template": "Pushing [something] from right to left"}]
    (root / "something-something-v2-train.json").write_text(json.dumps(entries))
    (root / "something-something-v2-validation.json").write_text(json.dumps(entries[:1]))
    for vid, n in (("11", 3), ("12", 12)):
        for t in range(n):
            _image(root / "frames" / vid / f"{t + 1:06d}.jpg", 10 * t)


def test_ssv2_reader(tmp_path):
    write_ssv2(tmp_path)
    clips = actions.read_ssv2(tmp_path, "train")
    assert clips.classes == ("Pushing something from right to left", "Pushing something from left to right")
    assert clips.labels == (1, 0) and [v.name for v in clips.videos] == ["11", "12"]
    assert [p.split("/")[-1] for p in clips.videos[1].frame_paths][:3] == ["000001.jpg", "000002.jpg", "000003.jpg"]
    assert clips.videos[1].frame_paths[-1].endswith("000012.jpg")  # numeric, not lexicographic, order
    (tmp_path / "something-something-v2-validation.json").write_text(json.dumps([{"id": "11", "template": "Nope"}]))
    with pytest.raises(ValueError, match=r"entry 0 \(id 11\): template 'Nope' is not in labels.json"):
        actions.read_ssv2(tmp_path, "validation")
    (tmp_path / "something-something-v2-validation.json").write_text(json.dumps([{"id": "99", "template": "x"}]))
    with pytest.raises(ValueError, match="template 'x'"):
        actions.read_ssv2(tmp_path, "validation")


def write_ucf101(root, nested=False):
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 Archery\n")
    (lists / "trainlist01.txt").write_text(
        "Archery/v_Archery_g08_c01.avi 2\nApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\n")
    (lists / "testlist01.txt").write_text("Archery/v_Archery_g01_c01.avi\n")
    for cls, stem in (("Archery", "v_Archery_g08_c01"), ("ApplyEyeMakeup", "v_ApplyEyeMakeup_g08_c01"),
                      ("Archery", "v_Archery_g01_c01")):
        folder = root / "frames" / cls / stem if nested else root / "frames" / stem
        for t in range(4):
            _image(folder / f"img_{t + 1:05d}.jpg", 40 * t)


@pytest.mark.parametrize("nested", [False, True])
def test_ucf101_reader(tmp_path, nested):
    write_ucf101(tmp_path, nested)
    train = actions.read_ucf101(tmp_path, "train", fold=1)
    assert train.classes == ("ApplyEyeMakeup", "Archery") and train.labels == (1, 0)
    assert train.videos[0].name == "v_Archery_g08_c01" and len(train.videos[0]) == 4
    assert actions.read_ucf101(tmp_path, "test").labels == (1,)
    (tmp_path / "ucfTrainTestlist" / "trainlist02.txt").write_text("Archery/v_Archery_g08_c01.avi 1\n")
    with pytest.raises(ValueError, match=r"trainlist02.txt:1: label 1 disagrees with classInd.txt's 2"):
        actions.read_ucf101(tmp_path, "train", fold=2)
    (tmp_path / "ucfTrainTestlist" / "testlist02.txt").write_text("Archery/v_Archery_g09_c01.avi\n")
    with pytest.raises(FileNotFoundError, match=r"testlist02.txt:1: frame folder .*v_Archery_g09_c01 not found"):
        actions.read_ucf101(tmp_path, "test", fold=2)


def test_labelled_builders_keep_labels_beside_frames(tmp_path):
    write_ucf101(tmp_path / "ucf")
    data = pipeline_clips.load("ucf101", "train", data_dir=tmp_path / "tfds", manual_dir=tmp_path / "ucf")
    assert data.classes == ("ApplyEyeMakeup", "Archery") and data.labels.tolist() == [1, 0]
    assert data.source.frame(0, 2).shape == (6, 10, 3) and abs(int(data.source.frame(0, 2).mean()) - 80) <= 2
    synth = pipeline_clips.load("synthetic_actions", "val", data_dir=tmp_path / "tfds", num_train=0, num_val=12,
                                num_test=0, size=16)
    assert synth.labels.tolist() == [i % 10 for i in range(12)] and synth.classes == synthetic_actions.CLASSES
    want, _ = synthetic_actions.make_clip(5, seed=synthetic_actions.split_seed(0, "val"),
                                          config=synthetic_actions.ActionConfig(size=16))
    np.testing.assert_array_equal(synth.source.frame(5, 3), want.frames[3])  # PNG: lossless
