"""The PyTorch converter end to end: every model-zoo architecture at full size from a `.pth` file (pysot / SiamBAN
reference models of tests/torch_ref with non-default random weights) agrees with the original to 1e-4 (relative L2,
float32) on the backbone features and the head outputs, with RGB frames in for pysot's BGR; the converted tree is
`init`'s; every kind of mismatch is an error naming its key; `--mode=convert` writes a workdir that loads, tracks
and fine-tunes; ImageNet backbones convert for `model.init_from`; the frozen-layers-need-weights rule."""

import builtins
import importlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from jaxtrack import convert, families, workdir
from jaxtrack.convert import mapping, torch_io
from jaxtrack.modes import convert as convert_mode
from jaxtrack.modes import train as train_mode
from jaxtrack.train import checkpoint, init_from
from jaxtrack.train.state import TrainState

torch = pytest.importorskip("torch")
from tests.test_parity_layers import nchw, rel_err  # noqa: E402
from tests.torch_ref import backbones as tb  # noqa: E402
from tests.torch_ref import builders  # noqa: E402

torch.set_num_threads(1)
ZOO = ["siamrpn_alex_dwxcorr", "siamrpn_r50_l234_dwxcorr", "siamrpn_mobilev2_l234_dwxcorr", "siamban_r50_l234"]


def zoo_config(name: str, small: bool = False) -> ml_collections.ConfigDict:
    c = importlib.import_module(f"experiments.{name}").get_config()
    if small:
        c.model.kwargs.update(builders.SMALL[name.removesuffix("_otb")])
    return c


def bgr_pair(name: str, small: bool = False, seed: int = 0):
    """(z, x) float32 NHWC BGR 0..255 at the experiment's exemplar / instance sizes (small: search 143 for AlexNet)."""
    track = zoo_config(name).track
    rng = np.random.default_rng(seed)
    xs = 143 if small and "alex" in name else track.instance_size
    return (rng.uniform(0, 255, (1, s, s, 3)).astype(np.float32) for s in (track.exemplar_size, xs))


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))


def listed(f):
    return list(f) if isinstance(f, list | tuple) else [f]


def reference(name: str, small: bool = False):
    """(torch model, z, x, torch outputs) of zoo entry `name` on BGR z / x: "cls", "loc" and each stage's
    "{z,x}_backbone" / "{z,x}_neck" feature lists."""
    z, x = bgr_pair(name, small)
    model = builders.zoo_model(name, t(z), t(x), small)
    out = {}
    with torch.no_grad():
        for side, img in (("z", z), ("x", x)):
            out[f"{side}_backbone"] = listed(model.backbone(t(img)))
            neck = getattr(model, "neck", None)
            out[f"{side}_neck"] = listed(neck(out[f"{side}_backbone"] if len(out[f"{side}_backbone"]) > 1 else
                                              out[f"{side}_backbone"][0])) if neck else out[f"{side}_backbone"]
        head = getattr(model, model.head_name)
        unlist = lambda fs: fs if len(fs) > 1 or model.head_name == "head" else fs[0]
        out["cls"], out["loc"] = head(unlist(out["z_neck"]), unlist(out["x_neck"]))
    return model, z, x, out


def state_of(model) -> dict:
    return {k: v.numpy() for k, v in model.state_dict().items()}


def nhwc(fs) -> list:
    return [jnp.asarray(f.numpy().transpose(0, 2, 3, 1)) for f in fs]


def check_outputs(config, variables, z, x, want):
    """Each stage of the converted model on the torch model's inputs to that stage (RGB frames for BGR ones) to 1e-4:
    backbone features, neck features (template crop included), head outputs; end to end to 1e-3 (random deep nets
    amplify float32 rounding: ~5e-5 after ResNet-50's layer4, and SiamBAN's exp(loc) turns it relative)."""
    model = families.get(config.model.name).build(**config.model.kwargs.to_dict())

    def stages(m, z, x, torch_feats):
        out = {}
        for side, img in (("z", z), ("x", x)):
            feats = m.backbone(img)
            out[f"{side}_backbone"] = [feats[name] for name in m.layers]
            if m.neck is not None:
                out[f"{side}_neck"] = m.neck(torch_feats[f"{side}_backbone"])
        out["head"] = m.head(torch_feats["x_neck"], torch_feats["z_neck"])
        out["whole"] = m(z, x)
        return out

    torch_feats = {k: nhwc(want[k]) for k in ("z_backbone", "x_backbone", "z_neck", "x_neck")}
    got = jax.jit(lambda v, *a: model.apply(v, *a, method=stages))(variables, z[..., ::-1], x[..., ::-1],
                                                                   torch_feats)
    for k in ("z_backbone", "x_backbone", *(("z_neck", "x_neck") if model.neck is not None else ())):
        for f, w in zip(got[k], want[k], strict=True):
            assert nchw(f).shape == tuple(w.shape) and rel_err(nchw(f), w.numpy()) < 1e-4, k
    for k in ("cls", "loc"):
        assert nchw(got["head"][k]).shape == nchw(got["whole"][k]).shape == tuple(want[k].shape)
        assert rel_err(nchw(got["head"][k]), want[k].numpy()) < 1e-4, f"head {k}"
        assert rel_err(nchw(got["whole"][k]), want[k].numpy()) < 1e-3, f"end to end {k}"


@pytest.mark.parametrize("name", ZOO)
def test_zoo_checkpoint_converts_to_the_same_network(name, tmp_path):
    """Full size: the zoo experiment's architecture, a `.pth` as pysot saves it, the tree of `init`."""
    model, z, x, want = reference(name)
    path = tmp_path / "model.pth"
    torch.save(model.state_dict(), path)
    config = zoo_config(name)
    variables = convert.convert_file(path, config.model.name, config.model.kwargs.to_dict())
    init = jax.eval_shape(families.get(config.model.name).build(**config.model.kwargs.to_dict()).init,
                          jax.random.key(0), jnp.zeros((1, 127, 127, 3)), jnp.zeros((1, 255, 255, 3)), jnp.ones((1, 2)))
    assert jax.tree.structure(variables) == jax.tree.structure(init)
    assert jax.tree.map(lambda a: (a.shape, a.dtype), variables) == jax.tree.map(lambda a: (a.shape, a.dtype), init)
    check_outputs(config, variables, z, x, want)


def test_otb_checkpoint_snapshot_and_bgr(tmp_path):
    """siamrpn_r50_l234_dwxcorr_otb (unweighted MultiRPN) from a training snapshot {"epoch", "state_dict" with
    DataParallel's "module." prefix}; bgr_to_rgb=False (a model for BGR frames) differs in the stem only."""
    name = "siamrpn_r50_l234_dwxcorr_otb"
    model, z, x, want = reference(name, small=True)
    snapshot = {"epoch": 20, "state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}
    torch.save(snapshot, tmp_path / "checkpoint_e20.pth")
    state = convert.load_state_dict(tmp_path / "checkpoint_e20.pth")
    assert "rpn_head.cls_weight" not in state and "backbone.conv1.weight" in state
    config = zoo_config(name, small=True)
    kwargs = config.model.kwargs.to_dict()
    rgb = convert.convert(state, config.model.name, kwargs)
    check_outputs(config, rgb, z, x, want)
    bgr = convert.convert(state, config.model.name, kwargs, bgr_to_rgb=False)
    flipped = lambda path: path[:3] == ("params", "backbone", "conv1")
    same = jax.tree_util.tree_map_with_path(
        lambda p, a, b: bool(jnp.all(a == (b[:, :, ::-1] if flipped(tuple(k.key for k in p)) else b))), rgb, bgr)
    assert all(jax.tree.leaves(same))  # only the stem's input channels differ


@pytest.fixture(scope="module")
def small_r50():
    """(config, state) of a narrow siamrpn_r50_l234_dwxcorr."""
    model, *_ = reference("siamrpn_r50_l234_dwxcorr", small=True)
    return zoo_config("siamrpn_r50_l234_dwxcorr", small=True), state_of(model)


def run_convert(config, state, **options):
    return convert.convert(state, config.model.name, config.model.kwargs.to_dict(), **options)


def test_every_mismatch_is_an_error_naming_its_key(small_r50):
    config, state = small_r50
    extra = {**state, "rpn_head.extra.weight": np.zeros((3, 3), np.float32)}
    with pytest.raises(mapping.ConversionError, match=r"unmatched torch key rpn_head\.extra\.weight \(3, 3\)"):
        run_convert(config, extra)
    missing = {k: v for k, v in state.items() if k != "neck.downsample3.downsample.1.running_var"}
    with pytest.raises(mapping.ConversionError, match=r"missing torch key neck\.downsample3\.downsample\.1\.running_var"
                                                      r" for batch_stats/neck/downsample3/BatchNorm_0/var \(16,\)"):
        run_convert(config, missing)
    key = "backbone.layer2.0.conv2.weight"
    bad = {**state, key: np.zeros((16, 8, 3, 3), np.float32)}
    with pytest.raises(mapping.ConversionError, match=rf"shape mismatch at {key}: expected \(16, 16, 3, 3\), found "
                                                      r"\(16, 8, 3, 3\)"):
        run_convert(config, bad)
    unweighted = {k: v for k, v in state.items() if not k.endswith(("cls_weight", "loc_weight"))}
    with pytest.raises(mapping.ConversionError, match="2 problem") as e:  # an _otb checkpoint into a weighted model
        run_convert(config, unweighted)
    assert "rpn_head.cls_weight" in str(e.value) and "rpn_head.loc_weight" in str(e.value)


def test_skip_leaves_keys_out_on_purpose(small_r50):
    config, state = small_r50
    extra = {**state, "rpn_head.extra.weight": np.zeros((3, 3), np.float32)}
    full = run_convert(config, state)
    skipped = run_convert(config, extra, skip=(r"^rpn_head\.extra\.",))
    assert all(jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.all(a == b)), full, skipped)))
    unweighted = {k: v for k, v in state.items() if not k.endswith(("cls_weight", "loc_weight"))}
    out = run_convert(config, unweighted, skip=(r"head/(cls|loc)_weight$",))
    np.testing.assert_array_equal(out["params"]["head"]["cls_weight"], np.ones(3))  # the initial value: the mean


def test_foreign_layouts_get_a_hint():
    tv_alexnet = {"features.0.weight": np.zeros((64, 3, 11, 11), np.float32),
                  "features.0.bias": np.zeros(64, np.float32), "features.3.weight": np.zeros((192, 64, 5, 5))}
    with pytest.raises(mapping.ConversionError, match="torchvision's AlexNet"):
        convert.convert(tv_alexnet, "siamrpnpp", zoo_config("siamrpn_alex_dwxcorr").model.kwargs.to_dict(),
                        kind="backbone")
    with pytest.raises(KeyError, match="only DW-XCorr heads convert"):
        convert.convert({}, "siamrpnpp_acm", {"backbone": "resnet18_small_atrous", "neck_channels": 8})


def test_missing_torch_names_the_requirements_file(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    (tmp_path / "model.pth").write_bytes(b"")
    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(ImportError, match=r"pip install -r requirements-torch\.txt"):
        torch_io.load_state_dict(tmp_path / "model.pth")
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        torch_io.load_state_dict(tmp_path / "absent.pth")
    with pytest.raises(ValueError, match="not a state_dict"):
        torch_io.unwrap({})


def test_imagenet_backbones(small_r50):
    """torchvision's ResNet-50 layout (1x1 shortcuts in the centre of pysot's 3x3, `fc` dropped), torchvision's
    MobileNetV2 (width 1.0; block 1's missing expansion an identity) and a zoo model's `backbone.*` keys convert to
    the backbone subtree."""
    config, state = small_r50
    tv = {k: v.numpy() for k, v in tb.torchvision_resnet50_state_dict((8, 16, 32, 64), 8).items()}
    out = run_convert(config, tv, kind="backbone", bgr_to_rgb=False)
    init = jax.eval_shape(families.get(config.model.name).build(**config.model.kwargs.to_dict()).init,
                          jax.random.key(0), jnp.zeros((1, 127, 127, 3)), jnp.zeros((1, 255, 255, 3)), jnp.ones((1, 2)))
    assert jax.tree.structure(out) == jax.tree.structure({c: init[c]["backbone"] for c in init})
    k = np.asarray(out["params"]["layer2_0"]["downsample_conv"]["kernel"])
    np.testing.assert_array_equal(k[1, 1], tv["layer2.0.downsample.0.weight"][:, :, 0, 0].T)
    assert np.count_nonzero(k) == np.count_nonzero(k[1, 1]) > 0
    np.testing.assert_array_equal(out["params"]["conv1"]["kernel"], tv["conv1.weight"].transpose(2, 3, 1, 0))
    mobile = zoo_config("siamrpn_mobilev2_l234_dwxcorr")
    mobile.model.kwargs.backbone_args.width_mult = 1.0  # torchvision's width
    tv = {k: v.numpy() for k, v in tb.torchvision_mobilenet_v2_state_dict().items()}
    out = run_convert(mobile, tv, kind="backbone", bgr_to_rgb=False)["params"]
    np.testing.assert_array_equal(out["layer2_0"]["depthwise"]["kernel"],
                                  tv["features.2.conv.1.0.weight"].transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(out["layer7_0"]["project"]["kernel"][0, 0],
                                  tv["features.17.conv.2.weight"][..., 0, 0].T)
    np.testing.assert_array_equal(out["layer1_0"]["expand"]["kernel"][0, 0], np.eye(32))  # block 1: an identity
    with pytest.raises(mapping.ConversionError, match=r"layer0_conv/kernel \(3, 3, 3, 44\)"):  # width 1.4
        run_convert(zoo_config("siamrpn_mobilev2_l234_dwxcorr"), tv, kind="backbone")
    from_zoo = run_convert(config, state, kind="backbone")
    whole = run_convert(config, state)
    assert all(jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.all(a == b)), from_zoo,
                                            {c: whole[c]["backbone"] for c in whole})))


def test_convert_mode_writes_a_workdir_that_tracks_and_trains(small_r50, tmp_path):
    config, state = small_r50
    torch.save({k: torch.from_numpy(v) for k, v in state.items()}, tmp_path / "model.pth")
    config.convert.checkpoint = str(tmp_path / "model.pth")
    w = tmp_path / "run"
    result = convert_mode.run(config, str(w))
    assert result["path"].endswith("checkpoints/0") and checkpoint.steps(w) == [0]
    assert init_from.is_variables_only(checkpoint.directory(w) / "0")
    restored = checkpoint.restore_variables(w)
    expected = run_convert(config, state)
    assert all(jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.all(a == b)), restored, expected)))
    tracker = workdir.load_tracker(w)
    assert tracker.config.penalty_k == 0.05 and tracker.config.normalize == "none"
    frame = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    tracker.init(frame, np.float32([60, 40, 30, 20]))
    box, score = tracker.track(frame)
    assert np.isfinite(box).all() and np.isfinite(score)
    with pytest.raises(ValueError, match="already holds checkpoints"):
        convert_mode.run(config, str(w))
    config.convert.kind = "backbone"
    result = convert_mode.run(config, str(tmp_path / "imagenet"))
    backbone = init_from.load_backbone(tmp_path / "imagenet")
    assert all(jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.all(a == b)), backbone,
                                            {c: expected[c]["backbone"] for c in expected})))
    # model.init_from puts it into a fresh training state (other subtrees untouched)
    zeros = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), expected)
    fresh = TrainState.create(params=zeros["params"], batch_stats=zeros["batch_stats"], tx=optax.sgd(0.1),
                              key=jax.random.key(0))
    started = init_from.backbone_init(tmp_path / "imagenet")(fresh)
    np.testing.assert_array_equal(started.params["backbone"]["conv1"]["kernel"],
                                  expected["params"]["backbone"]["conv1"]["kernel"])
    assert not np.any(started.params["head"]["cls_weight"])
    with pytest.raises(ValueError, match="do not fit the model backbone"):
        init_from.replace_variables(fresh, {"params": {"conv1": {"kernel": np.zeros(3)}}}, "backbone")


def test_training_needs_pretrained_weights_for_frozen_layers(tmp_path):
    c = importlib.import_module("experiments.siamrpnpp").get_config()
    with pytest.raises(ValueError, match="would stay random"):
        train_mode.pretrained(c, tmp_path)
    c.model.from_scratch = True
    scratch, init = train_mode.pretrained(c, tmp_path)
    assert init is None and scratch.optim.backbone.frozen_prefixes == () and c.optim.backbone.frozen_prefixes
    c.model.init_from = str(tmp_path)
    with pytest.raises(ValueError, match="exclude each other"):
        train_mode.pretrained(c, tmp_path)
    c.model.from_scratch = False
    with pytest.raises(FileNotFoundError, match="holds no converted backbone"):
        train_mode.pretrained(c, tmp_path)
    c.model.init_from = str(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="no such directory"):
        train_mode.pretrained(c, tmp_path / "absent")
    synthetic = importlib.import_module("experiments.siamrpnpp_acm_synthetic").get_config()
    assert train_mode.pretrained(synthetic, tmp_path) == (synthetic, None)  # the quickstart's: nothing frozen
    zoo = zoo_config("siamrpn_r50_l234_dwxcorr")
    init_from.save_variables(tmp_path / "converted", {"params": {"a": np.ones(2, np.float32)}})
    assert train_mode.pretrained(zoo, tmp_path / "converted")[1] is None  # a converted workdir: fine-tune it


def test_launch_reports_the_frozen_rule_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "launch.py", "--experiment=siamban", f"--workdir={tmp_path / 'w'}",
                           "--mode=train"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "would stay random" in lines[0] and "model.from_scratch=True" in lines[0]
