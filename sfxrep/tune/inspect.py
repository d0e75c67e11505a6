"""After a search: the trials table, the parameter importances, and the best settings as a config overlay."""

from __future__ import annotations

from pathlib import Path

import optuna
import yaml

from sfxrep.records import format_table
from sfxrep.training.plan import CALLBACK_ARGS, FDR_CLASS, put_dotted


def trials_table(study: optuna.Study) -> str:
    """number, state, value, duration, params (and the error of a failed trial), one row per trial."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        duration = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete and \
            t.datetime_start else None
        retried = t.system_attrs.get("retry_history")
        rows.append({
            "number": t.number, "state": t.state.name, "value": t.value,
            "duration_s": None if duration is None else f"{duration:.0f}",
            "params": " ".join(f"{k.rsplit('.', 1)[-1]}={_short(v)}" for k, v in t.params.items()),
            "note": t.user_attrs.get("error", "") + (f"retry of {retried}" if retried else ""),
        })
    return format_table(rows, ["number", "state", "value", "duration_s", "params", "note"])


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def importances(study: optuna.Study) -> dict[str, float]:
    """Optuna's parameter importances (fANOVA) over the complete trials.

    Raises:
        ValueError: too few complete trials, or parameters that never varied.
    """
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2:
        raise ValueError(f"importances need at least 2 complete trials, the study has {len(complete)}")
    return optuna.importance.get_param_importances(study)


def best_overlay(study: optuna.Study) -> dict:
    """The best trial's settings as a LightningCLI overlay (nested YAML mapping).

    A ``trainer.callbacks.init_args.<arg>`` key becomes an FDR callback entry carrying the study's FDR
    threshold, so ``sfxrep train -c best.yaml`` trains with it.

    Raises:
        ValueError: the study has no complete trial.
    """
    try:
        best = study.best_trial
    except ValueError as err:
        raise ValueError(f"study {study.study_name!r} has no complete trial yet") from err
    overlay: dict = {}
    callback_args = {}
    for key, value in best.params.items():
        if key.startswith(CALLBACK_ARGS):
            callback_args[key.removeprefix(CALLBACK_ARGS)] = value
            continue
        put_dotted(overlay, key, value)
    if callback_args:
        threshold = study.user_attrs.get("train_options", {}).get("fdr_threshold")
        init = {**({"threshold": threshold} if threshold is not None else {}), **callback_args}
        overlay.setdefault("trainer", {})["callbacks"] = [{"class_path": FDR_CLASS, "init_args": init}]
    return overlay


def write_best(study: optuna.Study, out: str | Path) -> Path:
    """Write :func:`best_overlay` to ``out`` with a header naming the study, the trial and its value."""
    best = study.best_trial
    options = study.user_attrs.get("train_options", {})
    header = [f"# best trial of study {study.study_name!r}: #{best.number}, "
              f"{study.user_attrs.get('objective', 'value')} = {best.value:.6g}",
              f"# trained with: {', '.join(f'{k}={v}' for k, v in options.items() if v is not None) or 'defaults'}",
              "# use: sfxrep train -c <your configs> -c THIS_FILE   (or make train CONFIG='... THIS_FILE')"]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(header) + "\n" + yaml.safe_dump(best_overlay(study), sort_keys=False))
    return out
