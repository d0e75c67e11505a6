"""What ``sfxrep train`` (and every ``sfxrep tune`` trial) runs: a :class:`TrainPlan`, declared once.

Each option is declared here, once, with its help: :func:`add_plan_options` makes the argparse options of
``sfxrep train`` and ``sfxrep tune`` from the declarations, :meth:`TrainPlan.from_options` reads them back,
and a tuning trial on several devices hands its plan to ``sfxrep train --plan FILE`` as JSON.

One ordering rule, everywhere: configuration layers apply in this order, a later one winning

    experiments/base.yaml < ``-c`` files < ``losses/<loss>.yaml`` < the plan's options < arguments after ``--``

The options (``--mixing``, ``--bn``, ``--fdr``, ``--seed``, ``--init``, ``--param`` …) become one config layer
(:meth:`TrainPlan.overlay`), handed to LightningCLI as an inline ``--config`` right before the arguments after
``--``. An option that is not given adds nothing: the YAML decides.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from jsonargparse import Namespace

from sfxrep.data.samplers import Mixing
from sfxrep.fileio import check_yaml_mapping
from sfxrep.inference.precision import EmbedPrecision
from sfxrep.models.cnn9 import BatchNormMode
from sfxrep.records import Scenario

# named, not imported: the callback imports Lightning (3.4 s), which no command but train and tune needs
FDR_CLASS = "sfxrep.training.callbacks.fdr.FocalDatasetRegularization"
CALLBACK_ARGS = "trainer.callbacks.init_args."  # a --param key that sets an argument of every callback having it
UNSET = " (default: as the YAML says)"


def fdr_defaults() -> dict[str, Any]:
    """The default arguments of the FDR callback (:data:`FDR_CLASS`)."""
    from sfxrep.training.callbacks.fdr import FocalDatasetRegularization

    return {name: p.default for name, p in inspect.signature(FocalDatasetRegularization).parameters.items()}


def default_experiments() -> Path:
    """``./experiments`` if there is one, else the one beside the installed package (a source checkout)."""
    here = Path("experiments")
    return here if here.is_dir() else Path(__file__).resolve().parents[2] / "experiments"


def option(default: Any, help: str, *flags: str, commands: tuple[str, ...] = ("train", "tune"),
           metavar: str | None = None) -> Any:
    """A plan field that is also a command-line option of ``commands`` (flags default to ``--field-name``)."""
    cli = {"help": help, "flags": flags, "commands": commands, "metavar": metavar}
    if isinstance(default, (list, dict)):
        return field(default_factory=type(default), metadata={"cli": cli})
    return field(default=default, metadata={"cli": cli})


def _pairs(items: list[str] | None, flag: str) -> dict:
    """``KEY=JSON`` strings → dict (a value that is not JSON stays a string)."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} {item!r}: expected KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


@dataclass
class TrainPlan:
    """What ``sfxrep train`` runs. ``None`` means "not given: the YAML decides".

    Besides the options below: ``overrides`` are LightningCLI arguments (``--trainer.max_epochs 5`` …, the
    arguments after ``--``), applied last; ``callbacks`` are extra Lightning callbacks for every fit (a tuning
    trial's reporters).
    """

    scenario: Scenario = option("cross", "paper 5.2.1: one model per library, one on a UCS library, or one on all")
    configs: Sequence[str] | None = option(None, "YAML over experiments/base.yaml, repeatable (default: demo.yaml)",
                                           "-c", "--config")
    mixing: Mixing | None = option(None, "cross-dataset mixing of batches" + UNSET)
    bn: BatchNormMode | None = option(None, "BatchNorm shared, or one set per library" + UNSET)
    fdr: bool | None = option(None, "'Focal' Dataset Regularization (paper 5.3.2)" + UNSET)
    fdr_threshold: float | None = option(None, "FDR convergence threshold, implies --fdr on (paper: 0.9)")
    loss: str | None = option(None, "a file of experiments/losses/ (ce, contrastive, triplet, circle)" + UNSET)
    base: str | None = option(None, "UCS-transfer base library (default: the first UCS library)")
    results: str = option("runs/results.jsonl", "results file the rows are appended to")
    k: int = option(1, "neighbours of the kNN evaluation (paper: 1)")
    eval_precision: EmbedPrecision = option("auto", "the encoder's precision in the kNN evaluation: auto (bf16 where native), "
                                         "fp32 or bf16; recorded in the rows")
    name: str | None = option(None, "run-name prefix (default: derived from the settings that ran)")
    seed: int | None = option(None, "seeds weights, crops and batches; the split keeps its own" + UNSET)
    experiments: str | None = option(None, "the experiments folder (default: ./experiments, else the package's)")
    runs: str = option("runs", "folder of the runs' logs and checkpoints (<runs>/<run>/)")
    init: str | None = option(None, "warm start: aisfx (the authors' release) or a .ckpt — its encoder (width "
                                    "included) and the heads of the libraries it knows; new libraries get new heads")
    freeze_encoder_epochs: int | None = option(None, "with --init: train only the heads this many first epochs")
    resume: bool = option(False, "continue this plan's unfinished runs from last.ckpt (same run folder, W&B run, "
                                 "rows); a finished run is skipped", commands=("train",))
    continue_from: str | None = option(None, "start from another run's last checkpoint (its run folder or a .ckpt): a "
                                             "longer budget continuing a shorter run, in a new run folder; the "
                                             "other run stays as it was", commands=("train",), metavar="RUN")
    params: dict = option({}, "set a resolved config key, after the options (what a tuning trial samples); "
                              "trainer.callbacks.init_args.<arg> sets that argument of every callback having it",
                          "--param", commands=("train",), metavar="KEY=JSON")
    meta: dict = option({}, "a field of every results row (study, trial)", "--tag", commands=("train",),
                        metavar="KEY=JSON")
    wandb_group: str | None = option(None, "W&B group of the runs (default: the scenario)", commands=("train",))
    no_eval: bool = option(False, "train only, no kNN evaluation of the trained model's libraries; run.json names the "
                                  "best checkpoint for sfxrep evaluate (e.g. on a transfer panel)", commands=("train",))
    overrides: Sequence[str] = field(default_factory=list)
    callbacks: list = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"--k must be >= 1 (neighbours of the kNN evaluation), not {self.k}")
        if self.freeze_encoder_epochs is not None and self.freeze_encoder_epochs < 0:
            raise ValueError(f"--freeze-encoder-epochs must be >= 0, not {self.freeze_encoder_epochs}")
        if self.fdr_threshold is not None and not 0 < self.fdr_threshold <= 1:
            raise ValueError(f"--fdr-threshold: the FDR threshold is a train macro-F1 in (0, 1], not {self.fdr_threshold}")

    # ---- the command line ----------------------------------------------------------------------------------

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> TrainPlan:
        """The plan of parsed ``sfxrep train``/``tune`` options, by name (see :func:`add_plan_options`)."""
        given = {f.name: options[f.name] for f in fields(cls) if f.name in options}
        if isinstance(given.get("fdr"), str):
            given["fdr"] = given["fdr"] == "on"
        for name in ("params", "meta"):
            if name in given:
                given[name] = given[name] if isinstance(given[name], dict) else _pairs(
                    given[name], _flags(next(f for f in fields(cls) if f.name == name))[0])
        return cls(**{k: v for k, v in given.items() if v is not None or _default(k) is None})

    def to_json(self) -> str:
        """The plan as JSON (without ``callbacks``, which are objects): :meth:`from_json` reads it back."""
        return json.dumps({k: v for k, v in asdict(self).items() if k != "callbacks"}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> TrainPlan:
        return cls(**json.loads(text))

    def options(self) -> dict:
        """The options that were given (what a study records of its trials' plan)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if "cli" in f.metadata
                and getattr(self, f.name) != _default(f.name)} | ({"overrides": list(self.overrides)}
                                                                     if self.overrides else {})

    # ---- the configuration layers --------------------------------------------------------------------------

    @property
    def experiments_dir(self) -> Path:
        return Path(self.experiments) if self.experiments else default_experiments()

    def config_files(self) -> list[Path]:
        """``base.yaml``, the ``-c`` files (default ``demo.yaml``), then ``losses/<loss>.yaml``; each checked."""
        root = self.experiments_dir
        configs = [root / "demo.yaml"] if self.configs is None else list(map(Path, self.configs))
        files = [root / "base.yaml", *configs]
        if self.loss is not None:
            files.append(root / "losses" / f"{self.loss}.yaml")
        for f in files:
            check_yaml_mapping(f)
        return files

    def file_args(self) -> list[str]:
        """LightningCLI arguments of the YAML layers alone: ``root``, then the files."""
        root = ["--root", str(self.experiments_dir.resolve().parent)]
        return root + [a for f in self.config_files() for a in ("--config", str(f))]

    def cli_args(self, files: Namespace) -> list[str]:
        """Every layer in order: the files, the options (one inline config), the arguments after ``--``.

        Args:
            files: the config the files alone resolve to (the options edit its callbacks list).
        """
        layer = self.overlay(files)
        return self.file_args() + (["--config", json.dumps(layer)] if layer else []) + list(self.overrides)

    def overlay(self, files: Namespace) -> dict:
        """The options that were given, as one config layer over ``files`` (the files' resolved config)."""
        layer: dict = {}
        if self.mixing is not None:
            put_dotted(layer, "data.mixing", self.mixing)
        if self.bn is not None:
            put_dotted(layer, "model.encoder.init_args.bn", self.bn)
        if self.seed is not None:
            put_dotted(layer, "seed_everything", self.seed)
            put_dotted(layer, "data.seed", self.seed)
        if self.init is not None:  # the encoder's shape is the source's, or its weights could not be loaded
            from sfxrep.inference.registry import model_source
            from sfxrep.training.callbacks.warmstart import source_width

            put_dotted(layer, "warm_start.source", model_source(self.init))
            put_dotted(layer, "model.encoder.init_args.width", source_width(self.init))
        if self.freeze_encoder_epochs is not None:
            put_dotted(layer, "warm_start.freeze_encoder_epochs", self.freeze_encoder_epochs)
        callbacks = [c.as_dict() if isinstance(c, Namespace) else dict(c) for c in files.trainer.callbacks or []]
        fdr = self.fdr if self.fdr is not None else (True if self.fdr_threshold is not None else None)
        if fdr is not None:
            existing = next((c for c in callbacks if c.get("class_path") == FDR_CLASS), None)
            callbacks = [c for c in callbacks if c.get("class_path") != FDR_CLASS]
            if fdr:
                init = {**fdr_defaults(), **((existing or {}).get("init_args") or {})}
                if self.fdr_threshold is not None:
                    init["threshold"] = self.fdr_threshold
                callbacks.append({"class_path": FDR_CLASS, "init_args": init})
        params = params_layer(self.params, callbacks)
        if fdr is not None or "trainer" in params:
            layer.setdefault("trainer", {})["callbacks"] = callbacks
        return _merge(layer, {k: v for k, v in params.items() if k != "trainer"} | (
            {"trainer": {k: v for k, v in params["trainer"].items() if k != "callbacks"}} if "trainer" in params else {}))


def params_layer(params: dict, callbacks: list[dict]) -> dict:
    """Dotted keys → a nested config layer; a ``trainer.callbacks.init_args.<arg>`` key sets that argument in
    every entry of ``callbacks`` that has it (in place; ``callbacks`` then belongs in the layer).

    Raises:
        ValueError: a callback argument that no callback has.
    """
    layer: dict = {}
    for key, value in params.items():
        if key.startswith(CALLBACK_ARGS):
            name = key.removeprefix(CALLBACK_ARGS)
            having = [c for c in callbacks if name in (c.get("init_args") or {})]
            if not having:
                raise ValueError(f"{key} is not a setting of the resolved config (no callback has {name!r})")
            for c in having:
                c["init_args"][name] = value
            layer.setdefault("trainer", {})["callbacks"] = callbacks
        else:
            put_dotted(layer, key, value)
    return layer


def put_dotted(layer: dict, key: str, value: Any) -> None:
    """Set dotted ``key`` (``model.encoder.init_args.width``) of a nested config layer to ``value``."""
    *parents, leaf = key.split(".")
    node = layer
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _default(name: str) -> Any:
    f = next(f for f in fields(TrainPlan) if f.name == name)
    return f.default if f.default is not MISSING else f.default_factory()


def _flags(f) -> list[str]:
    return list(f.metadata["cli"]["flags"]) or ["--" + f.name.replace("_", "-")]


def add_plan_options(parser, command: Literal["train", "tune"]) -> None:
    """Add the plan's options for ``command`` to an argparse parser (made from the declarations above)."""
    hints = get_type_hints(TrainPlan)
    for f in fields(TrainPlan):
        cli = f.metadata.get("cli")
        if cli is None or command not in cli["commands"]:
            continue
        kind = hints[f.name]
        if get_origin(kind) in (Union, UnionType):  # X | None: the option's type is X
            kind = next(a for a in get_args(kind) if a is not type(None))
        kwargs: dict[str, Any] = {"dest": f.name, "help": cli["help"], "metavar": cli["metavar"]}
        if get_origin(kind) is Literal:
            kwargs.update(choices=get_args(kind), default=f.default)
        elif kind is bool and f.default is None:  # a switch that may be left to the YAML: on | off
            kwargs.update(choices=("on", "off"), default=None)
        elif kind is bool:
            kwargs = {"dest": f.name, "help": cli["help"], "action": "store_true"}
        elif get_origin(kind) in (dict, Sequence) or kind is dict:
            kwargs.update(action="append", default=None)
        else:
            kwargs.update(type=kind, default=f.default)
        parser.add_argument(*_flags(f), **{k: v for k, v in kwargs.items() if v is not None or k == "default"})
    parser.epilog = ("Configuration layers, a later one winning: experiments/base.yaml < -c files < "
                     "losses/<loss>.yaml < these options < arguments after -- (LightningCLI overrides, e.g. "
                     "-- --trainer.max_epochs 5).")


def has_config_key(config: Namespace, key: str) -> bool:
    """Whether ``key`` (dotted) names a setting of the resolved ``config``."""
    if key.startswith(CALLBACK_ARGS):
        name = key.removeprefix(CALLBACK_ARGS)
        return any(name in (c.get("init_args") or {}) for c in config.trainer.callbacks or [])
    try:
        return key in config and not isinstance(config[key], Namespace)
    except (KeyError, TypeError):
        return False
