"""YouTube-VOS reader on tiny fixture trees written by the test: sparse annotations (every listed frame in train,
each object's first frame in valid), objects starting after frame 0, and one clear error naming the file for each
kind of bad input."""

import json

import numpy as np
import pytest
from PIL import Image

from jaxtrack.data.readers import youtube_vos

H, W = 12, 20
STEMS = ["00000", "00005", "00010", "00015", "00020"]
# video "a": object 1 in every frame, object 2 (category "dog") from 00010; video "b": object 3, listed from 00005
# but visible from 00010 only (meta.json lists a few train objects from frames where they are not yet visible)
META = {"a": {"1": ("person", STEMS), "2": ("dog", STEMS[2:])}, "b": {"3": ("cat", STEMS[1:4])}}


def write_png(path, label):
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(label.astype(np.uint8), mode="P")
    im.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0] + [255, 255, 255] * 252)
    im.save(path)


def label(vid, t):
    """[H, W] label map of frame index t of video `vid`."""
    out = np.zeros((H, W), np.uint8)
    if vid == "a":
        out[1:5, 1 + t:6 + t] = 1
        if t >= 2:
            out[7:11, 10:14 + t] = 2
    elif t >= 2:
        out[2:9, 3:7] = 3
    return out


def write_split(root, split, meta=META):
    base = root / split
    for vid, objects in meta.items():
        stems = sorted({s for _, frames in objects.values() for s in frames})
        firsts = {frames[0] for _, frames in objects.values()}
        for s in stems:
            t = STEMS.index(s)
            img = base / "JPEGImages" / vid / f"{s}.jpg"
            img.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((H, W, 3), 40 * t, np.uint8)).save(img)
            if split == "train" or s in firsts:
                write_png(base / "Annotations" / vid / f"{s}.png", label(vid, t))
    doc = {"videos": {vid: {"objects": {k: {"category": c, "frames": f} for k, (c, f) in objects.items()}}
                      for vid, objects in meta.items()}}
    (base / "meta.json").write_text(json.dumps(doc))
    return root


@pytest.fixture()
def root(tmp_path):
    write_split(tmp_path, "train")
    write_split(tmp_path, "valid")
    return tmp_path


def test_train_every_listed_frame_annotated(root):
    a, b = youtube_vos.read_youtube_vos(root, "train")
    assert a.name == "a" and len(a.video) == 5 and a.annotated.all()
    assert [p.rsplit("/", 1)[1] for p in a.video.frame_paths] == [f"{s}.jpg" for s in STEMS]
    np.testing.assert_array_equal(a.video.masks, np.stack([label("a", t) for t in range(5)]))
    assert a.objects == (youtube_vos.VOSObject(1, "person", 0, 4), youtube_vos.VOSObject(2, "dog", 2, 4))
    np.testing.assert_array_equal(a.video.boxes[3], [4, 1, 5, 4])  # object 1's tight box in frame 3
    # b: frames 00005..00015 only; object 3 listed from 00005 (index 0), first visible in 00010 (index 1)
    assert len(b.video) == 3 and b.objects == (youtube_vos.VOSObject(3, "cat", 1, 2),)
    assert np.isnan(b.video.boxes[0]).all() and b.video.masks[0].max() == 0


def test_valid_only_first_frames_annotated(root):
    meta = youtube_vos.read_meta(root, "valid")
    assert list(meta) == ["a", "b"] and meta["b"] == [(3, "cat", STEMS[1:4])]
    a = youtube_vos.read_youtube_vos_sequence(root, "valid", "a", meta["a"])
    np.testing.assert_array_equal(a.annotated, [True, False, True, False, False])
    assert a.video.masks[1].max() == 0 and a.video.masks[2].max() == 2  # the 00010 annotation holds both objects
    assert [o.first for o in a.objects] == [0, 2] and [o.last for o in a.objects] == [4, 4]
    assert np.isnan(a.video.boxes[1]).all()  # not annotated
    # b's only annotation (its first listed frame) shows no pixel of object 3: the object cannot be given
    with pytest.raises(ValueError, match=r"valid/Annotations/b/00005.png: object 3 of video 'b' \(first listed frame "
                                         r"00005\) has no pixel in any annotation from that frame on"):
        youtube_vos.read_youtube_vos(root, "valid")


def test_errors_name_the_file(root):
    meta = youtube_vos.read_meta(root, "train")
    ann = root / "train" / "Annotations" / "a" / "00005.png"
    bad = label("a", 1)
    bad[0, 0] = 7
    write_png(ann, bad)
    with pytest.raises(ValueError, match=r"train/Annotations/a/00005.png: palette index 7 is not an object of video "
                                         r"'a' in .*train/meta.json \(objects \[1, 2\]\)"):
        youtube_vos.read_youtube_vos_sequence(root, "train", "a", meta["a"])
    write_png(ann, np.zeros((H + 1, W), np.uint8))
    with pytest.raises(ValueError, match=r"a/00005.png: annotation is 20x13 but frame 00005.jpg is 20x12"):
        youtube_vos.read_youtube_vos_sequence(root, "train", "a", meta["a"])
    ann.unlink()
    with pytest.raises(FileNotFoundError, match=r"train/Annotations/a/00005.png: file not found"):
        youtube_vos.read_youtube_vos_sequence(root, "train", "a", meta["a"])
    (root / "train" / "JPEGImages" / "a" / "00020.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"JPEGImages/a/00020.jpg: frame listed in .*meta.json not found"):
        youtube_vos.read_youtube_vos_sequence(root, "train", "a", meta["a"])


@pytest.mark.parametrize("text, message", [
    ("{\"videos\": {", r"meta.json: not valid JSON \(Expecting"),
    ("[]", r"meta.json: no \"videos\" object, or an empty one; expected \{\"videos\""),
    ("{\"videos\": {\"a\": {\"objects\": {\"1\": {\"category\": \"x\"}}}}}",
     r"meta.json: video 'a' object 1: \"frames\" must be a non-empty list of frame names, got None"),
    ("{\"videos\": {\"a\": {\"objects\": {\"one\": {\"frames\": [\"00000\"]}}}}}",
     r"meta.json: video 'a': object id 'one' is not an integer in 1..254"),
    ("{\"videos\": {\"a\": {\"objects\": {\"1\": {\"frames\": [\"00005\", \"00000\"]}}}}}",
     r"meta.json: video 'a' object 1: \"frames\" must be increasing and distinct"),
    ("{\"videos\": {\"a\": {}}}", r"meta.json: video 'a' has no \"objects\" object"),
])
def test_malformed_meta_json(tmp_path, text, message):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "meta.json").write_text(text)
    with pytest.raises(ValueError, match=message):
        youtube_vos.read_meta(tmp_path, "train")
    with pytest.raises(FileNotFoundError, match=r"valid/meta.json: file not found \(YouTube-VOS split 'valid'\)"):
        youtube_vos.read_meta(tmp_path, "valid")
