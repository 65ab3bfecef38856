"""Datasets: manifests, dataset descriptors, splits, MOS scaling and the torch Dataset.

`build_manifest(name, data_root)` reads a dataset's official label file as described by its
descriptor (`vqa_core/datasets/descriptors/<name>.yaml`, shipped with the package, or one of the
user's, see `descriptor_search`); `make_splits(manifest)` gives the protocol's splits (official,
or 10 seeded 80/20 train/test splits with a validation part carved from train);
`MosScaler.fit(train_items)` normalises MOS from the train part only; `check_videos(items)`
probes every video once (cached on disk) and sorts out the ones that cannot be used;
`VideoDataset` decodes sampled frames in DataLoader workers and reports undecodable videos
instead of crashing.
"""

from __future__ import annotations

from vqa_core.lazy import lazy_exports

# Names load on first use, so that `vqa --help` and the command plugins do not import torch.
_LAZY = {
    "VideoCheck": "vqa_core.datasets.check",
    "check_videos": "vqa_core.datasets.check",
    "DatasetDescriptor": "vqa_core.datasets.descriptor_schema",
    "DescriptorPart": "vqa_core.datasets.descriptor_schema",
    "LabelFile": "vqa_core.datasets.descriptor_schema",
    "PathRule": "vqa_core.datasets.descriptor_schema",
    "descriptor_dirs": "vqa_core.datasets.descriptor_search",
    "list_datasets": "vqa_core.datasets.descriptor_search",
    "load_descriptor": "vqa_core.datasets.descriptor_search",
    "shipped_descriptors": "vqa_core.datasets.descriptor_search",
    "descriptor_from_dict": "vqa_core.datasets.descriptor_yaml",
    "load_descriptor_file": "vqa_core.datasets.descriptor_yaml",
    "build_manifest": "vqa_core.datasets.manifest_build",
    "count_report": "vqa_core.datasets.manifest_report",
    "unlabelled_files": "vqa_core.datasets.manifest_report",
    "Manifest": "vqa_core.datasets.manifest",
    "ManifestItem": "vqa_core.datasets.manifest",
    "raw_format_of": "vqa_core.datasets.manifest",
    "read_manifest_csv": "vqa_core.datasets.manifest",
    "saliency_paths": "vqa_core.datasets.manifest",
    "write_manifest_csv": "vqa_core.datasets.manifest",
    "MosScaler": "vqa_core.datasets.mos_scaler",
    "LabelTable": "vqa_core.datasets.readers",
    "read_label_file": "vqa_core.datasets.readers",
    "Split": "vqa_core.datasets.splits",
    "make_splits": "vqa_core.datasets.splits",
    "official_split": "vqa_core.datasets.splits",
    "random_splits": "vqa_core.datasets.splits",
    "read_splits_csv": "vqa_core.datasets.splits",
    "split_column_name": "vqa_core.datasets.splits",
    "write_splits_csv": "vqa_core.datasets.splits",
    "DecodeFailure": "vqa_core.datasets.torch_dataset",
    "DecodeFailureLog": "vqa_core.datasets.torch_dataset",
    "VideoDataset": "vqa_core.datasets.torch_dataset",
    "collate_skip_failed": "vqa_core.datasets.torch_dataset",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())

__all__ = sorted(_LAZY)
