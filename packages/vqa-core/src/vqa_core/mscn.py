"""BRISQUE's MSCN window (Mittal et al. 2012), shared by the networks' input and the NSS floor.

A module of constants only: `vqa_floors.brisque` (numpy, 0-255 images) reads them without
importing torch or kornia, and `vqa_core.transforms.local_contrast_normalize` (torch, [0, 1]
frames) uses the same window, so the two compute the same coefficients.
"""

from __future__ import annotations

KERNEL = 7  # a 7x7 Gaussian window
SIGMA = 7.0 / 6.0
C = 1.0  # the stabiliser, on the 0-255 scale (1/255 on frames in [0, 1])
