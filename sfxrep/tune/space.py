"""A search space: LightningCLI config keys mapped to Optuna distributions, read from YAML.

```yaml
# experiments/search/ce.yaml
model.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
model.weight_decay: {type: float, low: 1.0e-6, high: 1.0e-3, log: true}
data.items_per_class: {type: categorical, choices: [2, 4, 8]}
```

Types: ``float`` and ``int`` (``low``, ``high``, optional ``log`` or ``step``) and ``categorical``
(``choices``). Keys are dotted paths of the resolved config (``model.objective.init_args.metric_weight``);
``trainer.callbacks.init_args.<arg>`` names an argument of a configured callback (FDR's ``beta``). Every key
is checked against the resolved config before any trial runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import optuna
import yaml
from jsonargparse import Namespace

from sfxrep.training.plan import CALLBACK_ARGS, has_config_key

_REQUIRED = {"float": ("low", "high"), "int": ("low", "high"), "categorical": ("choices",)}
_ALLOWED = {"float": {"low", "high", "log", "step"}, "int": {"low", "high", "log", "step"},
            "categorical": {"choices"}}


@dataclass(frozen=True)
class SearchSpace:
    """Dotted config key → Optuna distribution.

    Attributes:
        source: the YAML file.
        distributions: key → distribution, in file order.
    """

    source: Path
    distributions: dict[str, optuna.distributions.BaseDistribution]

    @classmethod
    def load(cls, path: str | Path) -> SearchSpace:
        """Read a space YAML.

        Raises:
            FileNotFoundError: no such file.
            ValueError: a malformed entry, naming the file and the key.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such search-space file")
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise ValueError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from err
        if not isinstance(raw, dict) or not raw:
            raise ValueError(f"{path}: expected a mapping of config keys to distributions")
        return cls(path, {key: _distribution(path, key, spec) for key, spec in raw.items()})

    def check(self, config: Namespace) -> None:
        """Every key must name a setting of ``config`` (the resolved training config).

        Raises:
            ValueError: naming the first unknown key.
        """
        for key in self.distributions:
            if not has_config_key(config, key):
                hint = " (is the callback configured, e.g. FDR=on?)" if key.startswith(CALLBACK_ARGS) else ""
                raise ValueError(f"{self.source}: key {key!r} is not a setting of the resolved config{hint}")

    def suggest(self, trial: optuna.Trial) -> dict[str, object]:
        """Sample every key for ``trial`` (names are the config keys)."""
        return {key: _suggest(trial, key, dist) for key, dist in self.distributions.items()}


def _suggest(trial: optuna.Trial, key: str, dist: optuna.distributions.BaseDistribution) -> object:
    if isinstance(dist, optuna.distributions.FloatDistribution):
        return trial.suggest_float(key, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, optuna.distributions.IntDistribution):
        return trial.suggest_int(key, dist.low, dist.high, log=dist.log, step=dist.step)
    return trial.suggest_categorical(key, dist.choices)


def _distribution(path: Path, key: str, spec: object) -> optuna.distributions.BaseDistribution:
    where = f"{path}: {key}"
    if not isinstance(spec, dict) or spec.get("type") not in _REQUIRED:
        raise ValueError(f"{where}: expected {{type: float|int|categorical, ...}}, got {spec!r}")
    kind = spec["type"]
    args = {k: v for k, v in spec.items() if k != "type"}
    unknown = set(args) - _ALLOWED[kind]
    missing = [k for k in _REQUIRED[kind] if k not in args]
    if unknown or missing:
        raise ValueError(f"{where}: {kind} takes {sorted(_ALLOWED[kind])}; unknown {sorted(unknown)}, "
                         f"missing {missing}")
    try:
        if kind == "float":
            return optuna.distributions.FloatDistribution(float(args["low"]), float(args["high"]),
                                                          log=bool(args.get("log", False)), step=args.get("step"))
        if kind == "int":
            return optuna.distributions.IntDistribution(int(args["low"]), int(args["high"]),
                                                        log=bool(args.get("log", False)), step=int(args.get("step", 1)))
        choices = args["choices"]
        if not isinstance(choices, list) or not choices:
            raise ValueError("choices must be a non-empty list")
        return optuna.distributions.CategoricalDistribution(choices)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: {err}") from err
