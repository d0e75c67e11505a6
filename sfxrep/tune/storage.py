"""Where a study lives, and the lock that keeps its trial count exact across workers.

Storages:

* ``sqlite:///runs/tune/<study>.db`` — the default: an embedded file, nothing to set up;
* ``postgresql://user:pass@host/db`` — a GPU cluster (Optuna's RDB storage; the psycopg 3 driver is used);
* ``journal:/shared/fs/study.log`` (or any path ending in ``.log``) — a shared filesystem without a database.

RDB storages (sqlite, PostgreSQL) record a heartbeat for every running trial. A worker that dies (SIGKILL,
a preempted node) stops beating; after ``grace_period`` seconds the next worker marks its trial FAIL, and
``RetryHeartbeatStaleTrialCallback`` queues a copy with the same parameters. The journal storage has no heartbeats:
a dead worker's trial stays RUNNING there.

Exact trial count: a worker asks for a trial only under a per-study lock (a file lock beside an sqlite or
journal file, a PostgreSQL advisory lock), after counting the trials that are done or under way. Trials
superseded by a retry do not count.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import optuna
from optuna.trial import TrialState

COUNTED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)


def storage_url(storage: str | None, study: str, runs: str | Path = "runs") -> str:
    """The storage URL for a ``--storage`` value (``None``: an sqlite file under ``<runs>/tune/``)."""
    if not storage:
        path = (Path(runs) / "tune" / f"{study}.db").resolve()
        return f"sqlite:///{path}"
    if storage.startswith("postgresql://"):
        return "postgresql+psycopg://" + storage.removeprefix("postgresql://")
    if storage.startswith("postgres://"):
        return "postgresql+psycopg://" + storage.removeprefix("postgres://")
    if storage.startswith("journal:") or (storage.endswith(".log") and "://" not in storage):
        return "journal:" + str(Path(storage.removeprefix("journal:")).resolve())
    return storage


def redacted(url: str) -> str:
    """``url`` with its password hidden (for messages and logs)."""
    if url.startswith("journal:"):
        return url
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def open_storage(url: str, heartbeat_interval: int = 60, grace_period: int = 180,
                 max_retry: int = 3, attempts: int = 4) -> optuna.storages.BaseStorage:
    """Open (and create if needed) the storage at ``url``.

    Args:
        url: see :func:`storage_url`.
        heartbeat_interval: seconds between a running trial's heartbeats (RDB storages).
        grace_period: seconds without a heartbeat after which a trial counts as dead.
        max_retry: how often a dead worker's trial is re-run.
        attempts: tries to open it (workers started together race to create a new database's tables).

    Raises:
        ValueError: the storage cannot be opened or reached (one line, password hidden).
    """
    if url.startswith("journal:"):
        path = Path(url.removeprefix("journal:"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            backend = optuna.storages.journal.JournalFileBackend(str(path))
        except OSError as err:
            raise ValueError(f"cannot open the journal storage {path}: {err.strerror or err}") from err
        return optuna.storages.JournalStorage(backend)
    engine_kwargs: dict = {"pool_pre_ping": True}
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs["connect_args"] = {"timeout": 60}  # several local workers share one file
    elif url.startswith("postgresql"):
        engine_kwargs["connect_args"] = {"connect_timeout": 10}
    # workers started together race to create the tables of a new database: the loser tries again
    for attempt in range(attempts):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna 5.0; they are what we rely on
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_interval,
                    grace_period=grace_period,
                    heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=max_retry))
        except Exception as err:  # SQLAlchemy, the driver or a bad URL: one line either way
            if attempt + 1 < attempts and not isinstance(err, ImportError):
                time.sleep(0.5 * (attempt + 1))
                continue
            reason = (str(getattr(err, "orig", None) or err).strip().splitlines() or [type(err).__name__])[0]
            raise ValueError(f"cannot reach the study storage {redacted(url)}: {reason[:200]}") from err
    raise AssertionError("attempts must be >= 1")


class NoSuchStudy(ValueError):
    """The storage is there but holds no study of that name (yet: workers may still be creating it)."""


def load_study(url: str, study: str, heartbeat_interval: int = 60, grace_period: int = 180,
               max_retry: int = 3) -> optuna.Study:
    """Join the existing study ``study`` at ``url`` through :func:`open_storage` (which waits out workers that are
    creating a new database's tables; a plain ``optuna.load_study(url)`` fails then).

    Raises:
        ValueError: the storage cannot be reached.
        NoSuchStudy: it has no such study (naming the studies it has).
    """
    if url.startswith(("sqlite:///", "journal:")):  # joining never creates a storage
        path = Path(url.removeprefix("sqlite:///").removeprefix("journal:"))
        if not path.is_file():
            raise NoSuchStudy(f"no study {study!r}: there is no study storage at {path}")
    storage = open_storage(url, heartbeat_interval, grace_period, max_retry)
    try:
        return optuna.load_study(study_name=study, storage=storage)
    except KeyError as err:
        known = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        raise NoSuchStudy(f"no study {study!r} in {redacted(url)} (studies there: {known})") from err


@contextlib.contextmanager
def study_lock(url: str, storage: optuna.storages.BaseStorage, study: str) -> Iterator[None]:
    """Hold the per-study lock that serialises asking for trials (see module doc)."""
    if url.startswith(("sqlite:///", "journal:")):
        from filelock import FileLock

        path = url.removeprefix("sqlite:///").removeprefix("journal:")
        with FileLock(f"{path}.{study}.lock", timeout=600):
            yield
        return
    if url.startswith("postgresql"):
        from sqlalchemy import text

        key = int.from_bytes(hashlib.sha1(f"sfxrep-tune:{study}".encode()).digest()[:8], "big", signed=True)
        with storage.engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        return
    yield  # an in-process storage: one process, nothing to coordinate


def count_trials(study: optuna.Study) -> tuple[int, int, int]:
    """(trials that count against the budget, of those WAITING, of those RUNNING).

    Counted: COMPLETE, PRUNED, RUNNING, WAITING, and FAIL unless a retry of it exists (a dead worker's trial
    is replaced by its retry; a trial that raised, or ran out of retries, counts).
    """
    trials = study.get_trials(deepcopy=False)
    superseded = {n for t in trials for n in t.system_attrs.get("retry_history", ())}
    counted = sum(t.state in COUNTED or (t.state == TrialState.FAIL and t.number not in superseded) for t in trials)
    waiting = sum(t.state == TrialState.WAITING for t in trials)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    return counted, waiting, running
