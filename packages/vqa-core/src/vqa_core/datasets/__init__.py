"""Datasets: manifests, dataset descriptors, splits, MOS scaling and the torch Dataset.

`build_manifest(name, data_root)` reads a dataset's official label file as described by
`data_manifests/<name>.yaml`; `make_splits(manifest)` gives the protocol's splits (official,
or 10 seeded 80/20 train/test splits with a validation part carved from train);
`MosScaler.fit(train_items)` normalises MOS from the train part only; `VideoDataset` decodes
sampled frames in DataLoader workers and reports undecodable videos instead of crashing.
"""

from vqa_core.datasets.descriptor import (
    DatasetDescriptor,
    DescriptorPart,
    LabelFile,
    PathRule,
    build_manifest,
    descriptor_dirs,
    list_datasets,
    load_descriptor,
)
from vqa_core.datasets.manifest import (
    Manifest,
    ManifestItem,
    read_manifest_csv,
    saliency_paths,
    write_manifest_csv,
)
from vqa_core.datasets.mos_scaler import MosScaler
from vqa_core.datasets.readers import LabelTable, read_label_file
from vqa_core.datasets.splits import (
    Split,
    make_splits,
    official_split,
    random_splits,
    read_splits_csv,
    split_column_name,
    write_splits_csv,
)
from vqa_core.datasets.torch_dataset import (
    DecodeFailure,
    DecodeFailureLog,
    VideoDataset,
    collate_skip_failed,
)

__all__ = [
    "DatasetDescriptor",
    "DecodeFailure",
    "DecodeFailureLog",
    "DescriptorPart",
    "LabelFile",
    "LabelTable",
    "Manifest",
    "ManifestItem",
    "MosScaler",
    "PathRule",
    "Split",
    "VideoDataset",
    "build_manifest",
    "collate_skip_failed",
    "descriptor_dirs",
    "list_datasets",
    "load_descriptor",
    "make_splits",
    "official_split",
    "random_splits",
    "read_label_file",
    "read_manifest_csv",
    "read_splits_csv",
    "saliency_paths",
    "split_column_name",
    "write_manifest_csv",
    "write_splits_csv",
]
