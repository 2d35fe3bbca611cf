"""A codec's checkpoint: its state, the file, and the fingerprint of its weights.

A checkpoint is a dict of plain tensors and Python values (``torch.save``), read
back with ``torch.load(..., weights_only=True)``::

    format "comp_lib.codec", version 1,
    comcnn_config, reccnn_config   the networks' constructor arguments (None: left out);
                                   reccnn_config["arch"] names a network other than RecCNN
    comcnn, reccnn                 their state dicts (fp32, on the CPU)
    name, metadata                 the model's name (written in its headers) and free-form data

The *fingerprint* identifies the weights in every bitstream header: the first 8
bytes of a sha256 over every floating-point tensor (name, shape, float32 values),
independent of device, memory format and how the codec was loaded.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
from torch import nn

from comp_lib.coding.bitstream import FINGERPRINT_SIZE
from comp_lib.files import atomic_write
from comp_lib.models import ComCNN, build_reconstruction

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "build_networks",
    "network_state",
    "read_checkpoint",
    "weights_fingerprint",
    "write_checkpoint",
]

#: The ``format`` entry of every codec checkpoint (kept from the first release).
CHECKPOINT_FORMAT = "comp_lib.codec"
CHECKPOINT_VERSION = 1


def _weights(net: nn.Module | None) -> dict:
    return {} if net is None else {k: v.detach().cpu() for k, v in net.state_dict().items()}


def network_state(comcnn: nn.Module | None, reccnn: nn.Module | None, name, metadata) -> dict:
    """The checkpoint dict of two networks (either may be ``None``), a name and metadata."""
    return {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "comcnn_config": None if comcnn is None else dict(comcnn.config),
        "reccnn_config": None if reccnn is None else dict(reccnn.config),
        "comcnn": _weights(comcnn),
        "reccnn": _weights(reccnn),
        "name": name,
        "metadata": metadata,
    }


def build_networks(state: dict, source: str = "state") -> tuple[ComCNN | None, nn.Module | None]:
    """The two networks a checkpoint dict describes, with its weights, and clear errors.

    Raises
    ------
    ValueError
        If ``state`` is not a codec checkpoint, of another version, or its weights
        do not fit the networks its configuration describes (the message names ``source``).
    """
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{source} is not a comp_lib codec checkpoint")
    if state.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{source}: unsupported checkpoint version {state.get('version')!r}")
    try:
        configs = state["comcnn_config"], state["reccnn_config"]
        comcnn = None if configs[0] is None else ComCNN(**configs[0])
        reccnn = None if configs[1] is None else build_reconstruction(configs[1])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{source}: bad network configuration: {err}") from None
    try:
        for net, key in ((comcnn, "comcnn"), (reccnn, "reccnn")):
            if net is not None:
                net.load_state_dict(state[key])
    except (KeyError, RuntimeError) as err:
        first = str(err).strip().splitlines()
        raise ValueError(
            f"{source}: weights do not fit the networks they describe: "
            f"{first[-1].strip() if first else err}"
        ) from None
    return comcnn, reccnn


def write_checkpoint(state: dict, path: str | os.PathLike) -> Path:
    """Write a checkpoint dict (a codec's, or a training run's ``last.pt``) to ``path``
    atomically (:func:`comp_lib.files.atomic_write`)."""
    return atomic_write(path, lambda f: torch.save(state, f))


def read_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a checkpoint with ``weights_only=True``; a foreign file raises ``ValueError``."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for foreign files
        raise ValueError(f"{path} is not a readable torch checkpoint: {err}") from None


def weights_fingerprint(comcnn: nn.Module | None, reccnn: nn.Module | None) -> str:
    """16 hex digits identifying the two networks' weights (see the module docstring)."""
    digest = hashlib.sha256(b"comp_lib.codec fingerprint 1\n")
    digest.update(f"comcnn {comcnn is not None} reccnn {reccnn is not None}\n".encode())
    for key, net in (("comcnn", comcnn), ("reccnn", reccnn)):
        if net is None:
            continue
        for k, t in net.state_dict().items():
            if t.is_floating_point():
                a = t.detach().to("cpu", torch.float32).contiguous().numpy()
                digest.update(f"{key}.{k} {tuple(a.shape)}\n".encode())
                digest.update(a.tobytes())
    return digest.digest()[:FINGERPRINT_SIZE].hex()
