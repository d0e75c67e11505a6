"""Read an offline W&B run back from its own ``run-<id>.wandb`` file (tests only).

wandb ≥ 0.20 writes offline runs with its Go core and has no Python reader any more. The file is a LevelDB-style
log: a 7-byte header (``:W&B``, magic, version), then 32 KiB blocks of chunks — 4-byte CRC, 2-byte length, 1-byte
type (1 full, 2 first, 3 middle, 4 last) — whose payloads are ``wandb_internal_pb2.Record`` protobufs.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from wandb.proto import wandb_internal_pb2

BLOCK = 32 * 1024


def records(path: str | Path) -> list:
    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", f"{path}: not a W&B run file"
    out, pending, pos = [], b"", 7
    while pos + 7 <= len(data):
        left = BLOCK - pos % BLOCK
        if left < 7:  # the block's tail is padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind == 0 and length == 0:
            pos += BLOCK - pos % BLOCK if pos % BLOCK else 0
            continue
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            out.append(record)
    return out


def read_run(path: str | Path) -> dict:
    """``{"config": {...}, "history_keys": set, "summary": {...}}`` of an offline run file."""
    config, history, summary = {}, set(), {}
    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind in ("config", "run"):  # the run record holds the config given to wandb.init
            for item in (record.config if kind == "config" else record.run.config).update:
                key = item.key or "/".join(item.nested_key)
                config[key] = json.loads(item.value_json)
        elif kind == "history":
            history |= {item.key or "/".join(item.nested_key) for item in record.history.item}
        elif kind == "summary":
            for item in record.summary.update:
                summary[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    return {"config": config, "history_keys": history, "summary": summary}
