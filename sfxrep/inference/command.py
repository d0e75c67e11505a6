"""``sfxrep embed MODEL FILES_OR_FOLDERS --out emb.npz``: file-level embeddings of sound files and folders."""

from __future__ import annotations

import argparse

from sfxrep.inference.options import add_model, add_precision


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``embed`` to the ``sfxrep`` parser."""
    m = sub.add_parser("embed", help="file-level embeddings of sound files and folders (for indexing)")
    add_model(m)
    m.add_argument("paths", nargs="+", help="files and folders (searched recursively)")
    m.add_argument("--out", default="embeddings.npz", help="npz with paths, embeddings (n, D), skipped")
    m.add_argument("--library", help="BatchNorm set of a per-library-BN model")
    m.add_argument("--tail", action=argparse.BooleanOptionalAction, default=False,
                   help="embed each file's zero-padded last partial block (default: no, as aiSFX)")
    m.add_argument("--compile", action="store_true",
                   help="torch.compile the encoder (see sfxrep.inference.embedding)")
    add_precision(m, "recorded in the npz")
    m.set_defaults(func=embed_command)


def embed_command(ns: argparse.Namespace) -> None:
    import numpy as np

    from sfxrep.fileio import check_writable
    from sfxrep.inference.embedding import embed_paths
    from sfxrep.inference.precision import resolve_precision
    from sfxrep.inference.registry import load_model

    out = check_writable(ns.out if str(ns.out).endswith(".npz") else f"{ns.out}.npz")  # numpy adds .npz
    model = load_model(ns.model)
    precision = resolve_precision(ns.precision, model)
    files, embeddings, skipped = embed_paths(ns.paths, model, ns.library, ns.tail, ns.compile, precision)
    for path, reason in skipped:
        print(f"skipped {path}: {reason}")
    if not files:
        raise ValueError(f"no file could be embedded ({len(skipped)} skipped, reasons above); nothing written")
    broken = ~np.isfinite(embeddings).all(axis=1)
    if broken.any():  # as index does: a NaN vector finds nothing and poisons every distance computed with it
        raise ValueError(f"{files[int(np.argmax(broken))]}: the model {ns.model} gives non-finite embeddings (NaN "
                         f"or inf) for {int(broken.sum())} of {len(files)} files; are its weights broken? Nothing "
                         "written")
    np.savez(out, paths=np.array(files), embeddings=embeddings, skipped=np.array([f"{p}: {r}" for p, r in skipped]),
             precision=np.array(precision))
    print(f"{len(files)} files embedded ({embeddings.shape[1]}-d, encoder in {precision}), {len(skipped)} skipped → {out}")
