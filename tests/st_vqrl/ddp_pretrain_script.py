"""Run under `torchrun --nproc_per_node 2`: tiny ST-VQRL pretraining on CPU (gloo).

Used by test_pretrain.py::test_ddp_pretraining_under_torchrun (not collected by pytest itself).
"""

from __future__ import annotations

import faulthandler
import sys
from pathlib import Path

from st_vqrl import pretrain_stvqrl
from vqa_core.train import cleanup_distributed, dist_info


def main() -> None:
    faulthandler.dump_traceback_later(480, exit=True)
    folder, out = Path(sys.argv[1]), Path(sys.argv[2])
    overrides = {"pretrain.dataset": str(folder), "pretrain.k": 2}
    from st_vqrl import StVqrlConfig
    from vqa_core.config import load_config

    pretrain_stvqrl(load_config(StVqrlConfig, "tiny", overrides), out, device="cpu", progress=False)
    info = dist_info()
    if info.is_main:
        (out / "world_size.txt").write_text(str(info.world_size))
    cleanup_distributed()


if __name__ == "__main__":
    main()
