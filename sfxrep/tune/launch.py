"""Starting workers: N local processes, or N SLURM jobs through submitit — each one worker of the same study.

Workers coordinate only through the study's storage, so they can also be started by hand on any machines
(``sfxrep tune … --workers 1`` each) or by a plain ``sbatch`` array (``experiments/slurm/tune_array.sbatch``).
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path

from sfxrep.tune.worker import TuneSpec, run_worker


def _local_worker(spec: TuneSpec, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    run_worker(spec)


def launch_local(spec: TuneSpec, workers: int = 1) -> list[int]:
    """Run ``workers`` worker processes here and wait for them; CPU threads are split among them.

    Returns:
        each worker process's exit code (0 = done); with one worker it runs in this process.
    """
    if workers <= 1:
        run_worker(spec)
        return [0]
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter each: no forked torch or DB state
    processes = [context.Process(target=_local_worker, args=(spec, threads), name=f"tune-worker-{i}")
                 for i in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return [process.exitcode for process in processes]


@dataclass(frozen=True)
class SlurmOptions:
    """The SLURM resources of one worker job.

    Attributes:
        partition: SLURM partition.
        gpus_per_worker: GPUs of each job; a trial uses them all (Lightning DDP with ``--trainer.devices N``).
        cpus_per_worker: CPU cores of each job (data loading, decoding).
        time_min: wall-clock limit of each job in minutes.
        folder: where submitit writes job scripts, logs and results.
    """

    partition: str | None = None
    gpus_per_worker: int = 1
    cpus_per_worker: int = 8
    time_min: int = 24 * 60
    folder: str = "runs/tune/slurm"


def slurm_executor(spec: TuneSpec, workers: int, options: SlurmOptions, cluster: str = "slurm"):
    """A submitit executor for ``workers`` worker jobs (``cluster='local'`` or ``'debug'`` runs them here)."""
    import submitit

    executor = submitit.AutoExecutor(folder=str(Path(options.folder) / spec.study), cluster=cluster)
    executor.update_parameters(name=f"sfxrep-tune-{spec.study}", timeout_min=options.time_min, nodes=1,
                               tasks_per_node=1, cpus_per_task=options.cpus_per_worker,
                               gpus_per_node=options.gpus_per_worker if cluster == "slurm" else 0,
                               slurm_partition=options.partition, slurm_array_parallelism=workers)
    return executor


def launch_slurm(spec: TuneSpec, workers: int, options: SlurmOptions, cluster: str = "slurm") -> list:
    """Submit ``workers`` jobs (a job array), each one worker of the study; returns the submitit jobs."""
    return slurm_executor(spec, workers, options, cluster).map_array(run_worker, [spec] * workers)
