"""st_vqrl: ST-VQRL, a self-supervised spatio-temporal quality representation (Video Swin-T on fragments).

    from st_vqrl import build_backbone, VQAHead, StVqrlMethod, pretrain_stvqrl, load_released_checkpoint
    backbone = build_backbone("full", pretrained=False, frag_bias=True)   # (B,3,32,224,224) -> (B,768,16,7,7)
    path = pretrain_stvqrl("small", "runs/stvqrl")                        # demo train scenes, resumable
    load_released_checkpoint("stvqrl_30.pth", build_backbone("full", frag_gate="fastvqa"))

The method `stvqrl` (`StVqrlMethod`) evaluates the frozen representation with a ridge probe
and with a zero-shot distance to pristine references; `vqa st-vqrl make-synthetic` writes the
distortion-bank pretraining data.
"""

from st_vqrl.config import (
    BACKBONE_SIZES,
    PRESETS,
    BackboneConfig,
    ClipConfig,
    EvalConfig,
    PretrainConfig,
    StVqrlConfig,
)
from st_vqrl.method import StVqrlMethod
from st_vqrl.model import (
    FragmentBiasAttention,
    FragmentSwin3d,
    ProjectionHead,
    VQAHead,
    build_backbone,
    count_parameters,
    kinetics_state_dict,
)
from st_vqrl.objective import distance_matrix, stvqrl_loss
from st_vqrl.pretrain import StVqrlNet, build_net, load_pretrained, pretrain_stvqrl
from st_vqrl.released import (
    convert_released_state_dict,
    fastvqa_to_torchvision_key,
    load_released_checkpoint,
    read_released_state_dict,
)
from st_vqrl.synthetic import make_synthetic

__all__ = [
    "BACKBONE_SIZES",
    "PRESETS",
    "BackboneConfig",
    "ClipConfig",
    "EvalConfig",
    "FragmentBiasAttention",
    "FragmentSwin3d",
    "PretrainConfig",
    "ProjectionHead",
    "StVqrlConfig",
    "StVqrlMethod",
    "StVqrlNet",
    "VQAHead",
    "build_backbone",
    "build_net",
    "convert_released_state_dict",
    "count_parameters",
    "distance_matrix",
    "fastvqa_to_torchvision_key",
    "kinetics_state_dict",
    "load_pretrained",
    "load_released_checkpoint",
    "make_synthetic",
    "pretrain_stvqrl",
    "read_released_state_dict",
    "stvqrl_loss",
]
