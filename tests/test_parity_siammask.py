"""SiamMask against pysot's modules (tests/torch_ref/siammask.py): the mask branch (MaskCorr), the refine module and
the whole siammask_r50_l3 model (narrow widths, 127 / 255 crops), each with non-default random weights converted
through the converter's tables, agree to 1e-4 (relative L2 error, float32), as tests/test_parity_layers.py."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtrack import convert, families
from jaxtrack.convert.tables import heads as head_tables
from jaxtrack.models.heads.mask import MaskCorr, Refine, upsample_nearest

torch = pytest.importorskip("torch")
from tests.test_parity_layers import RTOL, features, images, nchw, rel_err, t  # noqa: E402
from tests.test_parity_layers import convert as convert_module  # noqa: E402
from tests.torch_ref import builders  # noqa: E402
from tests.torch_ref import siammask as tm  # noqa: E402

torch.set_num_threads(1)


@pytest.mark.parametrize("n_in, n_out", [(15, 31), (31, 61), (61, 127), (7, 15), (29, 63)])
def test_upsample_nearest_is_torchs(n_in, n_out):
    x = np.arange(2 * n_in * n_in, dtype=np.float32).reshape(1, n_in, n_in, 2)
    want = torch.nn.functional.interpolate(t(x), size=(n_out, n_out)).numpy()
    np.testing.assert_array_equal(nchw(upsample_nearest(jnp.asarray(x), n_out)), want)


def test_mask_corr_parity():
    rng = np.random.default_rng(0)
    z, x = features(rng, 2, 7, 8), features(rng, 2, 31, 8)
    module = tm.MaskCorr(8, 8, 63 * 63)
    builders.randomize(module, lambda: module(t(z), t(x)))
    flax_module = MaskCorr(8, 63 * 63)
    variables = convert_module(module, head_tables.MASK_CORR, flax_module, x, z)
    with torch.no_grad():
        want_mask, want_corr = module(t(z), t(x))
    got_mask, got_corr = flax_module.apply(variables, x, z)
    assert got_mask.shape == (2, 25, 25, 3969)
    assert rel_err(nchw(got_corr), want_corr.numpy()) < RTOL
    assert rel_err(nchw(got_mask), want_mask.numpy()) < RTOL


def test_refine_parity():
    """Windows at the corners and inside the 25 x 25 grid, on 255-crop feature sizes (125 / 63 / 31)."""
    rng = np.random.default_rng(1)
    fs = [features(rng, 1, s, c) for s, c in ((125, 4), (63, 8), (31, 8))]
    corr = features(rng, 1, 25, 8)
    module = tm.Refine((4, 8, 8, 8))
    positions = [(0, 0), (24, 24), (3, 17), (12, 12)]
    run = lambda p: module([t(f) for f in fs], t(corr), p)
    builders.randomize(module)
    flax_module = Refine()
    pos = jnp.asarray([positions], jnp.int32)
    variables = convert_module(module, head_tables.REFINE, flax_module, fs, corr, pos)
    got = np.asarray(jax.jit(flax_module.apply)(variables, fs, corr, pos))[0]
    for i, p in enumerate(positions):
        with torch.no_grad():
            want = run(p).numpy().reshape(127, 127)
        assert rel_err(got[i], want) < RTOL, p


def test_siammask_model_parity():
    """siammask_r50_l3 (narrow): cls, loc, the 3969-channel masks and a refined window, converted by
    `convert.convert` from the torch state_dict (every key mapped, none missing)."""
    rng = np.random.default_rng(2)
    z, x = images(rng, 1, 127), images(rng, 1, 255)
    model = tm.build(small=True)
    builders.randomize(model, lambda: (model.template(t(z)), model.track(t(x))))
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    variables = convert.convert(state, "siammask", tm.SMALL, bgr_to_rgb=False)
    ours = families.get("siammask").build(**tm.SMALL)
    pos = jnp.asarray([[[5, 19]]], jnp.int32)
    got = jax.jit(lambda v: ours.apply(v, z, x, jnp.ones((1, 2)), pos))(variables)
    with torch.no_grad():
        model.template(t(z))
        want = model.track(t(x))
        want_refined = model.mask_refine((5, 19)).numpy().reshape(127, 127)
    for k in ("cls", "loc", "mask"):
        assert rel_err(nchw(got[k]), want[k].numpy()) < RTOL, k
    assert rel_err(got["window_masks"][0, 0], want_refined) < RTOL
