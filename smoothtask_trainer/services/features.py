"""`features`: many snapshot logs -> one Parquet feature dataset, built on a Dask cluster (docs/scale.md).

The unit of work is a source file (`features_shard.build_shard`): a worker ingests it into a private store with
`collect` and builds its rows with `build_dataset`, so the rows are the ones the single-machine path makes. The
cluster is a local one (worker processes on this machine) or an existing one (``scheduler``). This process is the
only writer of the manifest: it records each shard as its task completes, so an interrupted run keeps what was
done, and the next run skips sources whose sha256 is unchanged and rebuilds the ones that changed. A worker that
dies mid-task (killed, out of memory) is replaced and its task rerun by Dask; a source that fails is reported with
its reason while the others complete.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from smoothtask_trainer.errors import ClusterError, ConfigError, Interrupted, opt
from smoothtask_trainer.files import refuse_same_files
from smoothtask_trainer.schemas.features import FeaturesResult, SourceReport
from smoothtask_trainer.services import features_manifest as mf
from smoothtask_trainer.services.features_shard import ROW_SETTINGS, SHARD_FORMAT, build_shard, digest
from smoothtask_trainer.settings import CollectSettings, DatasetSettings, FeaturesSettings

#: Called with each source's report as its task completes, and the number of sources.
SourceFn = Callable[[SourceReport, int], None]
#: How often Dask reruns a task whose worker died before it gives up on the source.
ALLOWED_FAILURES = 3
#: Seconds to wait for an existing scheduler to answer.
CONNECT_TIMEOUT_S = 15
#: Dask settings of the local cluster's workers. A task is one long CPU-bound call: the statistical profiler (a
#: thread sampling the task's stack every 10 ms, shown only on the dashboard, which is off) only takes CPU from it;
#: glibc keeps its own trim threshold (Dask sets 64 KiB, which returns freed memory to the system after every large
#: free and faults it in again: about 7 % of a task's time), the thread-pool variables stay Dask's.
LOCAL_WORKER_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.nanny.pre-spawn-environ": {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1},
}


def build_features(
    sources: Sequence[str | Path],
    out: str | Path,
    settings: FeaturesSettings | None = None,
    dataset: DatasetSettings | None = None,
    collect: CollectSettings | None = None,
    on_source: SourceFn | None = None,
) -> FeaturesResult:
    """Build or update the feature dataset `out` from `sources` on a Dask cluster.

    Args:
        sources: Snapshot logs (files, directories, globs), every kind `collect` reads except stdin.
        out: The dataset directory (created; an existing dataset is updated).
        settings: `[features]`: local workers, or an existing scheduler; how hosts are named.
        dataset: `[dataset]`: the label mode and its parameters (the window and sample apply when reading).
        collect: `[collect]`: bad-record tolerance per source.
        on_source: Progress: called as each source completes.

    Returns:
        Per-source reports; `ok` is False when a source failed (the others are in the dataset).

    Raises:
        ConfigError: No input, stdin, or both local workers and a scheduler.
        InputNotFoundError / InputFormatError: A named source is missing or not a snapshot log.
        OutputPathError: `out` is a file, not a dataset, or an input.
        ClusterError: The scheduler cannot be reached or the local cluster cannot start.
        Interrupted: Ctrl-C; the sources completed so far are in the dataset.
    """
    from smoothtask_trainer.services.collect import detect_sources

    started = time.perf_counter()
    settings, dataset, collect = (
        settings or FeaturesSettings(),
        dataset or DatasetSettings(),
        collect or CollectSettings(),
    )
    if settings.workers is not None and settings.scheduler is not None:
        raise ConfigError(
            f"{opt('features.workers')} sizes a local cluster and {opt('features.scheduler')} names an existing one",
            hint="give one of them",
        )
    if settings.scheduler is not None and not settings.scheduler.startswith(("tcp://", "tls://")):
        raise ConfigError(
            f"{opt('features.scheduler')} {settings.scheduler}: not a Dask scheduler address",
            hint="give it as tcp://HOST:8786",
        )
    if not sources:
        raise ConfigError("no input given", hint="name one or more snapshot files or directories")
    files = detect_sources([str(s) for s in sources])
    if any(f.is_stdin for f in files):
        raise ConfigError("'-' (stdin) cannot be split across workers", hint="write the stream to a file first")
    out = Path(out)
    refuse_same_files([("snapshot log", f.path) for f in files], [("dataset", out)])
    files = _outside(files, sources, out)
    manifest = mf.read_manifest(out)
    row_settings = {"shard_format": SHARD_FORMAT, **{k: getattr(dataset, k) for k in ROW_SETTINGS}}
    if manifest.get("row_settings") != row_settings:  # built with other labels: every source is redone
        manifest = {"format": mf.DATASET_FORMAT, "row_settings": row_settings, "sources": {}}
    _check_hosts(files, settings.host_from)
    jobs = []
    for f in files:
        path = os.path.realpath(f.path)
        base = {
            "source": path,
            "kind": f.kind,
            "host": mf.host_of(path, settings.host_from),
            "out": str(out.resolve()),
            "dataset": {k: getattr(dataset, k) for k in ROW_SETTINGS},
            "collect": collect.model_dump(),
        }
        ranges = _ranges(f, path, settings.range_snapshots)
        for key in [k for k in manifest["sources"] if _of(k) == path and k not in {_key(path, r) for r in ranges}]:
            del manifest["sources"][key]  # an earlier plan of this source: its shards go with the next sweep
        sha = digest(Path(path), f.kind) if ranges[0] is not None else None
        for rng in ranges:
            entry = manifest["sources"].get(_key(path, rng))
            known = entry["sha256"] if entry and entry.get("status") == "built" and mf.complete(out, entry) else None
            jobs.append({**base, "known_sha": known, **({"range": list(rng), "sha256": sha} if rng else {})})
    reports: dict[str, SourceReport] = {}
    try:
        with _client(settings, len(jobs)) as (client, address):
            out.mkdir(parents=True, exist_ok=True)  # only once a cluster is there to fill it
            mf.sweep(out, mf.shard_files(manifest))
            workers = len(client.scheduler_info()["workers"])
            for report in _run(client, jobs):
                reports[_key(report.source, report.part)] = report
                _record(out, manifest, report)
                if on_source is not None:
                    on_source(report, len(jobs))
            for path, whole in _disagreeing(reports, jobs).items():  # ranges that cannot stand alone: one task
                for key in [k for k in reports if _of(k) == path]:
                    reports.pop(key)
                    manifest["sources"].pop(key, None)
                mf.write_manifest(out, manifest)
                mf.sweep(out, mf.shard_files(manifest))
                for report in _run(client, [whole]):
                    reports[_key(report.source, None)] = report
                    _record(out, manifest, report)
    except KeyboardInterrupt:
        if out.is_dir():
            mf.sweep(out, mf.shard_files(manifest))  # the local workers are stopped: no file is being written
        raise Interrupted(
            f"interrupted; {len(reports)} of {len(jobs)} source(s) completed and are recorded in {out}",
            hint="run the same command again: completed sources are skipped",
        ) from None
    mf.sweep(out, mf.shard_files(manifest))
    ordered, seen = [], set()
    for job in jobs:
        key = _key(job["source"], job.get("range"))
        key = job["source"] if key not in reports and job["source"] in reports else key  # built as one task
        if key not in seen:
            seen.add(key)
            ordered.append(reports.get(key) or _not_attempted(job))
    everything = mf.entries(manifest)
    return FeaturesResult(
        dataset=str(out),
        ok=all(r.status in ("built", "already-built") for r in ordered),
        scheduler=address,
        workers=workers,
        sources=ordered,
        rows=sum(e.rows for e in everything),
        snapshots=sum(s.snapshots for e in everything for s in e.shards),
        seconds=round(time.perf_counter() - started, 3),
    )


def _key(source: str, part: Any) -> str:
    """A source's manifest key: its path, and for a time range of a large database ``#rNNN``."""
    tag = part[2] if isinstance(part, list | tuple) else part
    return f"{source}#{tag}" if tag else source


def _of(key: str) -> str:
    """The source of a manifest key."""
    return re.sub(r"#r\d{3}$", "", key)


def _ranges(f: Any, path: str, per_range: int | None) -> list[Any]:
    """[None] (the file is one task), or the (lo, hi, tag) time ranges of a large daemon database."""
    import tempfile

    from smoothtask_trainer.ingest import reader as rd
    from smoothtask_trainer.services import features_range as fr

    if f.kind != rd.SQLITE or per_range is None:
        return [None]
    with tempfile.TemporaryDirectory(prefix="smoothtask-plan-") as tmp:
        planned = fr.plan(fr.snapshot_ids(Path(path), Path(tmp)), per_range)
    if len(planned) == 1:
        return [None]
    return [(lo, hi, f"r{i:03d}") for i, (lo, hi) in enumerate(planned)]


def _disagreeing(reports: dict[str, SourceReport], jobs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The ranged sources whose ranges saw different rule-teacher switches (the whole file decides them), each with
    the job that builds it as one task."""
    out = {}
    for job in jobs:
        if not job.get("range") or job["source"] in out:
            continue
        parts = [r for k, r in reports.items() if _of(k) == job["source"] and r.status == "built"]
        signals = {repr(sorted((r.stats.get("rule_signals") or {}).items())) for r in parts}
        if len(signals) > 1:
            out[job["source"]] = {k: v for k, v in job.items() if k not in ("range", "sha256")} | {"known_sha": None}
    return out


def _outside(files: list[Any], sources: Sequence[str | Path], out: Path) -> list[Any]:
    """The sources outside the dataset: a dataset inside a source directory is left out of that directory's files
    (so the same command runs again); a log named inside the dataset is refused."""
    real_out = Path(os.path.realpath(out))
    inside = [f for f in files if Path(os.path.realpath(f.path)).is_relative_to(real_out)]
    named = {os.path.realpath(s) for s in sources}
    explicit = [f.path for f in inside if os.path.realpath(f.path) in named]
    if explicit:
        raise ConfigError(f"snapshot log {explicit[0]} is inside the dataset {out}", hint="choose another directory")
    kept = [f for f in files if f not in inside]
    if not kept:
        raise ConfigError(f"no snapshot log outside the dataset {out}", hint="name the logs to build it from")
    return kept


def _check_hosts(files: list[Any], host_from: str) -> None:
    """Two machines must not become one host because their names differ only in characters a host name drops."""
    seen: dict[str, tuple[str, str]] = {}
    for f in files:
        raw, host = mf.raw_host_of(str(f.path), host_from), mf.host_of(str(f.path), host_from)
        other = seen.setdefault(host, (raw, str(f.path)))
        if other[0] != raw:
            raise ConfigError(
                f"{other[1]} and {f.path} would both be host {host} ({other[0]!r} and {raw!r} differ only in "
                "characters a host name cannot hold)",
                hint="rename one of them, or put each machine's logs in a directory of its own and use "
                f"{opt('features.host_from')} directory",
            )


def _run(client: Any, jobs: list[dict[str, Any]]) -> Iterator[SourceReport]:
    """Submit one task per source; yield each report as its task completes."""
    from dask.distributed import as_completed

    run = uuid.uuid4().hex[:8]
    futures = {
        client.submit(build_shard, job, key=f"features-{run}-{i}", pure=False, retries=0): job
        for i, job in enumerate(jobs)
    }
    try:
        for future in as_completed(futures):
            job = futures[future]
            try:
                raw = future.result()
            except Exception as exc:  # noqa: BLE001 - a task Dask gave up on (its worker died every time)
                raw = {**_base(job), "status": "failed", "error": _task_error(exc)}
            yield SourceReport.model_validate(raw)
    except KeyboardInterrupt:
        client.cancel(list(futures), force=True)
        raise


def _task_error(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "KilledWorker":
        return f"the worker running it died {ALLOWED_FAILURES + 1} times (out of memory? killed?)"
    return f"{name}: {exc}"


def _base(job: dict[str, Any]) -> dict[str, Any]:
    part = job["range"][2] if job.get("range") else None
    return {"source": job["source"], "kind": job["kind"], "host": job["host"], "part": part}


def _not_attempted(job: dict[str, Any]) -> SourceReport:
    return SourceReport.model_validate({**_base(job), "status": "not-attempted"})


def _record(out: Path, manifest: dict[str, Any], report: SourceReport) -> None:
    """Record a completed source in the manifest (atomically, at once: a later crash keeps it)."""
    if report.status == "already-built":
        return
    key = _key(report.source, report.part)
    old = manifest["sources"].pop(key, None)
    if report.status == "built":
        manifest["sources"][key] = report.model_dump(mode="json", exclude={"warnings"})
    mf.write_manifest(out, manifest)
    if old is not None:  # the shards of the source's previous bytes, unless the new ones have the same names
        mf.sweep(out, mf.shard_files(manifest))


@contextlib.contextmanager
def _client(settings: FeaturesSettings, n_jobs: int) -> Iterator[tuple[Any, str]]:
    """A Dask client on the scheduler `settings` names, or on a local cluster that is closed (its worker processes
    stopped) on the way out, whatever happens."""
    import dask
    from dask.distributed import Client

    config = {
        "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
        "distributed.admin.tick.limit": "60s",
        **(LOCAL_WORKER_CONFIG if settings.scheduler is None else {}),
    }
    with dask.config.set(config):
        if settings.scheduler is not None:
            try:
                _probe(settings.scheduler)
                client = Client(settings.scheduler, timeout=CONNECT_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - refused, timed out, or a server that speaks something else
                raise ClusterError(
                    f"cannot reach the Dask scheduler {settings.scheduler}: {exc}",
                    hint=f"start one with `dask scheduler` and workers with `dask worker ADDRESS`, or leave out "
                    f"{opt('features.scheduler')} to run on a local cluster",
                ) from None
            try:
                yield client, settings.scheduler
            finally:
                client.close()
            return
        try:
            cluster = _local_cluster(settings, n_jobs)
        except KeyboardInterrupt:
            _forget_unstarted()
            raise
        try:
            client = Client(cluster)
            try:
                yield client, cluster.scheduler_address
            finally:
                client.close()
        finally:
            with contextlib.suppress(Exception):
                cluster.close()


def _forget_unstarted() -> None:
    """A local cluster interrupted while it starts cannot be closed (a worker never left its first state), and Dask's
    exit hook would print a traceback trying. It is closed here as far as it goes, then dropped from the hook."""
    with contextlib.suppress(Exception):  # the hook's list is Dask's own: if it changes, only the noise comes back
        from distributed.deploy.spec import SpecCluster

        for cluster in list(SpecCluster._instances):
            with contextlib.suppress(Exception):
                cluster.close(timeout=10)
            SpecCluster._instances.discard(cluster)


def _probe(address: str) -> None:
    """Within CONNECT_TIMEOUT_S, is a Dask scheduler at `address`? One sends its handshake as soon as it accepts a
    connection: a length-prefixed message of a few hundred bytes. Another server sends nothing (a web server waits
    for a request) or something else (an SSH banner); Dask's own client would then wait or misread for ever."""
    import socket
    import struct

    if not address.startswith("tcp://"):
        return  # TLS: the handshake is encrypted; the client's own timeout applies
    host, _, port = address[len("tcp://") :].rpartition(":")
    with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S) as sock:
        sock.settimeout(CONNECT_TIMEOUT_S)
        head = b""
        while len(head) < 8:
            chunk = sock.recv(8 - len(head))
            if not chunk:
                raise ConnectionError("the server closed the connection without a Dask handshake")
            head += chunk
    (size,) = struct.unpack("<Q", head)  # the message's length; a handshake is a few hundred bytes
    if not 0 < size < 1 << 20:
        raise ConnectionError("the server does not speak Dask's protocol")


def _local_cluster(settings: FeaturesSettings, n_jobs: int) -> Any:
    from dask.distributed import LocalCluster

    workers = settings.workers or max(1, min(os.cpu_count() or 1, n_jobs))
    try:
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            scheduler_port=0,
            dashboard_address=None,
            memory_limit=f"{settings.worker_memory_mb}MB",
            silence_logs=logging.ERROR,
        )
    except (OSError, TimeoutError, RuntimeError) as exc:
        raise ClusterError(f"cannot start a local Dask cluster of {workers} workers: {exc}") from None
