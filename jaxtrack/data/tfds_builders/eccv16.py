"""TFDS builders of the eccv16 SumMe / TVSum feature files (`jaxtrack.data.readers.eccv16`).

One split, "full", holds every video (features on picks, no pixels: `videos` layout only). The 5-fold
splits json, when present in manual_dir, is checked against the h5 keys and stored in the dataset metadata
(`info.metadata["splits"]`); `tfds_source.load(name, "split<k>_train" | "split<k>_test")` selects from it.
"""

from __future__ import annotations

from typing import ClassVar

from jaxtrack.data.readers import eccv16
from jaxtrack.data.tfds_builders.common import VideoBuilder, VideoBuilderConfig

FULL_SPLIT = "full"
FOLDS = 5  # the canonical splits json (Zhang et al. 2016; vsumm-reinforce, DSNet) holds 5 train / test splits


class Eccv16Builder(VideoBuilder, skip_registration=True):
    """Base: `H5_FILE` and `SPLITS_FILE` name the files expected in manual_dir."""

    BUILDER_CONFIGS: ClassVar[list] = [VideoBuilderConfig(name="videos", layout="videos")]
    H5_FILE = ""
    SPLITS_FILE = ""

    def _split_videos(self, dl_manager):
        h5_path = dl_manager.manual_dir / self.H5_FILE
        videos = eccv16.read_eccv16(h5_path)
        splits_path = dl_manager.manual_dir / self.SPLITS_FILE
        if splits_path.exists():
            splits = eccv16.read_splits(splits_path)
            eccv16.check_split_keys(splits, [v.name for v in videos], splits_path=str(splits_path),
                                    h5_path=str(h5_path))
            self.info.metadata["splits"] = splits
        return {FULL_SPLIT: lambda: videos}


class Summe(Eccv16Builder):
    """SumMe (25 videos) eccv16 features, user summaries and KTS change points."""

    H5_FILE = "eccv16_dataset_summe_google_pool5.h5"
    SPLITS_FILE = "summe_splits.json"
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"Put {H5_FILE} (and optionally {SPLITS_FILE}) in manual_dir."


class Tvsum(Eccv16Builder):
    """TVSum (50 videos) eccv16 features, user summaries and KTS change points."""

    H5_FILE = "eccv16_dataset_tvsum_google_pool5.h5"
    SPLITS_FILE = "tvsum_splits.json"
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"Put {H5_FILE} (and optionally {SPLITS_FILE}) in manual_dir."
