"""Which frames and which pixels a method sees: temporal samplers and spatial fragments."""

from vqa_core.sampling.fragments import (
    FragmentOffsets,
    apply_fragments,
    fragment_offsets,
    spatial_fragments,
    two_view_fragments,
)
from vqa_core.sampling.temporal import FragmentSampleFrames, SampleFrames, uniform_indices

__all__ = [
    "FragmentOffsets",
    "FragmentSampleFrames",
    "SampleFrames",
    "apply_fragments",
    "fragment_offsets",
    "spatial_fragments",
    "two_view_fragments",
    "uniform_indices",
]
