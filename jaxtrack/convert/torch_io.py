"""Reading PyTorch checkpoints into numpy: torch is imported only here, only when a file is read."""

from __future__ import annotations

import numpy as np
from etils import epath

INSTALL = "pip install -r requirements-torch.txt"


def _torch():
    try:
        import torch
    except ImportError as e:
        raise ImportError(f"reading PyTorch checkpoints needs torch: {INSTALL} ({e})") from e
    return torch


def unwrap(obj) -> dict:
    """The state_dict of a loaded checkpoint: the object itself, or its "state_dict" / "model" entry (pysot's
    training snapshots: {"epoch", "state_dict", "optimizer"}), with DataParallel's "module." prefix removed."""
    if isinstance(obj, dict):
        for name in ("state_dict", "model"):
            if isinstance(obj.get(name), dict):
                obj = obj[name]
                break
    if not isinstance(obj, dict) or not obj:
        raise ValueError(f"not a state_dict: a {type(obj).__name__} without tensors")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in obj.items()}


def load_state_dict(path: epath.PathLike) -> dict[str, np.ndarray]:
    """torch key -> numpy array (floating tensors as float32) of the checkpoint at `path` (`.pth`, `.model`, ...).
    Only tensors and plain containers are unpickled (`torch.load(weights_only=True)`)."""
    path = epath.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    torch = _torch()
    with path.open("rb") as f:
        obj = torch.load(f, map_location="cpu", weights_only=True)
    out = {}
    for key, value in unwrap(obj).items():
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{path}: entry {key!r} is a {type(value).__name__}, not a tensor")
        value = value.detach().cpu()
        out[key] = (value.float() if value.is_floating_point() else value).numpy()
    return out
