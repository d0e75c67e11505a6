"""The authors' released model (X-Sequential-CE, PyPI ``aisfx`` 0.1.2, CC BY 4.0) as an SfxModule.

The wheel holds ``aisfx/models/checkpoint.pth`` = ``(state_dict, ds_dict)``: a CNN9-max encoder of width 64
(``embedding_net.conv_blockK.*``) and nine heads (``fc.I.{0,2,4}``), ``ds_dict`` = library → (index, classes).
Its names match :class:`~sfxrep.models.cnn9.CNN9` and :class:`~sfxrep.models.heads.MLPHead` one to one.

Install it without its ancient pins: ``pip install --no-deps aisfx==0.1.2`` (``make install`` does). Its own
loader fails on torch ≥ 2.6 (``ds_dict`` holds numpy ints, so ``weights_only=False`` is needed: the file is
trusted as the authors' release). The authors computed spectrograms with Essentia; sfxrep's LogMel follows
their librosa variant, which they note "may yield lower results".
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from sfxrep.models.cnn9 import CNN9
from sfxrep.models.frontend import LogMel
from sfxrep.models.net import SfxNet

AISFX_VERSION = "0.1.2"


def aisfx_checkpoint() -> Path:
    """Path of the installed ``aisfx`` checkpoint (found without importing the package)."""
    spec = importlib.util.find_spec("aisfx")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"aisfx is not installed: pip install --no-deps aisfx=={AISFX_VERSION}")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / "checkpoint.pth"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the aisfx package has no models/checkpoint.pth")
    return path


def load_aisfx(path: str | Path | None = None) -> SfxNet:
    """The released X-Sequential-CE model: width-64 CNN9, shared BN, one head per training library (eval mode).

    Args:
        path: ``checkpoint.pth`` of ``aisfx``; default the installed package's.
    """
    state, libraries = torch.load(path or aisfx_checkpoint(), map_location="cpu", weights_only=False)
    order = sorted(libraries, key=lambda name: int(libraries[name][0]))
    module = SfxNet(CNN9(64), LogMel(), {name: int(libraries[name][1]) for name in order})
    mapped = {}
    for key, value in state.items():
        if key.startswith("embedding_net."):
            mapped["encoder." + key.removeprefix("embedding_net.")] = value
        else:  # fc.<index>.<layer>.<param>
            _, index, rest = key.split(".", 2)
            mapped[f"heads.{order[int(index)]}.mlp.{rest}"] = value
    module.load_state_dict(mapped, strict=True)
    return module.eval()
