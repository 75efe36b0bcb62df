"""TFDS builder of LaSOT from its class/sequence folders (`jaxtrack.data.readers.lasot`)."""

from __future__ import annotations

import functools

from jaxtrack.data.readers import lasot
from jaxtrack.data.tfds_builders.common import VideoBuilder


class Lasot(VideoBuilder):
    """LaSOT: split "test" = sequences of testing_set.txt (all without it), "train" = the others."""

    MANUAL_DOWNLOAD_INSTRUCTIONS = ("Put LaSOT's <class>/<class>-<n>/ folders, and optionally testing_set.txt, "
                                    "in manual_dir.")

    def _split_videos(self, dl_manager):
        root = dl_manager.manual_dir
        return {split: functools.partial(lasot.read_lasot, root, names)
                for split, names in lasot.split_names(root).items()}
