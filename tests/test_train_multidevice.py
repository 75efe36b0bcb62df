"""8 fake CPU devices vs 1 device: same global batch, same parameters to float tolerance (in a subprocess)."""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import jax, numpy as np
    from jaxtrack import sharding
    from jaxtrack.train import trainer
    from tests.test_train_loop import TinyTask, make_config, make_data
    assert jax.device_count() == 8, jax.devices()
    cfg = make_config(num_epochs=1, steps_per_epoch=4, checkpoint_every=4, log_every=4)
    runs = [trainer.train(cfg, f"{workdir}/{n}", task=TinyTask(), train_data=make_data(),
                          mesh=sharding.make_mesh(n)) for n in (8, 1)]
    assert runs[0].params["head"]["kernel"].sharding.mesh.size == 8
    for a, b in zip(*(jax.tree.leaves(jax.device_get(r)) for r in runs)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    print("MULTIDEVICE OK")
""")


def test_eight_devices_match_one(tmp_path):
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu",
           "JAX_DISABLE_MOST_OPTIMIZATIONS": "1"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", f"workdir = {str(tmp_path)!r}\n" + SCRIPT], cwd=root, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "MULTIDEVICE OK" in out.stdout, out.stdout + out.stderr[-4000:]
