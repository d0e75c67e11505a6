"""Run by tests/training/test_ddp.py: a real 2-process DDP fit (gloo, CPU). Lightning relaunches this script for rank 1.

Every rank writes ``rank<r>.json``: the batches it trained on (library, item indices, labels) per epoch, a
checksum of its final parameters, and how many files it decoded (only local rank 0 prepares the data).

    python tests/training/ddp_script.py OUT_DIR LIBRARIES_YAML MIXING BN
"""

import json
import sys
from pathlib import Path

import torch
from lightning.pytorch import Callback

import sfxrep.audio.cache
from sfxrep.training.lightning_cli import SfxLightningCLI

DECODED: list[str] = []
_decode = sfxrep.audio.cache.decode


def counting_decode(path, *args, **kwargs):
    DECODED.append(str(path))
    return _decode(path, *args, **kwargs)


sfxrep.audio.cache.decode = counting_decode


class Record(Callback):
    def __init__(self, out: Path):
        self.out, self.epochs = out, []

    def on_train_epoch_start(self, trainer, pl_module):
        self.epochs.append([])

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.epochs[-1].append({"library": batch["library"], "index": batch["index"].tolist(),
                                "label": batch["label"].tolist()})

    def on_train_end(self, trainer, pl_module):
        checksum = float(sum(p.detach().double().sum() for p in pl_module.parameters()))
        (self.out / f"rank{trainer.global_rank}.json").write_text(json.dumps(
            {"world_size": trainer.world_size, "epochs": self.epochs, "checksum": checksum, "decoded": len(DECODED)}))


def main() -> None:
    out, libraries, mixing, bn = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    torch.set_num_threads(1)
    repo = Path(__file__).resolve().parents[2]
    cli = SfxLightningCLI(run=False, args=[
        "--config", str(repo / "experiments" / "base.yaml"),
        "--data.libraries", libraries, "--data.work_dir", str(out / "prepared"),
        "--data.cache_dir", str(out / "cache"), "--data.mixing", mixing, "--data.prepare_workers", "1",
        "--data.eval_batch_size", "32",
        "--model.encoder.init_args.width", "4", "--model.encoder.init_args.bn", bn,
        "--trainer.accelerator", "cpu", "--trainer.devices", "2",  # the CLI picks DDP with unused parameters
        "--trainer.max_epochs", "2", "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false",
        "--trainer.logger.init_args.save_dir", str(out / "runs"), "--checkpoint.dirpath", str(out / "ckpt"),
    ])
    cli.trainer.callbacks.append(Record(out))
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)


if __name__ == "__main__":
    main()
