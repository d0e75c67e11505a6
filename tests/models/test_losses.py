"""The objective: CE + λ·metric (pml) + μ·RegularFace, as configured by experiments/losses/*.yaml."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from jsonargparse import ArgumentParser
from pytorch_metric_learning import distances, losses, miners, regularizers

from sfxrep.models.losses import Objective
from sfxrep.training.lightning_cli import SfxLightningCLI
from tests.helpers import REPO, tiny_fit_args, write_tiny_libraries

LOSSES = ("ce", "contrastive", "triplet", "circle")


def objective_from_yaml(name: str) -> Objective:
    """Build the Objective exactly as LightningCLI does from experiments/losses/<name>.yaml."""
    parser = ArgumentParser()
    parser.add_argument("--model.objective", type=Objective | None)
    cfg = parser.parse_path(str(REPO / "experiments" / "losses" / f"{name}.yaml"))
    return parser.instantiate_classes(cfg).model.objective


def test_yaml_configs_compose_cosine_pml_parts():
    assert objective_from_yaml("ce").name == "ce"
    contrastive = objective_from_yaml("contrastive")
    assert isinstance(contrastive.metric, losses.ContrastiveLoss)
    assert isinstance(contrastive.metric.distance, distances.CosineSimilarity)
    assert (contrastive.metric.pos_margin, contrastive.metric.neg_margin) == (1.0, 0.0)
    triplet = objective_from_yaml("triplet")
    assert isinstance(triplet.miner, miners.TripletMarginMiner) and triplet.miner.type_of_triplets == "semihard"
    assert isinstance(triplet.regularizer, regularizers.RegularFaceRegularizer)
    assert objective_from_yaml("circle").name == "circle"


def test_cosine_contrastive_value_by_hand():
    # every similarity is chosen well away from the margins, where pml's reducer counts a term as non-zero or not
    # (a cosine of exactly 0 comes out as ±1e-8 in some CPU kernels)
    emb = torch.tensor([[1.0, 0.0], [0.8, 0.6], [-0.8, 0.6], [0.28, 0.96]])
    labels = torch.tensor([0, 0, 1, 1])
    metric_only = Objective(metric=objective_from_yaml("contrastive").metric)  # no miner: all pairs
    terms = metric_only(torch.zeros(4, 2), labels, emb, torch.zeros(2, 3))
    # positives: sim(0,1) = 0.8, sim(2,3) = 0.352 → relu(1 − s) = 0.2, 0.648
    # negatives: sim(0,2) = −0.8, sim(0,3) = 0.28, sim(1,2) = −0.28, sim(1,3) = 0.8 → relu(s − 0) = 0, 0.28, 0, 0.8
    # pml averages each side over its non-zero terms: (0.2 + 0.648) / 2 + (0.28 + 0.8) / 2
    assert terms["metric"].item() == pytest.approx(0.424 + 0.54, abs=1e-5)


@pytest.mark.parametrize("name", LOSSES[1:])
def test_terms_equal_pml_and_cross_entropy_on_hand_made_embeddings(name):
    torch.manual_seed(0)
    objective = objective_from_yaml(name)
    emb, labels = torch.randn(32, 16), torch.arange(8).repeat(4)
    logits, weights = torch.randn(32, 8), torch.randn(8, 4)
    terms = objective(logits, labels, emb, weights)
    assert terms["ce"].item() == pytest.approx(F.cross_entropy(logits, labels).item())
    expected_metric = objective.metric(emb, labels, objective.miner(emb, labels))
    assert terms["metric"].item() == pytest.approx(expected_metric.item(), rel=1e-6)
    assert terms["regularizer"].item() == pytest.approx(regularizers.RegularFaceRegularizer()(weights).item())
    total = terms["ce"] + objective.metric_weight * terms["metric"] + objective.regularizer_weight * terms["regularizer"]
    assert terms["loss"].item() == pytest.approx(total.item(), rel=1e-6)


@pytest.mark.parametrize("name", LOSSES)
def test_each_loss_goes_down_on_a_separable_toy_problem(name):
    torch.manual_seed(0)
    objective = objective_from_yaml(name)
    centres = torch.randn(6, 10) * 2
    labels = torch.arange(6).repeat_interleave(8)
    x = centres[labels] + 0.5 * torch.randn(48, 10)
    net = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.ReLU(), torch.nn.Linear(32, 16))
    head = torch.nn.Linear(16, 6)
    opt = torch.optim.Adam([*net.parameters(), *head.parameters()], lr=1e-2)
    history = []
    for _ in range(60):
        emb = net(x)
        terms = objective(head(emb), labels, emb, head.weight)
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        history.append({k: v.item() for k, v in terms.items()})
    key = "ce" if name == "ce" else "metric"
    assert history[-1][key] < 0.5 * history[0][key]
    assert history[-1]["loss"] < history[0]["loss"]


def test_regularface_has_a_gradient_on_the_head_weights():
    objective = objective_from_yaml("triplet")
    weights = torch.randn(5, 8, requires_grad=True)
    terms = objective(torch.randn(10, 5), torch.arange(5).repeat(2), torch.randn(10, 8), weights)
    terms["regularizer"].backward()
    assert weights.grad is not None and weights.grad.abs().sum() > 0


@pytest.fixture(scope="module")
def shared_tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("combos")
    write_tiny_libraries(root)
    return root


@pytest.mark.parametrize(("loss", "mixing", "bn"),
                         list(itertools.product(LOSSES, ("sequential", "joint", "round_robin"), ("shared", "per_library"))))
def test_every_loss_mixing_and_bn_runs_a_step(shared_tiny, tmp_path, loss, mixing, bn):
    args = tiny_fit_args(shared_tiny / "libraries.yaml", tmp_path,
                         "--config", str(REPO / "experiments" / "losses" / f"{loss}.yaml"),
                         "--data.mixing", mixing, "--model.encoder.init_args.bn", bn,
                         "--data.work_dir", str(shared_tiny / "prepared"), "--data.cache_dir", str(shared_tiny / "cache"),
                         "--trainer.fast_dev_run", "1")
    cli = SfxLightningCLI(args=args, run=False)
    calls = []
    forward = cli.model.objective.forward

    def spy(logits, labels, embeddings, class_weights):
        calls.append((class_weights.shape[0], labels.shape[0], embeddings.shape[0]))
        return forward(logits, labels, embeddings, class_weights)

    cli.model.objective.forward = spy
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    train_calls = calls[: 2 if mixing == "round_robin" else 1]
    assert all(n_labels == n_emb == 64 for _, n_labels, n_emb in train_calls)  # one library's batch per call
    if mixing == "round_robin":
        assert sorted(c for c, _, _ in train_calls) == [3, 18]  # each library through its own head
    logged = cli.trainer.callback_metrics
    lib = "lib_a" if mixing != "joint" else next(k.split("/")[1] for k in logged if k.endswith("/ce"))
    assert torch.isfinite(logged[f"train/{lib}/loss"])
    if loss != "ce":
        assert f"train/{lib}/metric" in logged and f"train/{lib}/regularizer" in logged


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_trains_under_bf16_autocast(shared_tiny, tmp_path, loss):
    # pml fills similarity matrices with -inf of the input dtype; under autocast that overflowed bfloat16
    args = tiny_fit_args(shared_tiny / "libraries.yaml", tmp_path,
                         "--config", str(REPO / "experiments" / "losses" / f"{loss}.yaml"),
                         "--trainer.precision", "bf16-mixed", "--model.channels_last", "true",
                         "--data.work_dir", str(shared_tiny / "prepared"), "--data.cache_dir", str(shared_tiny / "cache"),
                         "--trainer.fast_dev_run", "2")
    cli = SfxLightningCLI(args=args, run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    metrics = cli.trainer.callback_metrics
    assert cli.trainer.precision == "bf16-mixed" and torch.isfinite(metrics["train/lib_a/loss"])
    if loss != "ce":
        assert torch.isfinite(metrics["train/lib_a/metric"]) and torch.isfinite(metrics["train/lib_a/regularizer"])
