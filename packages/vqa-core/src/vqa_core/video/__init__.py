"""Video IO for vqa-zoo: probe a file, read the frames a sampler wants, raw .yuv too.

    info = probe("clip.mp4")                       # VideoInfo (displayed size, fps, frame count, ...)
    clip = read_clip("clip.mp4", [0, 8, 16], size=(224, 398))   # uint8 (3, 224, 398, 3) RGB
    clip = read_clip("clip.mkv", idx, short_side=256)            # keeps the aspect ratio
    clip = read_clip("clip.yuv", idx, raw=RawFormat(1920, 1080, "yuv420p", fps=30))
    clip = DecodedClipStore(cache_dir("clips")).read("clip.mp4", idx, (224, 398))  # decoded once, then mmap

All failures a user can cause raise `vqa_core.VideoDecodeError` naming the file and the cause,
including inputs below the minimum vqa-zoo assesses (`MIN_SIDE` pixels a side, `MIN_FRAMES`
decodable frames, no still images). A truncated file is scored on the frames that decode;
`VideoInfo.note` and a `ShortVideoWarning` say how many the container declared.
"""

from vqa_core.video.clip_store import DecodedClipStore
from vqa_core.video.container import MIN_FRAMES, MIN_SIDE
from vqa_core.video.info import ShortVideoWarning, VideoInfo, forget_probes, probe
from vqa_core.video.raw import RawFormat
from vqa_core.video.reader import frame_rate, read_clip
from vqa_core.video.resize import INTERPOLATIONS, Resize

__all__ = [
    "INTERPOLATIONS",
    "MIN_FRAMES",
    "MIN_SIDE",
    "DecodedClipStore",
    "RawFormat",
    "Resize",
    "ShortVideoWarning",
    "VideoInfo",
    "forget_probes",
    "frame_rate",
    "probe",
    "read_clip",
]
