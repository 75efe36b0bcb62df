"""One of the 2 processes of tests/test_multiprocess.py's tracking / evaluation check (not a test module).

    python tests/multiprocess_worker.py PROCESS_ID PORT WORKDIR

Joins a 2-process `jax.distributed` job on localhost:PORT (`sharding.initialize_distributed`), then:
1. `batched.track_sequences` of 3 random sequences of lengths 3, 2 and 4 with the 4-device mesh over both processes
   must equal this process tracking all of them alone (no mesh);
2. `modes.eval.run` on 3 tiny synthetic videos (baselines "static" and "kcf", VOT protocol too) into WORKDIR; the report
   goes to WORKDIR/report.json for the test to compare with a 1-process run.
"""

import json
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

from jaxtrack import config, sharding

TINY_VIDEOS = {"height": 64, "width": 80, "n_frames": 8, "n_shots": 1, "min_shot_len": 8}
EVAL = config.experiment("eval")
EVAL.eval.update(benchmark="synthetic", num_videos=3, synthetic=TINY_VIDEOS, baselines=("static", "kcf"), vot=True,
                 attribute_plots=False)


def check_tracking() -> None:
    from jaxtrack import families
    from jaxtrack.track import batched

    family = families.get("siamfc")
    model = family.build(backbone_args={"width_mult": 0.125, "groups": 1})
    variables = model.init(jax.random.key(0), jnp.zeros((1, 127, 127, 3)), jnp.zeros((1, 255, 255, 3)))
    rng = np.random.default_rng(0)
    videos = [list(rng.integers(0, 256, (n, 64, 72, 3), np.uint8)) for n in (3, 2, 4)]
    init = np.array([[20, 15, 18, 22], [30, 25, 12, 10], [10, 12, 30, 20]], np.float32)
    cfg = family.tracker
    fns = batched.make_fns(model, cfg)
    mesh = sharding.make_mesh()
    assert mesh.size == 4 and len(mesh.local_devices) == 2, mesh
    boxes, scores = batched.track_sequences(model, cfg, variables, videos, init, fns, mesh=mesh)
    alone, alone_scores = batched.track_sequences(model, cfg, variables, videos, init, fns)
    assert boxes.shape == alone.shape == (3, 4, 4), (boxes.shape, alone.shape)
    np.testing.assert_allclose(boxes, alone, atol=1e-3)  # NaN where a sequence has ended, in both
    np.testing.assert_allclose(scores, alone_scores, atol=1e-4)


def main(process_id: int, port: int, workdir: str) -> None:
    sharding.initialize_distributed(f"localhost:{port}", 2, process_id)
    assert jax.process_count() == 2 and jax.device_count() == 4, jax.devices()
    check_tracking()
    from jaxtrack.modes import eval as eval_mode

    report = eval_mode.run(EVAL, workdir)
    os.makedirs(workdir, exist_ok=True)
    with open(f"{workdir}/report.json", "w") as f:
        json.dump(report, f)
    print(f"WORKER {process_id} OK", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
