"""TFDS builder of OTB-2015 / OTB-100 from its sequence folders (`jaxtrack.data.readers.otb`)."""

from __future__ import annotations

import functools

from jaxtrack.data.readers import otb
from jaxtrack.data.tfds_builders.common import VideoBuilder


class Otb(VideoBuilder):
    """OTB tracking benchmark: every annotated target of the sequence folders in manual_dir (split "test")."""

    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Put the OTB sequence folders (<seq>/img/, <seq>/groundtruth_rect*.txt) in manual_dir.")

    def _split_videos(self, dl_manager):
        return {"test": functools.partial(otb.read_otb, dl_manager.manual_dir)}
