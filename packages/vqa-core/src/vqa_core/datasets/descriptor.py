"""Dataset descriptors: how to turn the label file a dataset ships with into a manifest.

Datasets are not redistributed. A descriptor (a YAML file, loaded into `DatasetDescriptor`)
records, as data, everything the seeds hard-coded in Python: which label file(s) to look for
under the user's data root and where, their format and columns, the MOS scale, how a label row
maps to a video file, and the official split rule. Adding a dataset is writing one YAML file (see
`data_manifests/README.md`), not code.

This module is the one import for all of it; each job lives in its own module:

    descriptor_schema   the dataclasses (LabelFile, DescriptorPart, PathRule, DatasetDescriptor)
    descriptor_yaml     YAML -> schema, strictly (descriptor_from_dict, load_descriptor_file)
    descriptor_search   where descriptors are found: shipped package data, then the user's folders
    manifest_build      build_manifest: label rows -> checked video paths -> Manifest
    manifest_report     missing videos, unlabelled files, counts and MOS range against the descriptor
"""

from __future__ import annotations

from vqa_core.datasets.descriptor_schema import DatasetDescriptor, DescriptorPart, LabelFile, PathRule
from vqa_core.datasets.descriptor_search import (
    ENV_MANIFEST_DIRS,
    descriptor_dirs,
    list_datasets,
    load_descriptor,
    shipped_descriptors,
)
from vqa_core.datasets.descriptor_yaml import descriptor_from_dict, load_descriptor_file
from vqa_core.datasets.manifest_build import build_manifest, find_label_file, resolve_path
from vqa_core.datasets.manifest_report import MISSING_SHOWN, count_report, unlabelled_files

__all__ = [
    "ENV_MANIFEST_DIRS",
    "MISSING_SHOWN",
    "DatasetDescriptor",
    "DescriptorPart",
    "LabelFile",
    "PathRule",
    "build_manifest",
    "count_report",
    "descriptor_dirs",
    "descriptor_from_dict",
    "find_label_file",
    "list_datasets",
    "load_descriptor",
    "load_descriptor_file",
    "resolve_path",
    "shipped_descriptors",
    "unlabelled_files",
]
