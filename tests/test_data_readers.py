"""Plain dataset readers on fixture trees written here: values, format quirks and bad input."""

import io
import json
import logging

import h5py
import numpy as np
import pytest
import scipy.io
from PIL import Image

from jaxtrack.data.readers import eccv16, got10k, images, lasot, otb, raw_summ, text
from jaxtrack.data.video import Video


def _image_bytes(color, fmt="JPEG", size=(8, 6)):
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, fmt)
    return buf.getvalue()


JPEG = _image_bytes((200, 30, 40))


def _write_frames(folder, numbers, digits, data=JPEG, suffix=".jpg"):
    folder.mkdir(parents=True, exist_ok=True)
    for n in numbers:
        (folder / f"{n:0{digits}d}{suffix}").write_bytes(data)


def _got10k_seq(root, name, boxes, absence, cover, cut):
    seq = root / "train" / name
    _write_frames(seq, range(1, len(boxes) + 1), 8)
    (seq / "groundtruth.txt").write_text("\n".join(",".join(map(str, b)) for b in boxes) + "\n")
    for label, values in (("absence", absence), ("cover", cover), ("cut_by_image", cut)):
        (seq / f"{label}.label").write_text("\n".join(map(str, values)) + "\n")
    (seq / "meta_info.ini").write_text("[METAINFO]\nobject_class: cat\n")


GOT_BOXES = [[10.5, 20, 30, 40], [11, 21, 31, 41], [0, 0, 0, 0], [13, 23, 33, 43]]


@pytest.fixture
def got_root(tmp_path):
    _got10k_seq(tmp_path, "GOT-10k_Train_000001", GOT_BOXES, [0, 0, 1, 0], [8, 5, 0, 8], [0, 0, 0, 1])
    _got10k_seq(tmp_path, "GOT-10k_Train_000002", [[1, 2, 3, 4]] * 2, [0, 0], [8, 8], [0, 0])
    (tmp_path / "train" / "list.txt").write_text("GOT-10k_Train_000001\nGOT-10k_Train_000002\n")
    return tmp_path


def test_got10k_values(got_root, caplog):
    with caplog.at_level(logging.INFO, logger="absl"):
        videos = got10k.read_got10k(got_root, "train")
    assert [v.name for v in videos] == ["GOT-10k_Train_000001", "GOT-10k_Train_000002"]
    v = videos[0]
    expected = np.array(GOT_BOXES, np.float32)
    expected[2] = np.nan  # absent and zero-area: invalid, not dropped
    np.testing.assert_array_equal(v.boxes, expected)
    np.testing.assert_array_equal(v.visible, [True, True, False, True])
    np.testing.assert_array_equal(v.cover, [8, 5, 0, 8])
    assert v.frame_paths[3].endswith("GOT-10k_Train_000001/00000004.jpg") and len(v) == 4
    assert v.attributes == {"OCC": True, "OV": True}
    assert videos[1].attributes == {"OCC": False, "OV": False}
    assert "1 of 4 boxes are NaN or zero-area" in caplog.text


def test_got10k_test_split_has_first_box_only(tmp_path):
    seq = tmp_path / "test" / "GOT-10k_Test_000001"
    _write_frames(seq, range(1, 4), 8)
    (seq / "groundtruth.txt").write_text("5,6,7,8\n")
    (tmp_path / "test" / "list.txt").write_text("GOT-10k_Test_000001\n")
    (v,) = got10k.read_got10k(tmp_path, "test")
    np.testing.assert_array_equal(v.boxes[0], [5, 6, 7, 8])
    assert np.isnan(v.boxes[1:]).all() and v.visible.tolist() == [True, False, False]


@pytest.mark.parametrize("line, message", [
    ("abc", r"groundtruth.txt line 2: expected 4 numbers separated by ',' or tab or space, got 'abc'"),
    ("1,2,3", r"line 2: expected 4 numbers"),
    ("1,2,-3,4", r"groundtruth.txt line 2: negative box size"),
])
def test_malformed_ground_truth_line(got_root, line, message):
    gt = got_root / "train" / "GOT-10k_Train_000002" / "groundtruth.txt"
    gt.write_text(f"1,2,3,4\n{line}\n")
    with pytest.raises(ValueError, match=message):
        got10k.read_got10k(got_root, "train")


def test_got10k_missing_inputs(got_root):
    seq = got_root / "train" / "GOT-10k_Train_000001"
    (seq / "00000002.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"GOT-10k_Train_000001: frame 2 of 1..4 has no image file"):
        got10k.read_got10k(got_root, "train")
    (seq / "00000002.jpg").write_bytes(JPEG)
    (seq / "cover.label").write_text("8\n8\n")
    with pytest.raises(ValueError, match=r"cover.label: 2 labels for 4 frames"):
        got10k.read_got10k(got_root, "train")
    (got_root / "train" / "list.txt").write_text("\n")
    with pytest.raises(ValueError, match=r"list.txt: no sequence names"):
        got10k.read_got10k(got_root, "train")
    with pytest.raises(FileNotFoundError, match=r"val/list.txt: sequence list not found"):
        got10k.read_got10k(got_root, "val")


def test_got10k_box_count_mismatch(got_root):
    (got_root / "train" / "GOT-10k_Train_000002" / "groundtruth.txt").write_text("1,2,3,4\n")
    with pytest.raises(ValueError, match=r"groundtruth.txt: 1 boxes for 2 frames"):
        got10k.read_got10k(got_root, "train")


def test_empty_video_rejected(tmp_path):
    (tmp_path / "gt.txt").write_text("\n\n")
    with pytest.raises(ValueError, match=r"gt.txt: empty file"):
        text.read_boxes(tmp_path / "gt.txt", one_based=False)
    with pytest.raises(ValueError, match="empty video"):
        Video(name="x", boxes=np.zeros((0, 4), np.float32))


def test_corrupt_and_missing_images(tmp_path):
    good, truncated, foreign = tmp_path / "1.jpg", tmp_path / "2.jpg", tmp_path / "3.jpg"
    good.write_bytes(JPEG)
    truncated.write_bytes(JPEG[: len(JPEG) // 2])
    foreign.write_bytes(b"GIF89a not an image")
    video = Video(name="v", frame_paths=(str(good), str(truncated), str(foreign), str(tmp_path / "4.jpg")))
    ds = images.FileVideos([video])
    frame = ds.frame(0, 0)
    assert frame.shape == (6, 8, 3) and frame.dtype == np.uint8
    assert abs(int(frame[..., 0].mean()) - 200) < 8 and frame[..., 2].mean() < 60  # RGB order, not BGR
    with pytest.raises(ValueError, match=r"2.jpg: truncated JPEG image"):
        ds.frame(0, 1)
    with pytest.raises(ValueError, match=r"3.jpg: not a JPEG or PNG image"):
        ds.frame(0, 2)
    with pytest.raises(FileNotFoundError, match=r"4.jpg: image file not found"):
        ds.frame(0, 3)
    with pytest.raises(ValueError, match=r"frame 7: cannot decode image"):
        images.decode_image(JPEG[:2] + b"\x00" * 50 + JPEG[-2:], "frame 7")


def _otb_seq(root, name, first, last, gt_files, digits=4):
    seq = root / name
    _write_frames(seq / "img", range(first, last + 1), digits)
    for filename, content in gt_files.items():
        (seq / filename).write_text(content)


def test_otb_separators_targets_and_offsets(tmp_path):
    _otb_seq(tmp_path, "Basket", 1, 3, {"groundtruth_rect.txt": "1,2,3,4\n5\t6\t7\t8\n9 10 11, 12\n"})
    _otb_seq(tmp_path, "Jogging", 1, 2, {"groundtruth_rect.1.txt": "1,1,5,5\n2,2,5,5\n",
                                          "groundtruth_rect.2.txt": "3,3,4,4\n4,4,4,4\n"})
    _otb_seq(tmp_path, "Human4", 1, 2, {"groundtruth_rect.1.txt": "", "groundtruth_rect.2.txt": "7,7,2,2\n8,8,2,2\n"})
    # David: images 1..770, annotations for 300..770; Tiger1: 354 annotation lines, official range 6..354.
    _otb_seq(tmp_path, "David", 1, 770, {"groundtruth_rect.txt": "".join(f"{i},1,2,3\n" for i in range(300, 771))})
    _otb_seq(tmp_path, "Tiger1", 1, 354, {"groundtruth_rect.txt": "".join(f"{i},1,2,3\n" for i in range(1, 355))})
    videos = {v.name: v for v in otb.read_otb(tmp_path)}
    assert sorted(videos) == ["Basket", "David", "Human4", "Jogging.1", "Jogging.2", "Tiger1"]
    np.testing.assert_array_equal(videos["Basket"].boxes, [[0, 1, 3, 4], [4, 5, 7, 8], [8, 9, 11, 12]])
    np.testing.assert_array_equal(videos["Jogging.2"].boxes, [[2, 2, 4, 4], [3, 3, 4, 4]])
    np.testing.assert_array_equal(videos["Human4"].boxes[:, 0], [6, 7])
    david, tiger = videos["David"], videos["Tiger1"]
    assert len(david) == 471 and david.frame_paths[0].endswith("David/img/0300.jpg")
    assert david.boxes[0, 0] == 299 and david.boxes[-1, 0] == 769  # 1-based line values minus 1
    assert len(tiger) == 349 and tiger.frame_paths[0].endswith("Tiger1/img/0006.jpg") and tiger.boxes[0, 0] == 5


def test_otb_unlisted_sequence_with_extra_images_is_an_error(tmp_path):
    _otb_seq(tmp_path, "Odd", 1, 5, {"groundtruth_rect.txt": "1,2,3,4\n1,2,3,4\n"})
    with pytest.raises(ValueError, match=r"5 images but 2 boxes .* otb.FRAME_RANGES"):
        otb.read_otb(tmp_path)


def _lasot_seq(root, name, boxes, occlusion, out_of_view):
    seq = root / name.rsplit("-", 1)[0] / name
    _write_frames(seq / "img", range(1, len(boxes) + 1), 8)
    (seq / "groundtruth.txt").write_text("\n".join(",".join(map(str, b)) for b in boxes) + "\n")
    (seq / "full_occlusion.txt").write_text(",".join(map(str, occlusion)))
    (seq / "out_of_view.txt").write_text(",".join(map(str, out_of_view)))


def test_lasot_values_and_splits(tmp_path):
    _lasot_seq(tmp_path, "cat-1", [[11, 21, 5, 6], [12, 22, 5, 6], [0, 0, 0, 0]], [0, 0, 1], [0, 1, 0])
    _lasot_seq(tmp_path, "cat-2", [[1, 1, 2, 2]], [0], [0])
    _lasot_seq(tmp_path, "dog-10", [[3, 3, 2, 2]], [0], [0])
    (tmp_path / "testing_set.txt").write_text("cat-2\n")
    v = lasot.read_lasot(tmp_path, ["cat-1"])[0]
    np.testing.assert_array_equal(v.boxes[0], [10, 20, 5, 6])
    assert np.isnan(v.boxes[1:]).all() and v.visible.tolist() == [True, False, False]
    assert v.attributes == {"OCC": True, "OV": True}
    assert lasot.split_names(tmp_path) == {"train": ["cat-1", "dog-10"], "test": ["cat-2"]}
    (tmp_path / "cat" / "cat-2" / "out_of_view.txt").write_text("0,2")
    with pytest.raises(ValueError, match=r"out_of_view.txt line 1: label '2' is not an integer in \[0, 1\]"):
        lasot.read_lasot(tmp_path, ["cat-2"])


def _eccv16_group(f, key, n=40, picks=(0, 15, 30), users=3, cps=((0, 19), (20, 39))):
    g = f.create_group(key)
    rng = np.random.default_rng(len(key))
    g["features"] = rng.normal(size=(len(picks), 6)).astype(np.float32)
    g["picks"] = np.array(picks)
    g["gtscore"] = np.linspace(0, 1, len(picks))
    g["gtsummary"] = np.array([0, 1, 0][: len(picks)], np.float32)
    summary = np.zeros((users, n), np.float32)
    summary[:, 5:10] = 1
    g["user_summary"] = summary
    g["change_points"] = np.array(cps)
    g["n_frame_per_seg"] = np.array([b - a + 1 for a, b in cps])
    g["n_frames"] = np.array(float(n))
    return g


def test_eccv16_h5_values_and_bad_files(tmp_path):
    path = tmp_path / "summe.h5"
    with h5py.File(path, "w") as f:
        _eccv16_group(f, "video_10")
        _eccv16_group(f, "video_2", n=30, picks=(0, 15), cps=((0, 29),))
        expected = np.asarray(f["video_10"]["features"])
    videos = eccv16.read_eccv16(path)
    assert [v.name for v in videos] == ["video_2", "video_10"]  # natural order
    v = videos[1]
    np.testing.assert_array_equal(v.features, expected)
    np.testing.assert_array_equal(v.picks, [0, 15, 30])
    assert len(v) == 40 and v.user_summaries.shape == (3, 40) and v.user_summaries[:, 5:10].all()
    np.testing.assert_array_equal(v.change_points, [[0, 19], [20, 39]])
    with h5py.File(path, "a") as f:
        del f["video_2"]["gtscore"]
    with pytest.raises(ValueError, match=r"summe.h5: video 'video_2' lacks \['gtscore'\]"):
        eccv16.read_eccv16(path)
    with h5py.File(path, "a") as f:
        del f["video_2"]
        _eccv16_group(f, "video_3", picks=(0, 15, 30))
        del f["video_3"]["gtscore"]
        f["video_3"]["gtscore"] = np.zeros(2)
    with pytest.raises(ValueError, match=r"video 'video_3': mismatched lengths .*'gtscore': 2"):
        eccv16.read_eccv16(path)
    with h5py.File(path, "a") as f:
        del f["video_3"]
        _eccv16_group(f, "video_4", cps=((0, 19), (21, 39)))
    with pytest.raises(ValueError, match=r"video 'video_4': change_points must tile"):
        eccv16.read_eccv16(path)


def test_eccv16_splits(tmp_path):
    path = tmp_path / "splits.json"
    path.write_text(json.dumps([{"train_keys": ["data/x.h5/video_1"], "test_keys": ["video_2"]},
                                {"train_keys": ["video_2"], "test_keys": ["video_9"]}]))
    splits = eccv16.read_splits(path)
    assert splits[0] == {"train_keys": ["video_1"], "test_keys": ["video_2"]}
    with pytest.raises(ValueError, match=r"splits.json: split 1 test_keys: \['video_9'\] not in x.h5"):
        eccv16.check_split_keys(splits, ["video_1", "video_2"], splits_path=str(path), h5_path="x.h5")
    path.write_text(json.dumps([{"train_keys": []}]))
    with pytest.raises(ValueError, match=r"split 0 must be a dict with 'train_keys' and 'test_keys'"):
        eccv16.read_splits(path)


def test_tvsum_tsv(tmp_path):
    path = tmp_path / "ydata-anno.tsv"
    rows = [("vidA", "VT", [1, 2, 3, 4]), ("vidA", "VT", [5, 5, 1, 1]), ("vidB", "BK", [2, 2])]
    path.write_text("".join(f"{v}\t{c}\t{','.join(map(str, s))}\n" for v, c, s in rows))
    a, b = raw_summ.read_tvsum_tsv(path)
    assert (a.video_id, a.category, b.video_id, b.category) == ("vidA", "VT", "vidB", "BK")
    np.testing.assert_array_equal(a.user_scores, [[1, 2, 3, 4], [5, 5, 1, 1]])
    assert b.user_scores.shape == (1, 2) and b.user_scores.dtype == np.float32
    for line, message in [("vidA\tVT\t1,2,3", r"line 4: video 'vidA' has 3 scores, but 4 on line 1"),
                          ("vidA\tVT\t1,2,x,4", r"line 4: scores must be comma-separated integers"),
                          ("vidA\tVT\t1,2,6,4", r"line 4: scores must lie in 1..5"),
                          ("vidA\tGA\t1,2,3,4", r"line 4: video 'vidA' has category 'GA'"),
                          ("vidA 1,2", r"line 4: expected 3 tab-separated fields")]:
        path.write_text("".join(f"{v}\t{c}\t{','.join(map(str, s))}\n" for v, c, s in rows) + line + "\n")
        with pytest.raises(ValueError, match=message):
            raw_summ.read_tvsum_tsv(path)


def test_summe_mat(tmp_path):
    path = tmp_path / "Jumps.mat"
    user = np.zeros((6, 3))
    user[2:4, 0] = 1
    user[1:3, 2] = 1
    scipy.io.savemat(path, {"user_score": user, "gt_score": user.mean(1, keepdims=True), "nFrames": 6.0,
                            "FPS": 29.97})
    v = raw_summ.read_summe_mat(path)
    assert v.name == "Jumps" and len(v) == 6 and v.fps == pytest.approx(29.97)
    np.testing.assert_array_equal(v.user_summaries, user.T)
    np.testing.assert_allclose(v.gt_score, user.mean(1))
    scipy.io.savemat(path, {"user_score": user[:5], "gt_score": user.mean(1), "nFrames": 6.0, "FPS": 30.0})
    with pytest.raises(ValueError, match=r"Jumps.mat: user_score must be \[nFrames=6, users\], got \(5, 3\)"):
        raw_summ.read_summe_mat(path)
    scipy.io.savemat(path, {"user_score": user, "nFrames": 6.0, "FPS": 30.0})
    with pytest.raises(ValueError, match=r"Jumps.mat: missing \['gt_score'\]"):
        raw_summ.read_summe_mat(path)


def test_nan_box_lines_are_marked_invalid(tmp_path, caplog):
    path = tmp_path / "groundtruth.txt"
    path.write_text("1,2,3,4\nNaN,NaN,NaN,NaN\n5,6,0,8\n")
    with caplog.at_level(logging.INFO, logger="absl"):
        boxes = text.read_boxes(path, one_based=True)
    np.testing.assert_array_equal(boxes[0], [0, 1, 3, 4])
    assert np.isnan(boxes[1:]).all() and "2 of 3 boxes are NaN or zero-area" in caplog.text
