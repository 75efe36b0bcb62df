"""Input checks shared by readers and samplers."""

from __future__ import annotations

from jaxtrack.data.video import Video


def check_frame_range(video: Video, start: int, stop: int) -> None:
    """Raises ValueError unless frames start..stop-1 exist in `video` (0 <= start < stop <= len(video))."""
    if not 0 <= start < stop <= len(video):
        raise ValueError(f"video {video.name!r} has {len(video)} frames; requested frame range [{start}, {stop}) "
                         f"is empty or out of range")
