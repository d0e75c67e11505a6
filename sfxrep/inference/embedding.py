"""Embedding many files at the hardware's speed: decode in the background, batch blocks across files.

One file at a time wastes the CNN (a 3 s sound is 2 blocks, a forward pass is cheapest at dozens) and leaves
the cores idle while the next file decodes. :class:`FileEmbedder` keeps a pool of decoder processes ahead of
the model (decode and resample never hold the model's interpreter), cuts each decoded file into its blocks, and runs the
frozen model on full batches of ``batch_size`` blocks that may span many files, in channels-last layout
under ``torch.inference_mode``. Files come back in input order; a file that cannot be decoded comes back
as its :class:`~sfxrep.audio.decode.AudioDecodeError`, in place, so a caller reports it and goes on.

    embedder = FileEmbedder(load_model("aisfx"))
    for item in embedder(paths):
        if isinstance(item, AudioDecodeError): print("skipped", item)
        else: item.path, item.blocks            # (n_blocks, D) float32
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import warnings
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sfxrep.audio.blocks import block_samples, block_starts
from sfxrep.audio.decode import AudioDecodeError, DecodedAudio, audio_files, decode
from sfxrep.hardware import env_limits
from sfxrep.inference.precision import embed_at, embedding_autocast, resolve_precision
from sfxrep.models.net import SfxNet

TAIL_DEFAULT = False
"""Whether a file's last, zero-padded partial block is embedded. Off by default, as in the authors' aiSFX
inference: a 5 s clip is 3 blocks instead of 4 (a quarter less compute), and on ``../shared/data`` the
file-level kNN F1 of the released model is within noise either way (README "Indexing")."""


@dataclass(frozen=True)
class FileEmbedding:
    """The block embeddings of one decoded file.

    Attributes:
        path: the file as given.
        blocks: ``(n_blocks, D)`` float32, one row per 2.3 s block at 50 % overlap.
        duration: seconds of audio in the file.
        sample_rate: the file's own sample rate (Hz).
        channels: the file's channel count.
    """

    path: str
    blocks: np.ndarray
    duration: float
    sample_rate: int
    channels: int

    @property
    def vector(self) -> np.ndarray:
        """``(D,)`` the file embedding: the mean of its block embeddings (the paper's file-level vector)."""
        return self.blocks.mean(axis=0)


@dataclass
class _Pending:
    """A file whose blocks are (partly) in flight; ``rows`` fills as batches come back."""

    path: str
    error: AudioDecodeError | None = None
    missing: int = 0  # blocks not yet embedded
    rows: list[torch.Tensor] = field(default_factory=list)
    duration: float = 0.0
    sample_rate: int = 0
    channels: int = 0


def decode_or_error(path: str) -> DecodedAudio | AudioDecodeError:
    """The decoded file, or its :class:`AudioDecodeError` as a value (what a decoder process hands back)."""
    try:
        return decode(path)
    except AudioDecodeError as err:
        return err


def default_decode_workers() -> int:
    """Decoder processes for this machine: none up to 3 cores, then one per 4 cores (at most 4).

    On 2 cores the CNN is the bound (``make bench`` prints each stage's files/s alone): decoding takes ~2 ms of a
    file's ~50 ms there, and a decoder process would take cycles from the CNN's two intra-op threads (measured on 2
    AVX2 cores with threads: 9.7 files/s decoding inline against 9.0 with 2 decoders). With more cores than the
    CNN uses well, decoding ahead hides its cost entirely.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(4, cores // 4)


class FileEmbedder:
    """Streams files through decode → blocks → frozen frontend + encoder, batching blocks across files.

    Args:
        model: an :class:`SfxNet` or a reference embedder (from :func:`sfxrep.api.load_model`), with a
            ``frontend`` and ``embed(wave, library)``; it is put in eval mode.
        library: BatchNorm set of a per-library-BN model (ignored with shared BN).
        batch_size: blocks per forward pass (64: the training batch; larger buys little on a CPU).
        tail: embed the zero-padded last partial block (default :data:`TAIL_DEFAULT`).
        decode_workers: decoder processes (0: decode in the calling thread; default
            :func:`default_decode_workers`).
        prefetch: files decoded ahead of the model (bounds memory: ~4 MB per minute of audio).
        channels_last: run the encoder in channels-last layout (faster on x86 CPUs: ``make bench``).
        hop_frames: block hop in spectrogram frames (paper: 50, i.e. 50 % overlap).
        block_frames: block length in frames (paper: 100 ≈ 2.3 s).
        compile: run the encoder through ``torch.compile`` (inductor); every batch is padded to
            ``batch_size`` so that one compiled shape serves all. Not the default: on 2 AVX2 cores the compiled
            encoder alone does 31 blocks/s against 23–24 eager, yet whole-file embedding measured 8.9–9.9 files/s
            compiled against 10.0–11.1 eager (``make bench``), so measure on your machine. (int8 PT2E
            quantisation through torchao and inductor gave no gain either: 17.7 blocks/s at cosine 0.9988, no VNNI.)
        precision: the encoder's precision: ``auto`` (default) is bf16 where the device computes it natively (AMX,
            AVX512-BF16, a CUDA GPU), else fp32, and int8 for a model whose int8 calibration passed its accuracy
            gate on a CPU with VNNI or AMX (:func:`sfxrep.inference.precision.resolve_precision`); ``int8`` runs the
            model's saved int8 calibration on a CPU with VNNI or AMX (:mod:`sfxrep.inference.int8`); ``precision``
            holds the resolved value.
    """

    def __init__(self, model: SfxNet, library: str | None = None, batch_size: int = 64, tail: bool = TAIL_DEFAULT,
                 decode_workers: int | None = None, prefetch: int = 32, channels_last: bool = True, hop_frames: int = 50,
                 block_frames: int = 100, compile: bool = False, precision: str = "auto") -> None:
        self.model = model.eval()
        if channels_last and isinstance(model, SfxNet) and not model.channels_last:
            model.channels_last = True
            model.encoder.to(memory_format=torch.channels_last)
        self.library, self.batch_size, self.tail = library, batch_size, tail
        self.decode_workers = default_decode_workers() if decode_workers is None else decode_workers
        self.prefetch = max(1, prefetch)
        hop = model.frontend.hop_length
        self.block_length, self.block_hop = block_samples(block_frames, hop), hop_frames * hop
        self.device = torch.device(model.device)
        self.precision = resolve_precision(precision, model)
        if compile and self.precision == "int8":
            raise ValueError("compile: the int8 encoder runs as a quantized graph, not through torch.compile")
        if compile and not isinstance(model, SfxNet):
            raise ValueError(f"compile: only a CNN9 model (a checkpoint or aisfx) is compiled, not {type(model).__name__}")
        if compile and env_limits():  # see sfxrep.hardware.env_limits
            warnings.warn(f"torch.compile is not used while {', '.join(env_limits())} holds the kernels to an ISA (its "
                          "compiled encoder gave wrong embeddings then); embedding eagerly", stacklevel=2)
            compile = False
        self.compiled = torch.compile(model.encoder, dynamic=False) if compile else None
        self._embed = embed_at(model, self.precision)
        self.decoded = 0  # files decoded so far (successfully or not): what an incremental index counts

    def blocks_of(self, samples: np.ndarray) -> torch.Tensor:
        """``(n,)`` samples → ``(n_blocks, block_length)`` views of the (end-padded) wave."""
        starts = block_starts(samples.shape[0], self.block_length, self.block_hop, self.tail)
        needed = int(starts[-1]) + self.block_length
        wave = torch.from_numpy(samples)
        if wave.shape[0] < needed:
            wave = torch.nn.functional.pad(wave, (0, needed - wave.shape[0]))
        return wave[:needed].unfold(0, self.block_length, self.block_hop)

    @torch.inference_mode()
    def _forward(self, blocks: torch.Tensor) -> torch.Tensor:
        """``(n, block_length)`` → ``(n, D)`` float32 on the CPU."""
        blocks = blocks.to(self.device, non_blocking=True)
        if self.compiled is None:
            return self._embed(blocks, self.library).cpu()
        n = blocks.shape[0]
        if n < self.batch_size:  # one shape for the compiled graph
            blocks = torch.nn.functional.pad(blocks, (0, 0, 0, self.batch_size - n))
        with embedding_autocast(self.precision, self.device):  # the frontend stays float32 under it
            return self.compiled(self.model.features(blocks), self.library)[:n].float().cpu()

    def _decoded(self, paths: Iterable[str | Path]) -> Iterator[tuple[str, DecodedAudio | AudioDecodeError]]:
        """``(path, audio or error)`` in input order, decoded up to ``prefetch`` files ahead."""
        if self.decode_workers <= 0:
            for path in map(str, paths):
                yield path, decode_or_error(path)
            return
        window: collections.deque[tuple[str, Future]] = collections.deque()
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch or OpenMP state
        with ProcessPoolExecutor(self.decode_workers, mp_context=context) as pool:
            for path in map(str, paths):
                window.append((path, pool.submit(decode_or_error, path)))
                if len(window) >= self.prefetch:
                    done, future = window.popleft()
                    yield done, future.result()
            while window:
                done, future = window.popleft()
                yield done, future.result()

    def __call__(self, paths: Iterable[str | Path]) -> Iterator[FileEmbedding | AudioDecodeError]:
        """Embed ``paths`` in order; yields a :class:`FileEmbedding` or the file's ``AudioDecodeError``."""
        queue: collections.deque[_Pending] = collections.deque()  # files not yet yielded, in order
        batch: list[torch.Tensor] = []                              # blocks waiting for a forward pass
        owners: list[_Pending] = []                                  # the file of each piece of `batch`

        def run_batch() -> None:
            out = self._forward(torch.cat(batch))
            for owner, part in zip(owners, out.split([b.shape[0] for b in batch]), strict=True):
                owner.rows.append(part)
                owner.missing -= part.shape[0]
            batch.clear(), owners.clear()

        def ready() -> Iterator[FileEmbedding | AudioDecodeError]:
            while queue and queue[0].missing == 0:
                item = queue.popleft()
                yield item.error or FileEmbedding(item.path, torch.cat(item.rows).numpy(), item.duration,
                                                  item.sample_rate, item.channels)

        for path, audio in self._decoded(paths):
            self.decoded += 1
            if isinstance(audio, AudioDecodeError):
                queue.append(_Pending(path, error=audio))
            else:
                blocks = self.blocks_of(audio.samples)
                item = _Pending(path, missing=blocks.shape[0], duration=audio.duration,
                                sample_rate=audio.source_rate, channels=audio.channels)
                queue.append(item)
                while blocks.shape[0]:
                    take = blocks[: self.batch_size - sum(b.shape[0] for b in batch)]
                    batch.append(take), owners.append(item)
                    blocks = blocks[take.shape[0]:]
                    if sum(b.shape[0] for b in batch) == self.batch_size:
                        run_batch()
            yield from ready()
        if batch:
            run_batch()
        yield from ready()


def embed_paths(paths: list[str | Path], model: nn.Module, library: str | None = None, tail: bool = TAIL_DEFAULT,
                compile: bool = False, precision: str = "auto") -> tuple[list[str], np.ndarray, list[tuple[str, str]]]:
    """File-level embeddings (mean over blocks) of files and folders (searched recursively).

    Blocks are batched across files and decoding runs in the background (:class:`~sfxrep.inference.embedding.FileEmbedder`).

    Returns:
        the embedded files, their embeddings ``(n_files, D)``, and (file, reason) for every file that could
        not be decoded — those are reported, never silently dropped.
    """
    done, vectors, skipped = [], [], []
    for item in FileEmbedder(model, library, tail=tail, compile=compile, precision=precision)(audio_files(paths)):
        if isinstance(item, AudioDecodeError):
            skipped.append((item.path, item.reason))
        else:
            done.append(item.path)
            vectors.append(item.vector)
    dim = model.scene_embedding_size
    return done, np.stack(vectors) if vectors else np.zeros((0, dim), np.float32), skipped
