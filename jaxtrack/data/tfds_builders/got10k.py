"""TFDS builder of GOT-10k from its official folders (`jaxtrack.data.readers.got10k`)."""

from __future__ import annotations

import functools

from jaxtrack.data.readers import got10k
from jaxtrack.data.tfds_builders.common import VideoBuilder


class Got10k(VideoBuilder):
    """GOT-10k generic object tracking benchmark (train / val / test folders found in manual_dir)."""

    MANUAL_DOWNLOAD_INSTRUCTIONS = "Put GOT-10k's train/, val/ and/or test/ folders (each with list.txt) in manual_dir."

    def _split_videos(self, dl_manager):
        root = dl_manager.manual_dir
        splits = [s for s in got10k.SPLITS if (root / s / "list.txt").exists()]
        if not splits:
            raise FileNotFoundError(f"{root}: no GOT-10k split folder with a list.txt ({'/'.join(got10k.SPLITS)})")
        return {s: functools.partial(got10k.read_got10k, root, s) for s in splits}
