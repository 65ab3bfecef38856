"""Configs: each class loads its own presets, validation names the bad field."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ssl_vqa.config import QasaConfig, SslConfig
from st_vqrl.config import StVqrlConfig
from vqa_core.config import config_to_dict, load_config
from vqa_core.errors import ConfigError


@pytest.mark.parametrize("cls", [SslConfig, QasaConfig])
@pytest.mark.parametrize("size", ["tiny", "small", "full"])
def test_each_class_loads_its_own_presets(cls, size):
    cfg = load_config(cls, size)
    assert type(cfg) is cls
    assert config_to_dict(cfg) == config_to_dict(cls.PRESETS[size])
    # the nested ST-VQRL config is st-vqrl's preset of the same size; tiny's trunk starts from
    # random init and reads MSCN coefficients, as small's does
    expected = StVqrlConfig.PRESETS[size]
    if size == "tiny":
        expected = replace(expected, clip=replace(expected.clip, input_norm="mscn"))
    assert cfg.stvqrl == expected


@pytest.mark.parametrize("cls", [SslConfig, QasaConfig])
def test_small_scores_with_the_primary_and_full_with_the_papers_combination(cls):
    # offline the auxiliaries are near chance (NIQE 0.06, random CLIP 0.25 SRCC on demo split 0)
    assert cls.PRESETS["small"].combine.mode == "primary"
    assert cls.PRESETS["tiny"].combine.mode == "primary" and cls.PRESETS["tiny"].init == "random"
    assert cls.PRESETS["full"].combine.mode == {SslConfig: "average", QasaConfig: "product"}[cls]
    assert cls.PRESETS["small"].semi.unlabelled_per_labelled > 0  # still semi-supervised


def test_paper_settings_in_full():
    ssl, qasa = load_config(SslConfig, "full"), load_config(QasaConfig, "full")
    assert ssl.combine.mode == "average" and qasa.combine.mode == "product"
    assert (ssl.niqe.tau_train, ssl.niqe.tau_test) == (0.01, 0.1)
    assert qasa.clip.arch == "ViT-B-32" and qasa.clip.pretrained == "openai" and qasa.clip.tau == 0.1
    assert (qasa.optim.aux_lr, qasa.optim.aux_weight_decay) == (5e-6, 1e-3)
    assert ssl.semi.labelled == 500 and ssl.semi.val_labelled == 50 and ssl.semi.transfer == "batch"  # issue #14 point 4
    assert ssl.stvqrl.clip.grid * ssl.stvqrl.clip.patch == 224 and ssl.sampling.clip_len == 32


@pytest.mark.parametrize(
    "override,field",
    [("semi.labelled=1.5", "semi.labelled"), ("semi.transfer=voting", "semi.transfer"),
     ("combine.mode=max", "combine.mode"), ("trainer.batch_size=1", "batch_size"),
     ("trainer.batch_size=2", "batch_size"),
     ("sampling.fragments_t=3", "fragments_t")],
)
def test_bad_values_are_named(override, field):
    with pytest.raises(ConfigError, match=field.split(".")[-1]):
        load_config(SslConfig, "tiny", [override])


def test_labelled_accepts_count_and_fraction():
    assert load_config(SslConfig, "tiny", ["semi.labelled=500"]).semi.labelled == 500
    assert load_config(SslConfig, "tiny", ["semi.labelled=0.25"]).semi.labelled == 0.25


def test_a_batch_of_two_is_refused_because_its_plcc_loss_has_no_gradient():
    """Why the minimum is 3: z-scored, 2 scores are always -1 and +1, so the loss is a constant."""
    import torch

    from ssl_vqa.config import MIN_PLCC_BATCH
    from vqa_core.losses import plcc_loss

    gen = torch.Generator().manual_seed(0)
    for batch in (2, MIN_PLCC_BATCH):
        pred = torch.randn(batch, generator=gen, requires_grad=True)
        plcc_loss(pred, torch.randn(batch, generator=gen)).backward()
        assert (pred.grad.abs().max() > 1e-3) == (batch >= MIN_PLCC_BATCH)
    with pytest.raises(ConfigError, match="no gradient"):
        load_config(SslConfig, "tiny", ["trainer.batch_size=2"])
