"""VOT reader on fixture trees written here: both folder layouts, rectangle / rotated / mask ground truth, tags,
the pysot axis-aligned box against hand computations, and bad input."""

import cv2
import numpy as np
import pytest

from jaxtrack.data.readers import vot
from jaxtrack.data.readers.images import read_image

# A 30x40 (w x h) rectangle at x=10, y=20 as pixel-inclusive corners: the last column is 10+30-1 = 39.
RECT_POLY = [10, 20, 39, 20, 39, 59, 10, 59]


def _frames(folder, n, suffix=".jpg"):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        assert cv2.imwrite(str(folder / f"{i:08d}{suffix}"), np.full((6, 8, 3), 40 * i, np.uint8))


def _seq(root, name, lines, *, color=True, suffix=".jpg", tags=None, n=None):
    seq = root / name
    _frames(seq / "color" if color else seq, len(lines) if n is None else n, suffix)
    (seq / "groundtruth.txt").write_text("\n".join(lines) + "\n")
    for file, values in (tags or {}).items():
        (seq / file).write_text("".join(f"{v}\n" for v in values))
    return seq


def _rotated(cx, cy, length, width, theta):
    """[8] corners of a length x width rectangle centred at (cx, cy), rotated by theta."""
    c, s = np.cos(theta), np.sin(theta)
    local = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [length / 2, width / 2]
    return (local @ [[c, s], [-s, c]] + [cx, cy]).ravel()


def test_axis_aligned_box_rectangle_comes_back_as_itself():
    np.testing.assert_allclose(vot.axis_aligned_box(np.array([RECT_POLY])), [[10, 20, 30, 40]])


def test_axis_aligned_box_rotated_closed_form():
    # A square of side L at any angle: bounding side L(|c|+|s|), s = 1/(|c|+|s|), so w = h = L + 1.
    d = 10 / np.sqrt(2)  # side 10 at 45 degrees centred at (50, 30): w = h = 11, x = 50 - 10/2, y = 30 - 10/2
    square45 = np.array([[50 - d, 30, 50, 30 - d, 50 + d, 30, 50, 30 + d]])
    np.testing.assert_allclose(vot.axis_aligned_box(square45), [[45, 25, 11, 11]], atol=1e-5)
    # A 40x20 rectangle at 30 degrees: bounding W = 40c + 20s, H = 40s + 20c, scale sqrt(800 / (W H)).
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    big_w, big_h = 40 * c + 20 * s, 40 * s + 20 * c
    scale = np.sqrt(800 / (big_w * big_h))
    w, h = scale * big_w + 1, scale * big_h + 1
    got = vot.axis_aligned_box(np.stack([_rotated(100, 60, 40, 20, np.pi / 6), _rotated(7, 8, 12, 12, 0.4)]))
    np.testing.assert_allclose(got[0], [100 - (w - 1) / 2, 60 - (h - 1) / 2, w, h], rtol=1e-6)
    np.testing.assert_allclose(got[1, 2:], [13, 13], rtol=1e-6)
    assert got.dtype == np.float32 and np.isnan(vot.axis_aligned_box(np.zeros((1, 8)))).all()  # degenerate


def test_read_vot_new_layout_with_list(tmp_path):
    rotated = ",".join(f"{v:.6f}" for v in _rotated(20, 15, 8, 8, np.pi / 4))
    _seq(tmp_path, "ball", [",".join(map(str, RECT_POLY)), rotated, "1,2,3,4"],
         tags={"occlusion.tag": [0, 1, 0], "camera_motion.tag": [0], "size_change.tag": [0, 0, 0]})
    _seq(tmp_path, "car", ["1.5,2,3,4", "0,0,0,0"], suffix=".png")
    (tmp_path / "list.txt").write_text("car\nball\n")
    car, ball = vot.read_vot(tmp_path)
    assert (car.name, ball.name, len(ball)) == ("car", "ball", 3)
    assert ball.frame_paths[2].endswith("ball/color/00000003.jpg") and car.frame_paths[0].endswith(".png")
    assert read_image(car.frame_paths[1]).shape == (6, 8, 3)
    np.testing.assert_allclose(ball.boxes[[0, 2]], [[10, 20, 30, 40], [1, 2, 3, 4]])
    np.testing.assert_allclose(ball.boxes[1], [20 - 4, 15 - 4, 9, 9], atol=1e-4)  # rotated square: side 8 + 1
    np.testing.assert_array_equal(car.boxes[0], [1.5, 2, 3, 4])
    assert np.isnan(car.boxes[1]).all() and car.visible.tolist() == [True, False]
    assert ball.attributes == {"camera_motion": False, "illum_change": False, "motion_change": False,
                               "size_change": False, "occlusion": True}
    assert ball.fps == 30.0 and ball.boxes.dtype == np.float32
    # rotated boxes are kept as polygons (the VOT protocol's ground truth), rectangle lines as their boxes' corners
    np.testing.assert_allclose(ball.polygons[1], _rotated(20, 15, 8, 8, np.pi / 4).reshape(4, 2), atol=1e-5)
    np.testing.assert_array_equal(ball.polygons[2], [[1, 2], [4, 2], [4, 6], [1, 6]])
    assert ball.polygons.shape == (3, 4, 2) and car.polygons is None  # car: rectangles only


def test_read_vot_old_layout_without_list(tmp_path):
    _seq(tmp_path, "bag", [",".join(map(str, RECT_POLY))] * 2, color=False, tags={"illum_change.label": [0, 1]})
    (tmp_path / "notes").mkdir()  # no groundtruth.txt: not a sequence
    (v,) = vot.read_vot(tmp_path)
    assert v.name == "bag" and v.frame_paths[1].endswith("bag/00000002.jpg")
    np.testing.assert_allclose(v.boxes, [[10, 20, 30, 40]] * 2)
    assert v.attributes["illum_change"] and not v.attributes["occlusion"]
    assert [x.name for x in vot.read_vot(tmp_path, names=["bag"])] == ["bag"]


def test_read_vot_polygons(tmp_path):
    seq = _seq(tmp_path, "s", ["10,20,30,40", ",".join(map(str, RECT_POLY)), "nan,nan,nan,nan"])
    polygons = vot.read_vot_polygons(seq)
    assert polygons.shape == (3, 8) and polygons.dtype == np.float32
    np.testing.assert_array_equal(polygons[:2], [RECT_POLY, RECT_POLY])
    assert np.isnan(polygons[2]).all()


def test_masks_give_boxes_but_no_polygons(tmp_path):
    seq = _seq(tmp_path, "m", ["m5,6,7,8,0,56", "m0,0,0,0,0"])
    v = vot.read_vot_sequence(seq)
    np.testing.assert_array_equal(v.boxes[0], [5, 6, 7, 8])
    assert np.isnan(v.boxes[1]).all() and v.visible.tolist() == [True, False]
    with pytest.raises(ValueError, match=r"groundtruth.txt line 1: mask regions have no polygon"):
        vot.read_vot_polygons(seq)


@pytest.mark.parametrize("line, message", [
    ("1,2,3", r"groundtruth.txt line 2: expected 4 numbers \(x,y,w,h\), 8 .* got '1,2,3'"),
    ("1,2,3,4,5,6", r"line 2: expected 4 numbers"),
    ("a,b,c,d", r"line 2: expected 4 numbers"),
    ("m1,2", r"line 2: expected 4 numbers"),
    ("1,2,-3,4", r"line 2: negative box size"),
])
def test_bad_groundtruth_lines(tmp_path, line, message):
    seq = _seq(tmp_path, "s", ["1,2,3,4", line])
    with pytest.raises(ValueError, match=message):
        vot.read_vot_sequence(seq)


def test_bad_input(tmp_path):
    seq = _seq(tmp_path, "short", ["1,2,3,4"] * 3, n=2)
    with pytest.raises(ValueError, match=r"color: 2 images but 3 regions in .*groundtruth.txt"):
        vot.read_vot_sequence(seq)
    seq = _seq(tmp_path, "tags", ["1,2,3,4"] * 2, tags={"occlusion.tag": [0, 2]})
    with pytest.raises(ValueError, match=r"occlusion.tag line 2: expected 0 or 1, got '2'"):
        vot.read_vot_sequence(seq)
    (seq / "occlusion.tag").write_text("0\n1\n0\n")
    with pytest.raises(ValueError, match=r"occlusion.tag: 3 tags for 2 frames"):
        vot.read_vot_sequence(seq)
    (tmp_path / "list.txt").write_text("gone\n")
    with pytest.raises(FileNotFoundError, match=r"gone: VOT sequence folder not found"):
        vot.read_vot(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"VOT root folder not found"):
        vot.read_vot(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no list.txt and no sequence folder"):
        vot.read_vot(tmp_path / "empty")
    (tmp_path / "empty" / "groundtruth.txt").write_text("")
    with pytest.raises(ValueError, match=r"groundtruth.txt: empty file"):
        vot.read_vot_sequence(tmp_path / "empty")
