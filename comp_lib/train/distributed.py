"""Data-parallel training on PyTorch DDP: what the training loop needs from ``torch.distributed``.

Under ``torchrun`` (which sets ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK`` and the
rendezvous) :func:`setup` joins the process group: NCCL on CUDA (one GPU per
process, ``cuda:LOCAL_RANK``), gloo on the CPU (the cores shared out between the
processes). Without ``WORLD_SIZE`` > 1 nothing is initialised and every function
here is the single-process identity, so the same loop runs in a notebook::

    torchrun --standalone --nproc_per_node 2 -m comp_lib.train --out runs/x ...

Each process draws its shard of every batch from its own random stream;
:func:`wrap` puts each trained network in a
:class:`~torch.nn.parallel.DistributedDataParallel`, which averages the
gradients in ``backward``, so that every optimizer step is the same on every
rank. BatchNorm normalises each rank's shard with its own batch statistics (plain
DDP: :class:`~torch.nn.SyncBatchNorm` has no CPU implementation); the running
statistics are rank 0's, which DDP copies to every rank before each forward pass
and the loop before each save (:func:`sync_buffers`), so that every rank then
holds the same state. Rank 0 alone validates, logs, prints and writes files; the
others wait for it (:func:`broadcast`, :func:`barrier`).
"""

from __future__ import annotations

import os
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from comp_lib.config import cpu_threads

__all__ = [
    "barrier",
    "broadcast",
    "device",
    "gather",
    "is_main",
    "mean",
    "rank",
    "setup",
    "shutdown",
    "sync_buffers",
    "threads",
    "world_size",
    "wrap",
]

#: How long a rank waits for the others (rank 0 validating, say) before giving up.
TIMEOUT = timedelta(hours=2)


def setup() -> int:
    """Join the process group when launched by ``torchrun`` with ``WORLD_SIZE`` > 1.

    Idempotent. Returns the world size (1 without torchrun).
    """
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if cuda else "gloo", timeout=TIMEOUT)
    return world_size()


def world_size() -> int:
    """Processes in the process group (1 when there is none)."""
    return dist.get_world_size() if dist.is_initialized() else 1


def rank() -> int:
    """This process's rank (0 when there is no process group)."""
    return dist.get_rank() if dist.is_initialized() else 0


def is_main() -> bool:
    """Whether this process validates, logs, prints and writes (rank 0)."""
    return rank() == 0


def device() -> torch.device:
    """This process's device: ``cuda:LOCAL_RANK`` when CUDA is present, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def threads() -> int:
    """CPU threads for this process: the cores shared out between the processes on this node."""
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1")) if dist.is_initialized() else 1
    return max(1, cpu_threads() // local)


def shutdown() -> None:
    """Leave the process group (at the end of a command line's run)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    """Wait until every rank gets here."""
    if dist.is_initialized():
        dist.barrier()


def broadcast(obj):
    """Rank 0's ``obj`` (any picklable value), on every rank."""
    if not dist.is_initialized():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(obj) -> list:
    """Every rank's ``obj``, in rank order, on every rank (``[obj]`` alone)."""
    if not dist.is_initialized():
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def mean(value: float) -> float:
    """The mean of ``value`` over the ranks."""
    if not dist.is_initialized():
        return value
    values = gather(float(value))
    return float(sum(values) / len(values))


def sync_buffers(module: nn.Module) -> None:
    """Copy rank 0's buffers (BatchNorm's running statistics) to every rank, in place."""
    if dist.is_initialized():
        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)


def wrap(module: nn.Module, on: torch.device) -> nn.Module:
    """``module`` in :class:`~torch.nn.parallel.DistributedDataParallel`, or as it is alone.

    DDP copies rank 0's weights and buffers to every rank here (and the buffers
    again at every forward pass), and averages the gradients in ``backward``.
    """
    if not dist.is_initialized():
        return module
    ids = [on.index] if on.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids)
