"""Which model made an index: a name for people and a hash of the weights for the machine.

An index queried with another model would rank by distances between two unrelated spaces, so every index
records the identity of the model that embedded it and refuses a query embedded by any other.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from sfxrep.models.fingerprint import weights_sha256


def identity(module: nn.Module, source: str, library: str | None, tail: bool, precision: str = "fp32") -> dict:
    """The ``model`` record of ``index.json``: what decides an embedding, and the encoder's ``precision`` (recorded;
    bf16 and fp32 embeddings of one model agree to cosine ≥ 0.99, so a query may use either)."""
    return {"source": source, "sha256": weights_sha256(module), "library": library, "tail": tail,
            "precision": precision}


class ModelMismatchError(ValueError):
    """A query or update uses another model than the one the index was built with."""


def check_same_model(recorded: dict, other: dict, index: Path) -> None:
    """Raise :class:`ModelMismatchError` unless ``other`` embeds exactly as the ``recorded`` model did."""
    keys = ("sha256", "library", "tail")
    if any(recorded.get(k) != other.get(k) for k in keys):
        raise ModelMismatchError(
            f"{index}: built with model {recorded.get('source')} (weights {str(recorded.get('sha256'))[:12]}, "
            f"library {recorded.get('library')}, tail {recorded.get('tail')}), not with {other.get('source')} "
            f"(weights {str(other.get('sha256'))[:12]}, library {other.get('library')}, tail {other.get('tail')}); "
            "query it with the same model, or build a new index")
