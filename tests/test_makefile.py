"""The Makefile's recipes, as ``make -n`` prints them, parse as the sfxrep commands they claim to run."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest

from sfxrep.cli import parse
from tests.helpers import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")


def commands(target: str, *variables: str) -> list[list[str]]:
    """The sfxrep command lines ``make -n target`` would run (the install stamp taken as up to date)."""
    out = subprocess.run(["make", "-n", "-o", ".venv/.installed", target, *variables], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout.replace("\\\n", " ")
    return [shlex.split(line)[1:] for line in out.splitlines() if line.startswith(".venv/bin/sfxrep ")]


def test_model_v2_trains_seed_0_unless_told_and_continues_from_a_run_when_given_one():
    recipe = "experiments/release/v2/keep-top-free.yaml"
    (train,) = commands("model-v2", f"RECIPE={recipe}")
    ns = parse(train)
    assert (ns.command, ns.seed, ns.no_eval, ns.resume, ns.continue_from) == ("train", 0, True, True, None)
    assert ns.configs[-1] == recipe and ns.name == "v2-keep-top-free"

    (train,) = commands("model-v2", f"RECIPE={recipe}", "SEED=2", "FROM=runs/release-v2/earlier",
                        "ARGS=--trainer.max_steps 900")
    ns = parse(train)
    assert (ns.seed, ns.continue_from, ns.overrides) == (2, "runs/release-v2/earlier", ["--trainer.max_steps", "900"])
