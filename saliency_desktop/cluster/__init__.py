"""`explain` and `evaluate` on a Ray cluster (`--ray ADDRESS`): see the README's "Running on a
cluster". Ray is imported only by `driver.py`, and only when `--ray` is given.

It may import `saliency_desktop.cli_common`, `saliency_desktop.compute` (the one image's work that
a local run does too) and the engine's public API; never Qt, and never `batch` (the commands call
into this package, not the other way round)."""

from __future__ import annotations

import argparse


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """--ray, --actors and --ray-worker-reads, shared by `explain` and `evaluate`."""
    group = parser.add_argument_group("Ray cluster (pip install saliency-desktop[cluster])")
    group.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run the images on Ray actors: auto (the cluster this machine belongs to), "
        "ray://HOST:PORT, HOST:PORT, or local (start Ray on this machine); the files are "
        "written here, as a local run writes them",
    )
    group.add_argument(
        "--actors",
        type=int,
        metavar="N",
        help="with --ray: actors per node on CPU (default 1 per node; on a cluster with "
        "GPUs, one actor per GPU)",
    )
    group.add_argument(
        "--ray-worker-reads",
        action="store_true",
        help="with --ray: the workers read the images from the paths given (which must exist "
        "on every node) or from s3://, gs://... URIs (through fsspec), instead of the "
        "driver sending each file",
    )


def check_cluster_args(args: argparse.Namespace) -> None:
    """--actors and --ray-worker-reads only with --ray; --actors at least 1 (UsageError)."""
    from saliency_desktop.cli_common import UsageError

    actors = getattr(args, "actors", None)
    if getattr(args, "ray", None) is None:
        if actors is not None or getattr(args, "ray_worker_reads", False):
            raise UsageError("--actors and --ray-worker-reads go with --ray ADDRESS.")
    elif actors is not None and actors < 1:
        raise UsageError(f"--actors must be at least 1, not {actors}.")
