"""The box-validation table: every way into a tracker (`--mode=track`, the exported tracker's frames CLI, batched
tracking, evaluation's `run_sequence`, the OpenCV baselines) rejects the same bad initial boxes and frames with the
same one-line message (`boxes.check_init_box`, `images.glob_video`), before anything is written; a good box gets
past every check. And the ground-truth readers reject a first box that is NaN or 0x0, naming the file and line."""

import re

import cv2
import numpy as np
import pytest

from jaxtrack import boxes
from jaxtrack import config as config_lib
from jaxtrack.data.readers import images, otb, text
from jaxtrack.data.video import Video
from jaxtrack.eval import benchmark
from jaxtrack.modes import track as track_mode
from jaxtrack.track import baselines, batched, export

SIZE_RULE = r"needs w > 0 and h > 0"
OUTSIDE = r"misses the 128x128 \(WxH\) frame; it must overlap \[0, 128\) x \[0, 128\)"
MIXED = r"frame 2 is 128x136 \(WxH\) but frame 0 .*is 128x128: the frames of one video must share one size"
GOOD = None  # passes every check (each entry point then gets as far as its tracker)

# (frames, --box text, expected error); frames: "ok" (4 PNGs of 128x128), "mixed" (frame 2 is 136 high), "empty"
# (frame 2 has zero bytes)
TABLE = [
    ("ok", "40,40,20,20", GOOD),
    ("ok", "120,0,30,30", GOOD),  # partly outside: tracked
    ("ok", "40,40,0,31", SIZE_RULE),
    ("ok", "40,40,-5,31", SIZE_RULE),
    ("ok", "40,40,10,0", SIZE_RULE),
    ("ok", "500,500,30,30", OUTSIDE),
    ("ok", "128,10,5,5", OUTSIDE),  # starts at the right edge
    ("ok", "-40,10,30,30", OUTSIDE),  # ends left of the frame
    ("ok", "nan,1,2,3", r"must be 4 finite numbers x,y,w,h, got nan,1,2,3"),
    ("ok", "a,b,c,d", r"must be x,y,w,h \(4 numbers, 0-based px\), got 'a,b,c,d'"),
    ("ok", "1,2,3", r"must be x,y,w,h \(4 numbers, 0-based px\), got '1,2,3'"),
    ("mixed", "40,40,20,20", MIXED),
    ("empty", "40,40,20,20", r"0002.png: not a JPEG or PNG image \(0 bytes"),
]
TEXT_ONLY = ("a,b,c,d", "1,2,3")  # what only a command line can give
PATHS_ONLY = ("empty",)  # what only frame files can be


@pytest.fixture(scope="module")
def frame_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(0)
    for kind in ("ok", "mixed", "empty"):
        (root / kind).mkdir()
        for t in range(4):
            h = 136 if (kind, t) == ("mixed", 2) else 128
            cv2.imwrite(str(root / kind / f"{t:04d}.png"), rng.integers(0, 255, (h, 128, 3), dtype=np.uint8))
        if kind == "empty":
            (root / kind / "0002.png").write_bytes(b"")
    return root


def one_line(error: str | None, expected: str | None):
    if expected is None:
        assert error is None, error
    else:
        assert error is not None, f"accepted; expected {expected!r}"
        assert "\n" not in error, error
        assert re.search(expected, error), (expected, error)


def numeric(box_text: str) -> np.ndarray:
    return np.array([float(v) for v in box_text.split(",")], np.float32)


@pytest.mark.parametrize("kind, box, expected", TABLE)
def test_track_mode(tmp_path, frame_dirs, kind, box, expected):
    c = config_lib.experiment("track")
    c.model.name = "siamfc"
    c.track_video.update(frames=str(frame_dirs / kind / "*.png"), box=box)
    try:
        track_mode.run(c, str(tmp_path))
        error = None
    except (ValueError, FileNotFoundError) as e:
        error = str(e)
    if expected is GOOD:  # past the checks, on to loading the (absent) tracker
        assert error is not None and "no checkpoint" in error
        error = None
    one_line(error, expected)
    assert not (tmp_path / "track").exists()


@pytest.mark.parametrize("kind, box, expected", TABLE)
def test_export_cli(tmp_path, frame_dirs, kind, box, expected):
    out = tmp_path / "boxes.txt"
    with pytest.raises(SystemExit) as e:
        export.main([str(tmp_path / "no_export"), f"--frames={frame_dirs / kind}/*.png", f"--box={box}",
                     f"--out={out}"])
    error = str(e.value.code)
    assert error.startswith("python -m jaxtrack.track.export: error: ")
    if expected is GOOD:  # past the checks, on to loading the (absent) export
        assert "missing ['init.jaxexport', 'step.jaxexport']" in error
        error = None
    one_line(error, expected)
    assert not out.exists()


def fake_fns():
    """batched.make_fns' signature; the state is the box, kept as is."""
    def init(variables, frames, init_boxes, image_hw):
        return init_boxes

    def step(variables, states, frames, active):
        return states, states, np.ones(len(states), np.float32)
    return init, step


@pytest.mark.parametrize("kind, box, expected", [r for r in TABLE if r[1] not in TEXT_ONLY and r[0] not in PATHS_ONLY])
def test_batched(frame_dirs, kind, box, expected):
    good = [images.read_image(p) for p in sorted((frame_dirs / "ok").glob("*.png"))]
    frames = [images.read_image(p) for p in sorted((frame_dirs / kind).glob("*.png"))]
    try:
        out, _ = batched.track_sequences(None, None, None, [good, frames], np.stack([[1, 1, 5, 5], numeric(box)]),
                                         fns=fake_fns())
        error = None
        np.testing.assert_array_equal(out[1, 0], numeric(box))
    except ValueError as e:
        error = str(e)
        assert error.startswith("init_boxes[1]: ") or error.startswith("videos[1] ")
    one_line(error, expected)


@pytest.mark.parametrize("tracker", ["static", "kcf"])
@pytest.mark.parametrize("kind, box, expected", [r for r in TABLE if r[1] not in TEXT_ONLY])
def test_evaluation_and_baselines(frame_dirs, tracker, kind, box, expected):
    paths = tuple(str(p) for p in sorted((frame_dirs / kind).glob("*.png")))
    gt = np.full((len(paths), 4), np.nan, np.float32)
    gt[0] = numeric(box)
    try:
        run = benchmark.run_sequence(baselines.make(tracker), Video("v", frame_paths=paths, boxes=gt))
        error = None
        np.testing.assert_array_equal(run.boxes[0], gt[0])
    except ValueError as e:
        error = str(e)
    one_line(error, expected)


def test_opencv_baseline_checks_its_own_init():
    frame = np.zeros((128, 128, 3), np.uint8)
    with pytest.raises(ValueError, match="kcf: the initial box x,y,w,h=500,500,30,30 misses the 128x128"):
        baselines.make("kcf").init(frame, [500, 500, 30, 30])


def test_check_init_box_is_the_rule():
    """The rule, stated against its definition: finite, positive size, overlapping [0, W) x [0, H)."""
    rng = np.random.default_rng(1)
    for _ in range(500):
        box = rng.uniform(-60, 180, 4).round(1)
        ok = box[2] > 0 and box[3] > 0 and box[0] < 128 and box[1] < 96 and box[0] + box[2] > 0 and box[1] + box[3] > 0
        try:
            boxes.check_init_box(box, "b", (96, 128))
            assert ok, box
        except ValueError:
            assert not ok, box


@pytest.mark.parametrize("first_line", ["nan,nan,nan,nan", "NaN NaN NaN NaN", "0,0,0,0", "10,20,0,0", "10,20,30,0"])
def test_reader_rejects_an_invalid_first_box(tmp_path, first_line):
    path = tmp_path / "groundtruth.txt"
    path.write_text(f"{first_line}\n10,20,30,40\n")
    with pytest.raises(ValueError, match=rf"groundtruth.txt line 1: the first frame's box must be finite with w, h "
                                         rf"> 0 \(a tracker starts from it\), got '{first_line}'"):
        text.read_boxes(path, one_based=False)
    path.write_text(f"10,20,30,40\n{first_line}\n")  # later frames may be absent: NaN rows
    assert np.isnan(text.read_boxes(path, one_based=False)[1]).all()


def test_otb_reader_names_the_file(tmp_path):
    seq = tmp_path / "Basketball"
    (seq / "img").mkdir(parents=True)
    for t in (1, 2):
        cv2.imwrite(str(seq / "img" / f"{t:04d}.jpg"), np.zeros((8, 8, 3), np.uint8))
    (seq / "groundtruth_rect.txt").write_text("0,0,0,0\n1,1,2,2\n")
    with pytest.raises(ValueError, match=r"Basketball/groundtruth_rect.txt line 1: the first frame's box"):
        otb.read_otb(tmp_path)
