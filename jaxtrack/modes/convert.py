"""`--mode=convert`: a PyTorch checkpoint (pysot / SiamBAN model zoo, or an ImageNet backbone) into a workdir.

    python launch.py --experiment=siamrpn_r50_l234_dwxcorr --workdir=runs/r50 --config.convert.checkpoint=model.pth
    python launch.py --experiment=siamrpn_r50_l234_dwxcorr --workdir=runs/r50 --mode=eval --config.eval.benchmark=otb \
        --config.eval.data_root=/data/OTB100
    python launch.py --experiment=siamrpnpp --workdir=runs/r50_imagenet --mode=convert \
        --config.convert.checkpoint=resnet50.model --config.convert.kind=backbone

The experiment gives the architecture (`model.name`, `model.kwargs`) and the tracker settings. `convert.kind`:
  "model"     <workdir>/config.json + <workdir>/checkpoints/0/state (variables only): `--mode=track|eval|export`
              and `workdir.load_tracker` use it as a trained workdir; `--mode=train` there fine-tunes from it.
  "backbone"  <workdir>/backbone: the backbone's variables, for `--config.model.init_from=<workdir>` in training.
`convert.skip`: regexes of keys left out on purpose; `convert.bgr_to_rgb` (default True): see `jaxtrack.convert`.
"""

from __future__ import annotations

import jax
import ml_collections
import numpy as np
from etils import epath

from jaxtrack import convert, families
from jaxtrack import workdir as jt_workdir
from jaxtrack.train import checkpoint, init_from


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Converts `config.convert.checkpoint` for `config.model`; returns {"kind", "path", "tensors", "parameters"}."""
    cfg = config.convert
    if not cfg.checkpoint:
        raise ValueError("--mode=convert needs --config.convert.checkpoint=<a PyTorch .pth / .model file>")
    if config.model.name not in families.REGISTRY:
        raise ValueError(f"--mode=convert needs a tracker experiment (model.name one of {families.names()}), got "
                         f"{config.model.name!r}")
    if jax.process_count() > 1:
        raise ValueError("--mode=convert runs on one process (drop --distributed)")
    workdir = epath.Path(workdir)
    if cfg.kind == "model" and checkpoint.steps(workdir):
        raise ValueError(f"{checkpoint.directory(workdir)} already holds checkpoints {checkpoint.steps(workdir)}; "
                         f"convert into a fresh --workdir (or pass --noresume)")
    print(f"convert: {cfg.checkpoint} ({cfg.kind}) -> {config.get('name') or config.model.name} (family "
          f"{config.model.name}) ...", flush=True)
    variables = convert.convert_file(cfg.checkpoint, config.model.name, config.model.kwargs.to_dict(), kind=cfg.kind,
                                     skip=tuple(cfg.skip), bgr_to_rgb=cfg.bgr_to_rgb)
    jt_workdir.write_config(workdir, config)
    save = init_from.save_variables if cfg.kind == "model" else init_from.save_backbone
    result = {"kind": cfg.kind, "path": str(save(workdir, variables)), "tensors": len(jax.tree.leaves(variables)),
              "parameters": int(sum(np.size(a) for a in jax.tree.leaves(variables.get("params", {}))))}
    print(f"convert: wrote {result['path']} ({result['parameters']:,} parameters, {result['tensors']} "
          f"arrays)" + (f"; use it with --config.model.init_from={workdir}" if cfg.kind == "backbone" else ""))
    return result
