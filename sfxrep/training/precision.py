"""The Trainer whose ``precision`` takes sfxrep's vocabulary: ``auto`` (the default in sfxrep's configs), ``fp32``,
``bf16``, ``fp16``, or any name Lightning takes; resolved and mapped once by
:func:`sfxrep.inference.precision.lightning_precision`."""

from __future__ import annotations

from lightning.pytorch import Trainer

from sfxrep.inference.precision import lightning_precision


class SfxTrainer(Trainer):
    """Lightning's Trainer, whose ``precision`` also takes ``auto``, ``fp32``, ``bf16`` and ``fp16``.

    Args:
        precision: ``auto`` (bf16 where this machine computes it natively, else fp32; see
            :mod:`sfxrep.inference.precision`), a name of that vocabulary, or any precision Lightning takes.
        accelerator: as Lightning's; ``auto`` picks a GPU when there is one.
        **kwargs: every other argument of :class:`lightning.pytorch.Trainer`.
    """

    def __init__(self, *, accelerator: str = "auto", precision: str | int | None = "auto", **kwargs) -> None:
        super().__init__(accelerator=accelerator, precision=lightning_precision(precision, accelerator), **kwargs)
