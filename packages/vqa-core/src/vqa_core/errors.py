"""The one exception family of vqa-zoo.

Every error a user can cause (a bad file, a missing dataset, an unknown method) is a
`VqaError`, so scripts can catch the family and still let programming errors through.
Messages name the file or value and say what to do.
"""


class VqaError(Exception):
    """Base class of every error vqa-zoo raises on purpose."""


class VideoDecodeError(VqaError):
    """A video could not be opened or decoded."""


class DatasetError(VqaError):
    """A dataset, manifest or label file is missing or malformed."""


class ConfigError(VqaError):
    """A configuration file or value is invalid."""


class WeightsUnavailableError(VqaError):
    """Pretrained weights could not be obtained (offline, missing file, bad checksum)."""


class UnknownMethodError(VqaError):
    """A method name is not registered."""
