"""The driver side of `--ray`: actors, the work queue, retries, progress and Ctrl-C.

The driver hands each image to an actor (`worker.ImageWorker`) and gives every result to the
caller's `deliver(index, result)`, which writes it with the writers of a local run; a failed
image goes to `fail(index, exception)`. Nothing here writes a file.

Faults: an actor that dies (its process or its node gone) is dropped, and its images go back to
the queue for the others, each at most `MAX_ATTEMPTS` times in all; an image left with no actor
or out of attempts fails by name (`WorkerLost`). Each index is delivered at most once.
Ctrl-C kills every actor (which stops its work) and lets the KeyboardInterrupt through.
"""

from __future__ import annotations

import argparse
import collections
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from saliency_desktop.cli_common import UsageError, error
from saliency_desktop.cluster.worker import ImageWorker, pack_model

log = logging.getLogger("saliency_desktop.cluster")
MAX_ATTEMPTS = 3  # per image: the first try and two retries on other actors
IN_FLIGHT = 2  # tasks queued per actor, so that the next image is there when one finishes
WAIT_S = 0.5  # ray.wait's timeout: Ctrl-C is seen within this
READY_S = 600  # for the actors to start and load the model


class WorkerLost(RuntimeError):
    """An image whose worker (or node) died on every attempt, or with no worker left."""


def connect(address: str, verbose: bool) -> None:
    """`ray.init` for `--ray ADDRESS`; `local` starts Ray on this machine."""
    try:
        import ray
    except ImportError:
        raise UsageError(
            "--ray needs Ray: pip install 'saliency-desktop[cluster]' (ray[default])."
        ) from None
    options: dict[str, Any] = dict(log_to_driver=verbose, configure_logging=False)
    if address == "local":
        options.update(address="local", include_dashboard=False)
        options["object_store_memory"] = 500_000_000
    else:
        options["address"] = address
    try:  # the workers run the same saliency_desktop, installed on every node
        ray.init(**options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        log.debug("ray.init failed", exc_info=True)
        raise UsageError(f"--ray {address}: cannot connect to Ray ({exc}).") from None


def start_actors(ray: Any, args: argparse.Namespace) -> list[Any]:
    """One actor per GPU when the cluster has GPUs (unless --actors), else N per alive node."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    source = ray.put(pack_model(args.model, args))
    Actor = ray.remote(ImageWorker)
    options: dict[str, Any] = dict(max_restarts=0, max_concurrency=1)
    gpus = int(ray.cluster_resources().get("GPU", 0))
    if gpus and args.actors is None:
        gpu_actor = Actor.options(num_gpus=1, num_cpus=1, **options)
        return [gpu_actor.remote(source) for _ in range(gpus)]
    per_node = args.actors or 1
    actors = []
    for node in ray.nodes():
        cpus = node.get("Resources", {}).get("CPU", 0)
        if not node.get("Alive") or cpus <= 0:
            continue
        share = cpus // per_node if cpus >= per_node else int(cpus / per_node * 1e4) / 1e4
        where = NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
        actors += [
            Actor.options(num_cpus=share, scheduling_strategy=where, **options).remote(source)
            for _ in range(per_node)
        ]
    return actors


def ready_actors(ray: Any, actors: list[Any]) -> list[Any]:
    """The actors that loaded the model within READY_S; a UsageError when none could."""
    import time

    waiting = {actor.ready.remote(): actor for actor in actors}
    alive, reasons = [], []
    deadline = time.monotonic() + READY_S
    while waiting and time.monotonic() < deadline:
        done, _ = ray.wait(list(waiting), num_returns=len(waiting), timeout=WAIT_S)
        for ref in done:
            actor = waiting.pop(ref)
            try:
                problem, where = ray.get(ref)
            except ray.exceptions.RayError as exc:
                problem, where = f"the worker died ({type(exc).__name__})", ""
            if problem is None:
                alive.append(actor)
                log.info("worker ready on %s", where)
            else:
                reasons.append(problem)
                ray.kill(actor)
    for actor in waiting.values():  # never scheduled (no free CPU/GPU) or still loading
        reasons.append(f"not started within {READY_S} s (no free resources?)")
        ray.kill(actor)
    if not alive:
        raise UsageError(f"no Ray worker could load the model: {reasons[0]}")
    if reasons:
        error(f"note: {len(reasons)} worker(s) could not load the model: {reasons[0]}")
    return alive


def run_on_ray(
    args: argparse.Namespace,
    model: Any,
    images: Sequence[Path],
    work: tuple[str, dict[str, Any]],
    deliver: Callable[[int, Any], None],
    fail: Callable[[int, BaseException], None],
    bar: Any,
) -> None:
    """Compute every image on Ray actors; `deliver`/`fail` are called in the driver, once per
    image, in the order results arrive. `work` is (kind, kwargs) for `ImageWorker.run`."""
    connect(args.ray, bool(getattr(args, "verbose", False)))
    import ray

    actors: list[Any] = []
    try:
        bar.set_postfix_str("starting the Ray workers", refresh=True)
        actors = ready_actors(ray, start_actors(ray, args))
        bar.set_postfix_str(f"{len(actors)} Ray worker(s)", refresh=True)
        _dispatch(ray, actors, args, model, images, work, deliver, fail, bar)
    finally:  # Ctrl-C included: killing the actors stops their work
        for actor in actors:
            ray.kill(actor)
        ray.shutdown()


def _dispatch(ray, actors, args, model, images, work, deliver, fail, bar) -> None:
    """The work queue: keep IN_FLIGHT tasks per actor, resubmit what a dead actor held."""
    kind, kwargs = work
    kwargs_ref = ray.put(kwargs)
    queue = collections.deque((i, 1) for i in range(len(images)))
    running: dict[Any, tuple[Any, int, int]] = {}  # object ref -> (actor, index, attempt)
    load = {id(a): 0 for a in actors}
    finished = 0
    while queue or running:
        for actor in list(actors):
            while queue and load[id(actor)] < IN_FLIGHT:
                i, attempt = queue.popleft()
                image = str(images[i].absolute()) if args.ray_worker_reads else _read(images[i])
                if isinstance(image, Exception):
                    fail(i, image)
                    finished += 1
                    continue
                ref = actor.run.remote(kind, i, images[i].name, image, kwargs_ref)
                running[ref] = (actor, i, attempt)
                load[id(actor)] += 1
        if not running:
            break
        done, _ = ray.wait(list(running), num_returns=1, timeout=WAIT_S)
        for ref in done:
            actor, i, attempt = running.pop(ref)
            load[id(actor)] -= 1
            try:
                ok, value = ray.get(ref)
            except ray.exceptions.RayActorError as exc:  # the process or its node died
                _drop(ray, actor, actors, exc)
                if attempt < MAX_ATTEMPTS and actors:
                    queue.appendleft((i, attempt + 1))
                    continue
                ok, value = False, WorkerLost(f"{images[i]}: the Ray worker was lost ({exc}).")
            except ray.exceptions.RayError as exc:  # anything else of Ray's: this image only
                ok, value = False, WorkerLost(f"{images[i]}: Ray failed ({exc}).")
            if ok:
                deliver(i, _with_driver_model(value, model))
            else:
                fail(i, value)
            finished += 1
            bar.n = finished
            bar.set_postfix_str(images[i].name, refresh=False)
            bar.refresh()
    for i, _ in queue:  # no actor left
        fail(i, WorkerLost(f"{images[i]}: no Ray worker is left to run it."))


def _read(path: Path) -> bytes | Exception:
    """The file's bytes, or the error a local run gives for a file it cannot read."""
    from saliency_desktop.engine.types import ImageError

    try:
        return path.read_bytes()
    except OSError as exc:
        return ImageError(f"{path.name}: cannot read the file ({exc.strerror or exc}).")


def _drop(ray: Any, actor: Any, actors: list[Any], exc: BaseException) -> None:
    if actor in actors:
        actors.remove(actor)
        error(f"note: a Ray worker was lost ({type(exc).__name__}); its images go to the others.")
        ray.kill(actor)


def _with_driver_model(result: Any, model: Any) -> Any:
    """The driver's ModelInfo in place of the worker's (whose model file sits in a temporary
    folder): the records then name the model as a local run does."""
    if isinstance(result, tuple):
        return (replace(result[0], model=model.info), *result[1:])
    return replace(result, model=model.info)
