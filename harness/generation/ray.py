"""`harness eval --ray`: generation spread over a Ray cluster, with the driver as the store's only
writer.

The work is cut into units: one (stage, task) pair's missing samples, in shards of at most
`shard_size` requests. Each stage gets one Ray actor (`StageWorker`) holding that stage's
engine, so the model is loaded once and reused by all of the stage's units, which run on it
one after another; Ray places the actors by the resources each asks for (`num_gpus` when the
cluster has GPUs and the backend runs on one, CPUs otherwise) and starts the next stage's
actor when a finished one is released. Units are streaming generator calls: every finished
batch comes back to the driver, which appends it to the response store at once, so nothing
finished is lost when a worker dies and no file is shared between machines.

Failures: a unit whose worker died (killed, out of memory, node lost) or that raised an error
other than the harness's own is retried on a fresh actor, with only the samples the store still
lacks, up to `retries` times. A `HarnessError` (a broken checkpoint, an unreadable image) is a
fact about the input that a retry cannot change: the run stops with one line naming the unit,
keeping every record already stored. The store's keys make every unit idempotent.

Responses equal a single-process run's: a unit is the same request list the single process
would give the backend (for tasks under `shard_size` samples), so batches, and with them
padded-batching numerics, are the same; tests compare whole result bundles.
"""

from __future__ import annotations

import io
import os
import socket
import sys
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from tqdm.auto import tqdm

from harness.engine import Request, open_backend
from harness.errors import HarnessError
from tasks.base import GenerationContract

DEFAULT_SHARD_SIZE = 512
DEFAULT_RETRIES = 2
IN_FLIGHT = 2  # units queued on a stage actor at once: one running, the next one ready


@dataclass
class Unit:
    """A shard of one (stage, task) pair's missing samples."""

    stage: int
    task: str
    shard: int
    shards: int
    requests: list[Request]
    contract: GenerationContract
    failures: int = 0
    remaining: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        part = f" (shard {self.shard + 1}/{self.shards})" if self.shards > 1 else ""
        return f"stage {self.stage} × {self.task}{part}"


@dataclass
class PairWork:
    """What one (stage, task) pair still needs: `requests` to generate and `store_batch` to call
    with each finished batch of (request id, response)."""

    stage: int
    model_path: str
    task: str
    contract: GenerationContract
    requests: list[Request]
    store_batch: Callable[[list[tuple[str, str]]], None]


class EncodedImage:
    """An image shipped to a worker as its encoded file bytes (the dataset's own bytes, not a
    path the worker's machine may not have); `load` decodes it, as `prepare_images` expects."""

    def __init__(self, data: bytes):
        self.data = data

    def load(self) -> Any:
        from PIL import Image

        return Image.open(io.BytesIO(self.data))


def portable_images(images: list[Any]) -> list[Any]:
    """Images a worker on another machine can open: dataset cells and paths become their encoded
    bytes; in-memory PIL images travel as they are."""
    from pathlib import Path

    from PIL import Image

    out = []
    for img in images:
        if isinstance(img, Image.Image):
            out.append(img)
            continue
        raw = img.raw() if callable(getattr(img, "raw", None)) else img
        if isinstance(raw, dict) and raw.get("bytes") is not None:
            out.append(EncodedImage(raw["bytes"]))
            continue
        path = raw.get("path") if isinstance(raw, dict) else raw
        try:
            out.append(EncodedImage(Path(path).read_bytes()))
        except (OSError, TypeError) as e:
            raise HarnessError(f"cannot read image {path!r}: {e}") from None
    return out


class StageWorker:
    """One stage's engine inside a Ray actor (wrapped with `ray.remote` at run time)."""

    def __init__(self, backend: str, model_path: str, options: dict[str, Any], threads: int):
        import torch

        torch.set_num_threads(max(1, threads))
        self.backend, self.model_path, self.options = backend, model_path, options
        self.engine = None

    def pid(self) -> int:
        return os.getpid()

    def generate(self, requests: list[Request], contract: GenerationContract) -> Iterator[dict[str, Any]]:
        if self.engine is None:  # loaded by the first unit, so a broken checkpoint fails a unit, not the actor
            self.engine = open_backend(self.backend, self.model_path, **self.options)
        for batch in self.engine.generate(requests, contract):
            yield {"batch": [(req.id, text) for req, text in batch], "pid": os.getpid()}
        yield {"truncated": self.engine.pop_truncated(), "pid": os.getpid()}


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise HarnessError("--ray needs Ray: pip install -e '.[ray]' (or pip install 'ray[default]')") from None
    return ray


def check_address(address: str) -> None:
    """One-line error unless `address` is `auto` or names a HOST:PORT that accepts a connection
    within 5 s (Ray itself waits minutes on an address nobody listens at)."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise HarnessError(f"--ray {address!r}: expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as e:
        raise HarnessError(f"cannot reach a Ray cluster at {address}: {e.strerror or e}") from None


def connect(address: str | None) -> tuple[Any, bool]:
    """(ray, started_here). `address` None starts a local Ray instance on this machine; otherwise
    it is a cluster address (`HOST:PORT` of the head's GCS, `ray://HOST:PORT` for Ray Client,
    or `auto` for a cluster already running here), checked to answer before Ray is asked."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    if address is None:
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        return ray, True
    check_address(address)
    try:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise HarnessError(f"cannot connect to the Ray cluster at {address}: {str(e).splitlines()[0]}") from None
    return ray, False


def unit_resources(ray: Any, backend: str, options: dict[str, Any], cpus: float, gpus: float | None) -> dict[str, float]:
    """What one stage actor asks Ray for. GPUs: as given, else (when the cluster has any) the
    vLLM tensor-parallel size or one for hf; the openai backend needs none."""
    if gpus is None:
        has_gpus = ray.cluster_resources().get("GPU", 0) > 0
        gpus = 0.0 if backend == "openai" or not has_gpus else float(options.get("tp", 1) if backend == "vllm" else 1)
    return {"num_cpus": cpus, "num_gpus": gpus}


def make_units(work: list[PairWork], shard_size: int) -> list[Unit]:
    units = []
    for pair in work:
        shards = max(1, -(-len(pair.requests) // shard_size))
        for k in range(shards):
            reqs = pair.requests[k * shard_size : (k + 1) * shard_size]
            units.append(Unit(pair.stage, pair.task, k, shards, reqs, pair.contract, remaining={r.id for r in reqs}))
    return units


def generate_on_ray(
    work: list[PairWork],
    address: str | None,
    backend: str,
    backend_options: dict[str, Any],
    cpus_per_unit: float = 1.0,
    gpus_per_unit: float | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    retries: int = DEFAULT_RETRIES,
    progress: bool = True,
    on_batch: Callable[[Unit, int, int], None] | None = None,
) -> dict[str, Any]:
    """Generate every pair's requests on Ray; each finished batch goes to its pair's
    `store_batch` (in this process). `on_batch(unit, n, worker_pid)` is called after each stored
    batch. Returns statistics: units, retried, workers' resources, truncated ids per pair."""
    if shard_size < 1:
        raise HarnessError("--ray-shard-size must be at least 1")
    if retries < 0:
        raise HarnessError("--ray-retries must be at least 0")
    if not work:  # everything is stored: no cluster needed
        return {"units": 0, "retried": 0, "done": 0, "resources": None, "truncated": {}}
    ray, started = connect(address)
    try:
        return _drive(ray, work, backend, backend_options, cpus_per_unit, gpus_per_unit, shard_size, retries, progress, on_batch)
    finally:
        if started:
            ray.shutdown()


def _drive(ray, work, backend, options, cpus, gpus, shard_size, retries, progress, on_batch) -> dict[str, Any]:
    driver = _Driver(ray, work, backend, options, cpus, gpus, shard_size, retries, progress, on_batch)
    try:
        return driver.run()
    finally:
        driver.close()


class _Driver:
    """One stage worker (actor) per stage with queued units, IN_FLIGHT units queued on each;
    batches are stored as they stream back; a failed unit's worker is replaced and its units
    requeued with what they still lack."""

    def __init__(self, ray, work, backend, options, cpus, gpus, shard_size, retries, progress, on_batch):
        self.ray, self.backend, self.options, self.cpus, self.retries, self.on_batch = ray, backend, options, cpus, retries, on_batch
        resources = unit_resources(ray, backend, options, cpus, gpus)
        self.actor_class = ray.remote(StageWorker).options(**resources, max_restarts=0)
        self.pairs = {(p.stage, p.task): p for p in work}
        self.paths = {p.stage: p.model_path for p in work}
        self.units = make_units(work, shard_size)
        self.queues: dict[int, deque[Unit]] = {}
        for u in self.units:
            self.queues.setdefault(u.stage, deque()).append(u)
        self.actors: dict[int, Any] = {}
        self.active: dict[Any, Unit] = {}  # streaming generator -> its unit
        self.stats: dict[str, Any] = {"units": len(self.units), "done": 0, "retried": 0, "resources": resources, "truncated": {}}
        self.bar = tqdm(total=sum(len(u.requests) for u in self.units), desc="ray", unit="sample", disable=not progress)

    def run(self) -> dict[str, Any]:
        for stage in list(self.queues):
            self.submit(stage)
        self.postfix()
        while self.active:
            ready, _ = self.ray.wait(list(self.active), num_returns=1)
            gen = ready[0]
            unit = self.active[gen]
            try:
                item = self.ray.get(next(gen))
            except StopIteration:
                self.finished(gen, unit)
                continue
            except Exception as e:  # noqa: BLE001  (Ray wraps every failure; sorted out by _handle_failure)
                self.failed(e, unit)
                continue
            self.received(item, unit)
        return self.stats

    def submit(self, stage: int) -> None:
        """Start the stage's actor (if needed) and keep IN_FLIGHT of its units queued on it; a
        unit's images are read only now, so memory holds a few shards' images, not the run's."""
        if stage not in self.actors:
            self.actors[stage] = self.actor_class.remote(self.backend, self.paths[stage], self.options, max(1, int(self.cpus)))
        while self.queues[stage] and sum(u.stage == stage for u in self.active.values()) < IN_FLIGHT:
            unit = self.queues[stage].popleft()
            reqs = [Request(r.id, r.messages, portable_images(r.images), r.seed, r.prompt)
                    for r in unit.requests if r.id in unit.remaining]
            if reqs:
                self.active[self.actors[stage].generate.remote(reqs, unit.contract)] = unit
            else:
                self.stats["done"] += 1

    def finished(self, gen: Any, unit: Unit) -> None:
        del self.active[gen]
        if unit.remaining:
            raise HarnessError(f"unit {unit.name}: the worker ended with {len(unit.remaining)} samples unanswered")
        self.stats["done"] += 1
        self.submit(unit.stage)
        if not any(u.stage == unit.stage for u in self.active.values()):
            self.release(unit.stage)  # frees its CPUs/GPUs for the next stage's actor
        self.postfix()

    def failed(self, error: Exception, unit: Unit) -> None:
        _handle_failure(error, unit, self.retries)
        # The actor is gone or suspect: every unit queued on it goes back, with what it still lacks.
        stage = unit.stage
        for g, u in list(self.active.items()):
            if u.stage == stage:
                del self.active[g]
                self.queues[stage].appendleft(u)
        self.release(stage)
        self.stats["retried"] += 1
        self.submit(stage)
        self.postfix()

    def received(self, item: dict[str, Any], unit: Unit) -> None:
        if "batch" in item:
            batch = [(rid, text) for rid, text in item["batch"] if rid in unit.remaining]
            if batch:
                self.pairs[(unit.stage, unit.task)].store_batch(batch)
                unit.remaining.difference_update(rid for rid, _ in batch)
                self.bar.update(len(batch))
                if self.on_batch is not None:
                    self.on_batch(unit, len(batch), item["pid"])
        elif item.get("truncated"):
            self.stats["truncated"].setdefault(f"stage{unit.stage}/{unit.task}", []).extend(item["truncated"])

    def release(self, stage: int) -> None:
        actor = self.actors.pop(stage, None)
        if actor is not None:
            self.ray.kill(actor, no_restart=True)

    def postfix(self) -> None:
        running = len({u.stage for u in self.active.values()})
        self.bar.set_postfix_str(f"units {self.stats['done']}/{len(self.units)} done, {len(self.active)} queued on {running} "
                                 f"stage workers, {self.stats['retried']} retried")

    def close(self) -> None:
        self.bar.close()
        for stage in list(self.actors):
            self.release(stage)


def _handle_failure(error: Exception, unit: Unit, retries: int) -> None:
    """Raise the run's error for a failure a retry cannot fix, or when retries are spent; return
    when the unit should be retried."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, HarnessError):
        raise HarnessError(f"unit {unit.name} failed: {cause} (records already stored are kept; rerun to resume)") from None
    unit.failures += 1
    if unit.failures > retries:
        first = (str(cause) if cause is not None else str(error)).strip().splitlines()
        raise HarnessError(
            f"unit {unit.name} failed {unit.failures} times, last: {type(cause or error).__name__}: {first[0] if first else ''} "
            "(records already stored are kept; rerun to resume)"
        ) from None
    print(f"ray: unit {unit.name} failed ({type(cause or error).__name__}); retrying its {len(unit.remaining)} missing samples", file=sys.stderr)
