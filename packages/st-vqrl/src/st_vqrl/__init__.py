"""st_vqrl: ST-VQRL, a self-supervised spatio-temporal quality representation (Video Swin-T on fragments).

    from st_vqrl import build_backbone, VQAHead, StVqrlMethod, pretrain_stvqrl, load_released_checkpoint
    backbone = build_backbone("full", pretrained=False, frag_bias=True)   # (B,3,32,224,224) -> (B,768,16,7,7)
    path = pretrain_stvqrl("small", "runs/stvqrl")                        # demo-pretrain scenes (never the demo's), resumable
    load_released_checkpoint("stvqrl_30.pth", build_backbone("full", frag_gate="fastvqa"))

The method `stvqrl` (`StVqrlMethod`) evaluates the frozen representation with a ridge probe
and with a zero-shot distance to pristine references; `vqa st-vqrl make-synthetic` writes the
distortion-bank pretraining data.
"""

from __future__ import annotations

from vqa_core.lazy import lazy_exports

# Names load on first use, so that `vqa --help` and the command plugins do not import torch.
_LAZY = {
    "BACKBONE_SIZES": "st_vqrl.config",
    "BackboneConfig": "st_vqrl.config",
    "ClipConfig": "st_vqrl.config",
    "EvalConfig": "st_vqrl.config",
    "PretrainConfig": "st_vqrl.config",
    "StVqrlConfig": "st_vqrl.config",
    "StVqrlMethod": "st_vqrl.method",
    "FragmentBiasAttention": "st_vqrl.model",
    "FragmentSwin3d": "st_vqrl.model",
    "ProjectionHead": "st_vqrl.model",
    "VQAHead": "st_vqrl.model",
    "build_backbone": "st_vqrl.model",
    "count_parameters": "st_vqrl.model",
    "kinetics_state_dict": "st_vqrl.model",
    "distance_matrix": "st_vqrl.objective",
    "shrink_covariance": "st_vqrl.objective",
    "stvqrl_loss": "st_vqrl.objective",
    "StVqrlNet": "st_vqrl.pretrain",
    "build_net": "st_vqrl.pretrain",
    "demo_pretrain_scenes": "st_vqrl.pretrain",
    "split_scenes": "st_vqrl.pretrain",
    "load_pretrained": "st_vqrl.pretrain",
    "pretrain_stvqrl": "st_vqrl.pretrain",
    "STVQRL_STAGE": "st_vqrl.stage",
    "stvqrl_stage": "st_vqrl.stage",
    "convert_released_state_dict": "st_vqrl.released",
    "fastvqa_to_torchvision_key": "st_vqrl.released",
    "load_released_checkpoint": "st_vqrl.released",
    "read_released_state_dict": "st_vqrl.released",
    "make_synthetic": "st_vqrl.synthetic",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())

__all__ = sorted(_LAZY)
