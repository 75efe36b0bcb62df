"""TFDS builders (array_record, no TensorFlow) read back through tfds_source.load, against generator/fixture values."""

import json
import os
import pickle

import cv2
import h5py
import numpy as np
import pytest

from jaxtrack.data import synthetic, tfds_source
from jaxtrack.data.tfds_builders import BUILDERS

TINY = dict(height=48, width=40, n_frames=8, n_shots=2, min_shot_len=3, n_annotators=3, sprite_size=24)
META_FIELDS = ("boxes", "visible", "cover", "user_scores", "user_summaries", "change_points", "gt_score")


def test_registry_names():
    assert sorted(BUILDERS) == ["got10k", "lasot", "otb", "ssv2", "summe", "synthetic_actions", "synthetic_videos",
                                "tvsum", "ucf101"]


def test_synthetic_roundtrip_is_exact(tmp_path):
    ds = tfds_source.load("synthetic_videos", "val", data_dir=tmp_path, num_train=1, num_val=2, num_test=0,
                          seed=4, image_format="png", **TINY)
    expected = synthetic.make_videos(2, seed=4, config=synthetic.SyntheticConfig(**TINY), split="val")
    assert [v.name for v in ds.videos] == ["val_00000", "val_00001"]
    np.testing.assert_array_equal(ds.offsets, [0, 8])
    for i, (got, want) in enumerate(zip(ds.videos, expected)):
        for field in META_FIELDS:
            a, b = getattr(got, field), getattr(want, field)
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), field
        assert got.attributes == dict(want.attributes) and got.fps == want.fps and len(got) == len(want)
        assert got.frames is None and got.features is None and got.picks is None
        for t in range(len(want)):
            np.testing.assert_array_equal(ds.frame(i, t), want.frames[t])
            np.testing.assert_array_equal(ds.mask(i, t), want.masks[t])  # the target masks travel with the frames
    record = ds.frame_records[ds.frame_index(1, 5)]
    assert (int(record["video_index"]), int(record["t"])) == (1, 5) and isinstance(record["image"], bytes)
    clone = pickle.loads(pickle.dumps(ds))  # grain workers receive the source pickled
    np.testing.assert_array_equal(clone.frame(1, 7), expected[1].frames[7])
    with pytest.raises(IndexError, match="frame 8 out of range"):
        ds.frame(0, 8)
    with pytest.raises(ValueError, match=r"unknown split 'bogus'; available: \['train', 'val'\]"):
        tfds_source.load("synthetic_videos", "bogus", data_dir=tmp_path, num_train=1, num_val=2, num_test=0, seed=4,
                         image_format="png", **TINY)


def test_synthetic_jpeg_frames(tmp_path):
    ds = tfds_source.load("synthetic_videos", "train", data_dir=tmp_path, num_train=1, num_val=0, num_test=0,
                          image_format="jpeg", **TINY)
    (want,) = synthetic.make_videos(1, seed=0, config=synthetic.SyntheticConfig(**TINY), split="train")
    assert ds.frame_records[0]["image"][:3] == b"\xff\xd8\xff"
    got = ds.frame(0, 3).astype(np.float64).ravel()
    assert not np.array_equal(got, want.frames[3].ravel()) and np.corrcoef(got, want.frames[3].ravel())[0, 1] > 0.9
    with pytest.raises(ValueError, match=r"image_format must be one of \['jpeg', 'png'\], got 'gif'"):
        tfds_source.load("synthetic_videos", "train", data_dir=tmp_path, image_format="gif")


def test_load_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        tfds_source.load("nope", "train", data_dir=tmp_path)
    with pytest.raises(TypeError, match=r"unknown options \['frame_size'\]"):
        tfds_source.load("synthetic_videos", "train", data_dir=tmp_path, frame_size=3)
    with pytest.raises(TypeError, match=r"otb: unknown options \['n_frames'\]"):
        tfds_source.load("otb", "test", data_dir=tmp_path, n_frames=3)
    with pytest.raises(FileNotFoundError, match="is not prepared"):
        tfds_source.load("synthetic_videos", "train", data_dir=tmp_path, download_and_prepare=False, num_train=1)


def _png(rng, h=6, w=8):
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return image, cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))[1].tobytes()


def _got10k_tree(root, rng):
    """Two train sequences with PNG frames; returns {name: (frames, boxes)} as written."""
    written = {}
    for name, boxes in (("GOT-10k_Train_000001", [[1, 2, 3, 4], [2, 3, 4, 5], [0, 0, 0, 0]]),
                        ("GOT-10k_Train_000002", [[4, 4, 2, 2], [5, 5, 2, 2]])):
        seq = root / "train" / name
        seq.mkdir(parents=True)
        frames = []
        for t in range(len(boxes)):
            image, data = _png(rng)
            (seq / f"{t + 1:08d}.png").write_bytes(data)
            frames.append(image)
        (seq / "groundtruth.txt").write_text("\n".join(",".join(map(str, b)) for b in boxes))
        (seq / "absence.label").write_text("\n".join("0" for _ in boxes))
        (seq / "cover.label").write_text("\n".join("8" for _ in boxes))
        (seq / "cut_by_image.label").write_text("\n".join("0" for _ in boxes))
        written[name] = (frames, np.array(boxes, np.float32))
    (root / "train" / "list.txt").write_text("\n".join(written))
    return written


def test_got10k_builder(tmp_path):
    manual = tmp_path / "raw"
    written = _got10k_tree(manual, np.random.default_rng(0))
    ds = tfds_source.load("got10k", "train", data_dir=tmp_path / "tfds", manual_dir=manual)
    assert [v.name for v in ds.videos] == list(written)
    for i, (frames, boxes) in enumerate(written.values()):
        invalid = (boxes[:, 2] == 0)
        boxes[invalid] = np.nan
        np.testing.assert_array_equal(ds.videos[i].boxes, boxes)
        np.testing.assert_array_equal(ds.videos[i].visible, ~invalid)
        for t, image in enumerate(frames):
            np.testing.assert_array_equal(ds.frame(i, t), image)
    assert ds.mask(0, 0) is None  # a builder without masks keeps its layout


def test_got10k_builder_rejects_corrupt_image(tmp_path):
    manual = tmp_path / "raw"
    _got10k_tree(manual, np.random.default_rng(1))
    (manual / "train" / "GOT-10k_Train_000002" / "00000002.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(ValueError, match=r"GOT-10k_Train_000002/00000002.png: truncated PNG image"):
        tfds_source.load("got10k", "train", data_dir=tmp_path / "tfds", manual_dir=manual)


def test_otb_and_lasot_builders(tmp_path):
    rng = np.random.default_rng(2)
    otb_root, lasot_root = tmp_path / "otb", tmp_path / "lasot"
    frames = []
    for t in range(2):
        image, data = _png(rng)
        frames.append(image)
        for folder in (otb_root / "Jogging" / "img", lasot_root / "cat" / "cat-1" / "img",
                       lasot_root / "cat" / "cat-2" / "img"):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{t + 1:0{4 if 'Jogging' in str(folder) else 8}d}.png").write_bytes(data)
    (otb_root / "Jogging" / "groundtruth_rect.1.txt").write_text("2,3,4,5\n3,4,5,6\n")
    (otb_root / "Jogging" / "groundtruth_rect.2.txt").write_text("1\t1\t2\t2\n1 1 2 2\n")
    ds = tfds_source.load("otb", "test", data_dir=tmp_path / "tfds", manual_dir=otb_root)
    assert [v.name for v in ds.videos] == ["Jogging.1", "Jogging.2"]
    np.testing.assert_array_equal(ds.videos[0].boxes, [[1, 2, 4, 5], [2, 3, 5, 6]])
    np.testing.assert_array_equal(ds.frame(1, 1), frames[1])
    for name in ("cat-1", "cat-2"):
        seq = lasot_root / "cat" / name
        (seq / "groundtruth.txt").write_text("5,6,7,8\n6,7,8,9\n")
        (seq / "full_occlusion.txt").write_text("0,1")
        (seq / "out_of_view.txt").write_text("0,0")
    (lasot_root / "testing_set.txt").write_text("cat-2\n")
    test = tfds_source.load("lasot", "test", data_dir=tmp_path / "tfds", manual_dir=lasot_root)
    train = tfds_source.load("lasot", "train", data_dir=tmp_path / "tfds", manual_dir=lasot_root)
    assert [v.name for v in test.videos] == ["cat-2"] and [v.name for v in train.videos] == ["cat-1"]
    np.testing.assert_array_equal(test.videos[0].boxes[0], [4, 5, 7, 8])
    assert test.videos[0].visible.tolist() == [True, False] and test.videos[0].attributes == {"OCC": True, "OV": False}
    np.testing.assert_array_equal(test.frame(0, 0), frames[0])


def _summe_files(manual, splits):
    manual.mkdir(parents=True)
    features = {}
    with h5py.File(manual / "eccv16_dataset_summe_google_pool5.h5", "w") as f:
        for k, n in ((1, 30), (2, 45), (3, 20)):
            g = f.create_group(f"video_{k}")
            picks = np.arange(0, n, 15)
            features[f"video_{k}"] = np.full((len(picks), 4), k, np.float32)
            g["features"], g["picks"], g["gtscore"] = features[f"video_{k}"], picks, np.linspace(0, 1, len(picks))
            g["user_summary"] = (np.arange(n)[None] % 3 == 0).repeat(2, 0).astype(np.float32)
            g["change_points"], g["n_frame_per_seg"], g["n_frames"] = np.array([[0, n - 1]]), np.array([n]), n
    (manual / "summe_splits.json").write_text(json.dumps(splits))
    return features


def test_eccv16_builder_and_folds(tmp_path):
    features = _summe_files(tmp_path / "raw", [{"train_keys": ["video_1", "video_3"], "test_keys": ["video_2"]}])
    full = tfds_source.load("summe", "full", data_dir=tmp_path / "tfds", manual_dir=tmp_path / "raw")
    assert [v.name for v in full.videos] == ["video_1", "video_2", "video_3"]
    fold = tfds_source.load("summe", "split0_train", data_dir=tmp_path / "tfds", manual_dir=tmp_path / "raw")
    assert [v.name for v in fold.videos] == ["video_1", "video_3"]
    np.testing.assert_array_equal(fold.videos[1].features, features["video_3"])
    np.testing.assert_array_equal(fold.videos[1].picks, [0, 15])
    assert len(fold.videos[1]) == 20 and fold.videos[1].user_summaries.shape == (2, 20) and fold.videos[1].boxes is None
    with pytest.raises(ValueError, match="stores no frames"):
        fold.frame(0, 0)
    with pytest.raises(ValueError, match=r"split 'split1_test': only 1 folds"):
        tfds_source.load("summe", "split1_test", data_dir=tmp_path / "tfds", manual_dir=tmp_path / "raw")


def test_eccv16_builder_rejects_unknown_split_key(tmp_path):
    _summe_files(tmp_path / "raw", [{"train_keys": ["video_1"], "test_keys": ["video_7"]}])
    with pytest.raises(ValueError, match=r"summe_splits.json: split 0 test_keys: \['video_7'\] not in .*\.h5"):
        tfds_source.load("summe", "full", data_dir=tmp_path / "tfds", manual_dir=tmp_path / "raw")


def test_prepared_dataset_is_keyed_on_its_source_files(tmp_path, capsys):
    """An edited ground-truth file (or a splits json added later) rebuilds the prepared videos config instead of
    serving the old boxes, and the frames config when the videos or their lengths change; untouched files, or no
    manual_dir, reuse them."""
    manual, data_dir = tmp_path / "raw", tmp_path / "tfds"
    written = _got10k_tree(manual, np.random.default_rng(0))
    first = tfds_source.load("got10k", "train", data_dir=data_dir, manual_dir=manual)
    assert "data: building got10k/videos" in capsys.readouterr().out
    tfds_source.load("got10k", "train", data_dir=data_dir, manual_dir=manual)
    assert "building" not in capsys.readouterr().out  # same files: reused
    gt = manual / "train" / "GOT-10k_Train_000002" / "groundtruth.txt"
    gt.write_text("7,7,2,2\n8,8,2,2")  # same size as before: the modification time tells
    os.utime(gt, ns=(gt.stat().st_atime_ns, gt.stat().st_mtime_ns + 1))
    stale = tfds_source.load("got10k", "train", data_dir=data_dir)  # no manual_dir: used as it is (the rule)
    np.testing.assert_array_equal(stale.videos[1].boxes, first.videos[1].boxes)
    fresh = tfds_source.load("got10k", "train", data_dir=data_dir, manual_dir=manual)
    out = capsys.readouterr().out
    assert "got10k/videos in" in out and "was built from other files than manual_dir holds now" in out
    assert "got10k/frames" not in out  # the same videos and lengths: the frames config is kept
    np.testing.assert_array_equal(fresh.videos[1].boxes, [[7, 7, 2, 2], [8, 8, 2, 2]])
    np.testing.assert_array_equal(fresh.videos[0].boxes[:2], written["GOT-10k_Train_000001"][1][:2])
    np.testing.assert_array_equal(fresh.frame(1, 1), written["GOT-10k_Train_000002"][0][1])
    (manual / "train" / "list.txt").write_text("GOT-10k_Train_000002")  # one video fewer: frames rebuilt too
    fewer = tfds_source.load("got10k", "train", data_dir=data_dir, manual_dir=manual)
    out = capsys.readouterr().out
    assert "got10k/frames in" in out and "holds other videos (names or lengths) than the videos config" in out
    assert [v.name for v in fewer.videos] == ["GOT-10k_Train_000002"]
    np.testing.assert_array_equal(fewer.frame(0, 1), written["GOT-10k_Train_000002"][0][1])

    summe = tmp_path / "summe"
    _summe_files(summe, [{"train_keys": ["video_1"], "test_keys": ["video_2"]}])
    (summe / "summe_splits.json").unlink()
    tfds_source.load("summe", "full", data_dir=data_dir, manual_dir=summe)
    with pytest.raises(ValueError, match=r"split 'split0_test': no fold splits; put summe_splits.json"):
        tfds_source.load("summe", "split0_test", data_dir=data_dir, manual_dir=summe)
    (summe / "summe_splits.json").write_text(json.dumps([{"train_keys": ["video_1"], "test_keys": ["video_2"]}]))
    fold = tfds_source.load("summe", "split0_test", data_dir=data_dir, manual_dir=summe)
    assert [v.name for v in fold.videos] == ["video_2"]
