"""``sfxrep train`` (a scenario: paper §5.2) and ``sfxrep fit|validate|test`` (LightningCLI as it is)."""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from sfxrep.training.plan import TrainPlan, add_plan_options


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``train``, ``fit``, ``validate`` and ``test`` to the ``sfxrep`` parser."""
    t = sub.add_parser("train", help="train and evaluate a scenario (paper 5.2)")
    add_plan_options(t, "train")
    t.add_argument("--plan", help="a TrainPlan as JSON (what a tuning trial on several devices runs); "
                                  "the options above are then ignored")
    t.set_defaults(func=train_command)
    for name in ("fit", "validate", "test"):  # every argument goes to LightningCLI, unparsed here
        lightning = sub.add_parser(name, add_help=False, help=f"LightningCLI {name} -c CONFIG [...]")
        lightning.set_defaults(func=lightning_command, passthrough=True)


def train_plan(ns: argparse.Namespace) -> TrainPlan:
    """The :class:`~sfxrep.training.plan.TrainPlan` of ``sfxrep train`` / ``tune`` options (or of ``--plan``)."""
    if getattr(ns, "plan", None):
        return TrainPlan.from_json(Path(ns.plan).read_text())
    plan = TrainPlan.from_options(vars(ns))
    plan.overrides = ns.overrides
    return plan


def train_command(ns: argparse.Namespace) -> None:
    from sfxrep.training.scenarios import run_plan

    plan = train_plan(ns)
    rows = run_plan(plan)
    if rows:
        print(f"results appended to {plan.results}")


def lightning_command(ns: argparse.Namespace) -> None:
    """``sfxrep fit|validate|test ARGS``: LightningCLI with ``ARGS`` (a broken ``-c`` file is named first)."""
    from sfxrep.fileio import check_yaml_mapping
    from sfxrep.training.lightning_cli import SfxLightningCLI

    args = [ns.command, *ns.passthrough_args]
    for flag, value in itertools.pairwise(args):  # name a broken config file (jsonargparse does not)
        if flag in ("-c", "--config"):
            check_yaml_mapping(value)
    SfxLightningCLI(args=args)
