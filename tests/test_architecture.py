"""The house's plan, checked: the import graph of ``sfxrep`` (every import, the lazy ones inside functions too)
has no cycle and no arrow from a lower layer up to a higher one, and every model meets the Embedder protocol."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest
import torch

from tests.helpers import REPO, needs_aisfx

PACKAGE = REPO / "sfxrep"
# lowest first: a module may import its own layer and the ones before it (docs/architecture.md, audio in → results out)
LAYERS = {
    "audio in": ("sfxrep.paths", "sfxrep.fileio", "sfxrep.hardware", "sfxrep.allocator", "sfxrep.audio",
                 "sfxrep.records"),
    "libraries and data": ("sfxrep.libraries", "sfxrep.demo", "sfxrep.data"),
    "models": ("sfxrep.models",),
    "inference": ("sfxrep.inference",),
    "evaluation and indexing": ("sfxrep.evaluate", "sfxrep.index", "sfxrep.audit", "sfxrep.corpus"),
    "training": ("sfxrep.training",),
    "search and results": ("sfxrep.tune", "sfxrep.results"),
    "faces": ("sfxrep.api", "sfxrep.cli"),
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """module → the sfxrep modules it imports anywhere in its body."""
    modules = _modules()

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]) if node.level else ""
                module = ".".join(x for x in (base, node.module) if x)
                targets = [module, *(f"{module}.{a.name}" for a in node.names)]
            else:
                continue
            for target in targets:
                found = owner(target) if target.startswith("sfxrep") else None
                if found and found != name and not name.startswith(found + "."):  # a package's own __init__
                    graph[name].add(found)
    return graph


def layer(module: str) -> int:
    best = max(((len(p), i) for i, prefixes in enumerate(LAYERS.values()) for p in prefixes
                if module == p or module.startswith(p + ".")), default=None)
    if best is None:
        raise AssertionError(f"{module} belongs to no layer of tests/test_architecture.py")
    return best[1]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of modules with more than one member (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_cycle():
    assert cycles(import_graph()) == []


def test_no_module_imports_from_a_higher_layer():
    names = list(LAYERS)
    upward = [f"{a} ({names[layer(a)]}) → {b} ({names[layer(b)]})" for a, targets in import_graph().items()
              for b in targets if layer(b) > layer(a)]
    assert upward == []


def test_the_checks_catch_what_they_look_for():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer("sfxrep.records") < layer("sfxrep.models.module") < layer("sfxrep.inference.registry") < layer(
        "sfxrep.results.compare")
    with pytest.raises(AssertionError, match="no layer"):
        layer("sfxrep.somewhere_new")


def _tiny_module():
    from sfxrep.models.cnn9 import CNN9
    from sfxrep.models.module import SfxModule

    return SfxModule(CNN9(4), {"lib": 3}).eval()


@pytest.mark.parametrize("make", [lambda: _tiny_module(), lambda: __import__("sfxrep.inference.registry").inference.registry
                                  .load_model("logmel"),
                                  pytest.param(lambda: __import__("sfxrep.inference.registry").inference.registry
                                               .load_model("aisfx"), marks=needs_aisfx)],
                         ids=["checkpoint-module", "logmel", "aisfx"])
def test_every_model_meets_the_embedder_protocol(make):
    from sfxrep.inference.registry import Embedder

    model = make()
    assert isinstance(model, Embedder) and model.sample_rate == 44_100
    with torch.no_grad():
        out = model.embed(torch.randn(2, 101_376) * 0.1)
    assert out.shape == (2, model.scene_embedding_size) and model.timestamp_embedding_size == model.scene_embedding_size
