"""TFDS builders of the video datasets (array_record), by name. Layout: see `common`."""

from jaxtrack.data.tfds_builders.actions import Ssv2, SyntheticActions, Ucf101
from jaxtrack.data.tfds_builders.common import VideoBuilder
from jaxtrack.data.tfds_builders.eccv16 import Summe, Tvsum
from jaxtrack.data.tfds_builders.got10k import Got10k
from jaxtrack.data.tfds_builders.lasot import Lasot
from jaxtrack.data.tfds_builders.otb import Otb
from jaxtrack.data.tfds_builders.synthetic_videos import SyntheticVideos

BUILDERS: dict[str, type[VideoBuilder]] = {
    b.name: b for b in (SyntheticVideos, Got10k, Otb, Lasot, Summe, Tvsum, SyntheticActions, Ssv2, Ucf101)
}
