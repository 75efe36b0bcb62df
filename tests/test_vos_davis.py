"""DAVIS reader and results-folder evaluation on tiny fixture trees written by the tests."""

import numpy as np
import pytest
from PIL import Image

from jaxtrack import boxes
from jaxtrack import config as config_lib
from jaxtrack.data.readers import davis
from jaxtrack.eval import vos_benchmark
from jaxtrack.modes import eval as eval_mode

H, W, T = 16, 24, 5


def write_png(path, label):
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(label.astype(np.uint8), mode="P")
    im.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [255, 255, 255] * 253)
    im.save(path)


def labels(seq_index):
    """[T, H, W]: object 1 a square moving right; in sequence 1 also object 2, absent in frames 0-1 (not in 0:
    the first frame defines the objects, so it appears in frame 0 and leaves in frame 1)."""
    out = np.zeros((T, H, W), np.uint8)
    for t in range(T):
        out[t, 2:8, 2 + 2 * t:8 + 2 * t] = 1
        if seq_index == 1 and t != 1:
            out[t, 10:14, 14:20] = 2
    out[:, 0, 0] = davis.VOID  # void pixels read as background
    return out


@pytest.fixture()
def tree(tmp_path):
    root = tmp_path / "DAVIS"
    for s, name in enumerate(["aa", "bb"]):
        for t, label in enumerate(labels(s)):
            img = root / "JPEGImages" / "480p" / name / f"{t:05d}.jpg"
            img.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((H, W, 3), 90, np.uint8)).save(img)
            write_png(root / "Annotations" / "480p" / name / f"{t:05d}.png", label)
    (root / "ImageSets" / "2017").mkdir(parents=True)
    (root / "ImageSets" / "2017" / "val.txt").write_text("aa\nbb\n")
    return root


def copy_results(root, out):
    for name in ["aa", "bb"]:
        for png in sorted((root / "Annotations" / "480p" / name).glob("*.png")):
            write_png(out / name / png.name, np.array(Image.open(png)))


def test_reader_masks_boxes_and_objects(tree):
    videos = davis.read_davis(tree, year=2017, split="val")
    assert [v.name for v in videos] == ["aa", "bb"] and len(videos[1]) == T
    bb = videos[1]
    assert bb.masks.shape == (T, H, W) and bb.masks[0, 0, 0] == 0  # void -> background
    np.testing.assert_array_equal(bb.boxes[3], [8, 2, 6, 6])
    two = davis.object_video(bb, 2)
    assert two.name == "bb_2" and np.isnan(two.boxes[1]).all()  # absent in frame 1
    np.testing.assert_array_equal(two.boxes[0], [14, 10, 6, 4])
    merged = davis.read_davis_sequence(tree, "bb", year=2016)  # DAVIS 2016: one object
    assert merged.masks.max() == 1 and merged.masks[0, 10, 14] == 1


def test_mask_to_xywh_matches_a_loop():
    rng = np.random.default_rng(0)
    masks = rng.random((6, 7, 9)) < 0.08
    masks[2] = False
    got = boxes.mask_to_xywh(masks)
    for m, b in zip(masks, got, strict=True):
        ys, xs = np.nonzero(m)
        if not len(ys):
            assert np.isnan(b).all()
        else:
            np.testing.assert_array_equal(b, [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1])


def test_reader_errors_name_the_file(tree):
    bad = tree / "Annotations" / "480p" / "aa" / "00003.png"
    label = labels(0)[3]
    label[5, 5] = 7
    write_png(bad, label)
    with pytest.raises(ValueError, match=r"00003.png: palette index 7 out of range: the first frame has objects 1..1"):
        davis.read_davis_sequence(tree, "aa")
    write_png(bad, np.zeros((H + 1, W), np.uint8))
    with pytest.raises(ValueError, match=r"00003.png: annotation is 24x17 but frame 00003.jpg is 24x16"):
        davis.read_davis_sequence(tree, "aa")
    bad.unlink()
    with pytest.raises(FileNotFoundError, match=r"00003.png: file not found"):
        davis.read_davis_sequence(tree, "aa")
    with pytest.raises(FileNotFoundError, match=r"no \.jpg frames for sequence 'zz'"):
        davis.read_davis_sequence(tree, "zz")


def test_results_folder_evaluation(tree, tmp_path):
    res = tmp_path / "res"
    copy_results(tree, res)
    loaders = [lambda n=n: davis.read_davis_sequence(tree, n) for n in ["aa", "bb"]]
    perfect = vos_benchmark.evaluate(loaders, res, tmp_path / "out", "val")
    assert perfect == {c: (0.0 if "Decay" in c else 1.0) for c in perfect}
    # object 2 of bb never predicted: J = F = 0 on scored frames 2, 3 where it is present, 1 in frame 1 (absent)
    for t in range(T):
        label = np.array(Image.open(res / "bb" / f"{t:05d}.png"))
        write_png(res / "bb" / f"{t:05d}.png", np.where(label == 2, 0, label))
    row = vos_benchmark.evaluate(loaders, res, tmp_path / "out", "val")
    assert row["J-Mean"] == pytest.approx((1 + 1 + 1 / 3) / 3) and row["J-Recall"] == pytest.approx((1 + 1 + 1 / 3) / 3)
    out = tmp_path / "out"
    assert (out / "per-sequence_results-val.csv").read_text().splitlines() == [
        "Sequence,J-Mean,F-Mean", "aa_1,1.000,1.000", "bb_1,1.000,1.000", "bb_2,0.333,0.333"]
    assert (out / "global_results-val.csv").read_text().splitlines()[1].startswith("0.778,0.778,0.778,")
    assert (out / "per_object_jf.png").read_bytes()[:4] == b"\x89PNG" and len(list((out / "overlays").iterdir())) == 6
    assert "| bb_2 | 0.333 | 0.333 |" in (out / "summary.md").read_text()


def test_results_errors_name_the_file(tree, tmp_path):
    res = tmp_path / "res"
    copy_results(tree, res)
    video = davis.read_davis_sequence(tree, "aa")
    write_png(res / "aa" / "00002.png", np.full((H, W), 3, np.uint8))
    with pytest.raises(ValueError, match=r"aa: result object id 3 but the annotation has objects 1..1"):
        vos_benchmark.read_results(res, video)
    write_png(res / "aa" / "00002.png", np.zeros((H, W + 2), np.uint8))
    with pytest.raises(ValueError, match=r"00002.png: result is 26x16, the annotation 24x16"):
        vos_benchmark.read_results(res, video)
    (res / "aa" / "00002.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"aa/00002.png: file not found"):
        vos_benchmark.read_results(res, video)


def test_eval_mode_scores_a_davis_results_folder(tree, tmp_path):
    res = tmp_path / "res"
    copy_results(tree, res)
    config = config_lib.experiment("eval")
    config.eval.update(benchmark="davis2017", data_root=str(tree), vos_results=str(res), max_videos=1)
    row = eval_mode.run(config, str(tmp_path / "w"))
    assert row["J&F-Mean"] == 1.0
    assert (tmp_path / "w" / "eval" / "davis2017" / "per-sequence_results-val.csv").read_text().splitlines() == [
        "Sequence,J-Mean,F-Mean", "aa_1,1.000,1.000"]
    config.eval.data_root = ""
    with pytest.raises(ValueError, match=r"set config\.eval\.data_root .* and config\.eval\.vos_results"):
        eval_mode.run(config, str(tmp_path / "w"))
    config.eval.vos_results = ""  # the trackers are run instead (tests/test_vos_tracking.py)
    with pytest.raises(ValueError, match=r"benchmark 'davis2017' needs config\.eval\.data_root"):
        eval_mode.run(config, str(tmp_path / "w"))
