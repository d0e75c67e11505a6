"""A vendor's library on a cluster: one ``sfxrep index --shard i/n`` per SLURM array task, then one merge.

    sfxrep index /mnt/sfx --out sfx.index --shards 32 --cluster slurm --partition cpu   # submits, waits, merges
    # or by hand, e.g. from an sbatch array (--array=0-31):
    sfxrep index /mnt/sfx --out sfx.index.shards/$SLURM_ARRAY_TASK_ID --shard $SLURM_ARRAY_TASK_ID/32
    sfxrep index merge --out sfx.index sfx.index.shards/*

Every task scans the same sources and embeds its own contiguous run of the files in path order
(:func:`sfxrep.index.build.shard_of`) into its own index folder; a task that dies resumes from its parts when it
runs again. The merge streams the shards one after the other into one index whose rows, in order, are those a
one-machine build gives.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ShardJob:
    """What one array task builds (picklable: submitit sends it to the task)."""

    out: str
    roots: tuple[str, ...]
    model: str | None
    libraries: str | None
    library_names: tuple[str, ...] | None
    precision: str | None
    work_dir: str
    cache_dir: str

    def __call__(self, shard: int, shards: int) -> str:
        from sfxrep.index.build import BuildOptions, build

        folder = shard_folder(self.out, shard)
        build(folder, self.roots, self.model, libraries=self.libraries, library_names=self.library_names,
              options=BuildOptions(work_dir=self.work_dir, cache_dir=self.cache_dir, progress=False,
                                   precision=self.precision, shard=(shard, shards)))
        return str(folder)


def shard_folder(out: str | Path, shard: int) -> Path:
    """Where shard ``shard`` of the index ``out`` is built: ``<out>.shards/<shard>``."""
    out = Path(out)
    return out.parent / f"{out.name}.shards" / f"{shard:04d}"


def executor(cluster: str, folder: Path, shards: int, partition: str | None = None, cpus: int = 8,
             time_min: int = 12 * 60):
    """A submitit executor for an array of ``shards`` tasks (``cluster``: ``slurm``, or ``local`` to run them as
    processes here)."""
    import submitit

    ex = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
    ex.update_parameters(name="sfxrep-index", timeout_min=time_min, nodes=1, tasks_per_node=1, cpus_per_task=cpus,
                         slurm_partition=partition, slurm_array_parallelism=shards)
    return ex


def local_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def build_on_cluster(job: ShardJob, shards: int, cluster: str = "slurm", partition: str | None = None, cpus: int = 8,
                     time_min: int = 12 * 60, log=print) -> dict:
    """Submit ``shards`` array tasks, wait for them, and merge their indexes into ``job.out``.

    Raises:
        RuntimeError: a task failed (its error, from submitit, is in the message); the finished shards stay, and
            running the same command again rebuilds only what is missing.
    """
    from sfxrep.index.build import merge

    logs = Path(job.out).parent / f"{Path(job.out).name}.shards" / "submitit"
    ex = executor(cluster, logs, shards, partition, cpus, time_min)
    # SLURM runs the array at the partition's pace; here every task is a process on this machine, so at most one per
    # core runs at a time (100 shards on 2 cores would otherwise start 100 processes at once)
    wave = shards if cluster != "local" else max(1, local_cores())
    folders, errors = [], []
    for first in range(0, shards, wave):
        ids = list(range(first, min(shards, first + wave)))
        jobs = ex.map_array(job, ids, [shards] * len(ids))
        log(f"sfxrep index: shard tasks {ids[0]}–{ids[-1]} of {shards} submitted ({cluster}; logs in {logs})")
        for i, task in zip(ids, jobs, strict=True):
            try:
                folders.append(task.result())
            except Exception as err:  # submitit re-raises the task's failure
                errors.append(f"shard {i}/{shards}: {err}")
    if errors:
        raise RuntimeError("; ".join(errors))
    return merge(job.out, folders)


def merge_command(out: str, shards: Sequence[str]) -> None:
    """``sfxrep index merge --out OUT SHARD...``."""
    from sfxrep.index.build import merge

    meta = merge(out, shards)
    print(f"{out}: {meta['files']} files from {len(shards)} shards ({meta['failures']} could not be decoded)")
