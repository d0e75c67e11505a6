"""SfxDataModule: several libraries, class-balanced single-library batches, Sequential / Joint / round-robin.

* train: ``sequential`` or ``joint`` — ONE DataLoader over the concatenated libraries whose batch sampler
  (:class:`MixedBatchSampler`) yields single-library batches (Lightning 2.6 refuses
  ``CombinedLoader(mode="sequential")`` in fit); ``round_robin`` — ``CombinedLoader(mode="max_size_cycle")``
  of one loader per library, so each step sees one batch of every library.
* val / test: one loader per library (Lightning combines them sequentially), every block at 50 % overlap.

Lightning's hooks: :meth:`~SfxDataModule.prepare_data` decodes every file into the wave cache and writes the
manifest (once per node: local rank 0); :meth:`~SfxDataModule.setup` reads the manifest on every rank. Outside a
Trainer call :meth:`~SfxDataModule.ready`. Train with ``use_distributed_sampler=False``: the samplers shard
across ranks themselves.
"""

from __future__ import annotations

import sys
from functools import cached_property
from pathlib import Path

import numpy as np
from lightning.pytorch import LightningDataModule
from lightning.pytorch.utilities import CombinedLoader, rank_zero_warn
from torch.utils.data import ConcatDataset, DataLoader

from sfxrep.audio.blocks import block_samples
from sfxrep.audio.cache import WaveCache
from sfxrep.data.datasets import (
    EvalBlockDataset,
    LibraryFiles,
    RandomBlockDataset,
    collate_library_batch,
)
from sfxrep.data.samplers import ClassBalancedBatchSampler, MixedBatchSampler, Mixing
from sfxrep.libraries.manifest import ManifestRow
from sfxrep.libraries.prepare import Prepared, load_prepared, prepare
from sfxrep.libraries.spec import load_libraries
from sfxrep.paths import CACHE_DIR, WORK_DIR


class SfxDataModule(LightningDataModule):
    """The libraries of a run as Lightning data.

    Args:
        libraries: YAML file listing the libraries (see :mod:`sfxrep.libraries.spec`).
        train_libraries: the libraries to train on (one head each); ``None`` = all of them.
        work_dir: where prepared manifests are written.
        cache_dir: the wave cache.
        mixing: ``sequential`` (X-Sequential), ``joint`` (X-Joint) or ``round_robin`` (see module doc).
        batch_size: items per batch (paper: 64).
        items_per_class: m items per class in a batch (paper: 4, so 16 classes per batch).
        batches_per_epoch: fixed batches per library per epoch; ``None`` ≈ one pass over each library.
        eval_batch_size: blocks per validation/test batch.
        block_frames: frames per input block (paper: 100 ≈ 2.3 s).
        hop_length: STFT hop in samples; must match the model's frontend (paper: 1024).
        eval_hop_frames: hop between evaluation blocks in frames (paper: 50, i.e. 50 % overlap).
        num_workers: DataLoader workers per loader.
        seed: sampler seed.
        prepare_workers: decoding processes when the manifest is first built.
    """

    def __init__(
        self,
        libraries: str = "experiments/libraries/demo.yaml",
        train_libraries: list[str] | None = None,
        work_dir: str = WORK_DIR,
        cache_dir: str = CACHE_DIR,
        mixing: Mixing = "sequential",
        batch_size: int = 64,
        items_per_class: int = 4,
        batches_per_epoch: int | None = None,
        eval_batch_size: int = 64,
        block_frames: int = 100,
        hop_length: int = 1024,
        eval_hop_frames: int = 50,
        num_workers: int = 0,
        seed: int = 0,
        prepare_workers: int = 2,
    ) -> None:
        super().__init__()
        if mixing not in ("sequential", "joint", "round_robin"):
            raise ValueError(f"data.mixing must be sequential, joint or round_robin, got {mixing!r}")
        if batch_size < 1 or items_per_class < 1 or batch_size % items_per_class:
            raise ValueError(f"data.batch_size ({batch_size}) must be a positive multiple of data.items_per_class "
                             f"({items_per_class}) (paper: 64 = 16 classes x 4)")
        for name, value in (("block_frames", block_frames), ("hop_length", hop_length),
                            ("eval_hop_frames", eval_hop_frames), ("eval_batch_size", eval_batch_size)):
            if value < 1:
                raise ValueError(f"data.{name} must be >= 1, got {value}")
        if batches_per_epoch is not None and batches_per_epoch < 1:
            raise ValueError(f"data.batches_per_epoch must be >= 1 or null, got {batches_per_epoch}")
        self.save_hyperparameters()
        self.spec = load_libraries(libraries)
        unknown = set(train_libraries or ()) - set(self.spec.names)
        if unknown:
            raise ValueError(f"train_libraries {sorted(unknown)} are not in {libraries} ({self.spec.names})")
        self.train_libraries = list(train_libraries or self.spec.names)
        self.cache = WaveCache(cache_dir)
        self.mixing = mixing
        self.hop_length = hop_length
        self.block_length = block_samples(block_frames, hop_length)
        self.eval_hop = eval_hop_frames * hop_length
        self._prepared: Prepared | None = None

    def prepare_data(self) -> None:
        """Decode every file into the wave cache and write the manifest (Lightning: once per node)."""
        prepare(self.spec, self.hparams.work_dir, self.cache, workers=self.hparams.prepare_workers, log=sys.stderr)

    def setup(self, stage: str | None = None) -> None:
        """Read the manifest that :meth:`prepare_data` wrote (every rank)."""
        if self._prepared is None:
            self._prepared = load_prepared(self.spec, self.hparams.work_dir)
            if self._prepared is None:
                raise FileNotFoundError(f"no prepared manifest for {self.spec.source} under "
                                        f"{Path(self.hparams.work_dir).resolve()}: run prepare_data() first")

    def ready(self) -> SfxDataModule:
        """Prepare (if needed) and set up outside a Trainer; returns ``self``."""
        if self._prepared is None:
            self.prepare_data()
            self.setup()
        return self

    @property
    def prepared(self) -> Prepared:
        """The manifest rows and reports (after :meth:`setup`)."""
        if self._prepared is None:
            raise RuntimeError("SfxDataModule is not set up: Lightning calls prepare_data() and setup(); "
                               "outside a Trainer call ready()")
        return self._prepared

    def rows(self, library: str, split: str | None = None) -> list[ManifestRow]:
        return [r for r in self.prepared.rows if r.library == library and (split is None or r.split == split)]

    @cached_property
    def classes(self) -> dict[str, list[str]]:
        """Library → sorted class names (every library of the YAML, trained on or not)."""
        return {lib: sorted({r.label for r in self.rows(lib)}) for lib in self.spec.names}

    @property
    def num_classes(self) -> dict[str, int]:
        """Classes per training library: the heads' sizes (``SfxModule.configure_model`` reads them)."""
        return {lib: len(self.classes[lib]) for lib in self.train_libraries}

    def files(self, library: str, split: str | None) -> LibraryFiles:
        """One split of one library (``None``: every file, in manifest order), decoded into the cache."""
        rows = self.rows(library, split)
        index = {c: i for i, c in enumerate(self.classes[library])}
        infos = [self.cache.ensure(r.path) for r in rows]
        return LibraryFiles(library, [i.npy for i in infos], np.array([i.num_samples for i in infos], np.int64),
                            np.array([index[r.label] for r in rows], np.int64), self.classes[library])

    # ---- loaders ---------------------------------------------------------------------------------------
    def _rank(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def _batch_sampler(self, files: LibraryFiles) -> ClassBalancedBatchSampler:
        rank, world = self._rank()
        return ClassBalancedBatchSampler(files.labels, self.hparams.batch_size, self.hparams.items_per_class,
                                         seed=self.hparams.seed, rank=rank, world_size=world,
                                         batches_per_epoch=self.hparams.batches_per_epoch)

    def _loader(self, dataset, **kwargs) -> DataLoader:
        """A loader of ``dataset``; on a GPU its batches are pinned, so Lightning's copies to it are asynchronous."""
        workers = self.hparams.num_workers
        trainer = self.trainer
        pin = trainer is not None and getattr(trainer.strategy.root_device, "type", "cpu") == "cuda"
        return DataLoader(dataset, collate_fn=collate_library_batch, num_workers=workers,
                          persistent_workers=workers > 0, pin_memory=pin, **kwargs)

    def train_dataloader(self) -> DataLoader | CombinedLoader:
        train = {lib: self.files(lib, "train") for lib in self.train_libraries}
        datasets = {lib: RandomBlockDataset(f, self.block_length) for lib, f in train.items()}
        samplers = {lib: self._batch_sampler(f) for lib, f in train.items()}
        if self.mixing == "round_robin":
            loaders = {lib: self._loader(datasets[lib], batch_sampler=samplers[lib]) for lib in train}
            return CombinedLoader(loaders, mode="max_size_cycle")
        offsets = dict(zip(train, np.cumsum([0] + [len(d) for d in datasets.values()])[:-1].tolist(), strict=True))
        mixed = MixedBatchSampler(samplers, offsets, self.mixing, seed=self.hparams.seed)
        return self._loader(ConcatDataset(list(datasets.values())), batch_sampler=mixed)

    def eval_dataset(self, library: str, split: str | None) -> EvalBlockDataset:
        return EvalBlockDataset(self.files(library, split), self.block_length, self.eval_hop)

    def _eval_loaders(self, split: str) -> dict[str, DataLoader]:
        loaders = {}
        for lib in self.train_libraries:
            dataset = self.eval_dataset(lib, split)
            if len(dataset):
                loaders[lib] = self._loader(dataset, batch_size=self.hparams.eval_batch_size, shuffle=False)
            else:
                rank_zero_warn(f"library {lib} has no {split} files: it is left out of {split} (and of val/loss)")
        return loaders

    def val_dataloader(self) -> dict[str, DataLoader]:
        return self._eval_loaders("val")

    def test_dataloader(self) -> dict[str, DataLoader]:
        return self._eval_loaders("test")
