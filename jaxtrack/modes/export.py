"""`--mode=export`: the tracker of a training workdir as serialized StableHLO (`jaxtrack.track.export`).

    python launch.py --experiment=siamban_acm_synthetic --workdir=runs/siamban_acm_synthetic --mode=export

Writes `<workdir>/export/{init,step}.jaxexport` and `manifest.json` for `config.export_platforms` (default cpu, cuda
and tpu), from the workdir's latest checkpoint and the experiment's tracker settings. A SiamMask workdir's step
also returns the frame's mask (manifest "outputs": box, score, mask).
"""

from __future__ import annotations

from etils import epath

from jaxtrack import workdir as jt_workdir
from jaxtrack.track import export


def run(config, workdir: str) -> dict:
    """Exports the workdir's tracker; returns the manifest."""
    tracker = jt_workdir.load_tracker(workdir, config=config)
    platforms = tuple(config.get("export_platforms") or export.PLATFORMS)
    out_dir = epath.Path(workdir) / "export"
    print(f"export: {tracker.name} for {', '.join(platforms)} ...", flush=True)
    manifest = export.export_tracker(tracker, out_dir, platforms=platforms,
                                     model_kwargs=config.model.kwargs.to_dict())
    print(f"export: wrote {out_dir} (step outputs: {', '.join(manifest['outputs'])}); run it with:\n"
          f"  python -m jaxtrack.track.export {out_dir} --frames='video/*.jpg' --box=x,y,w,h")
    return manifest
