"""Training RecCNN from a bank of real-codec inputs: the fast path for a GPU.

:mod:`comp_lib.train` runs the real JPEG codec on every batch, patch by patch,
on the CPU. On a GPU that codec is the bottleneck, so this module codes every
training image once per JPEG quality, through the codec's own encoder path,
and keeps the results (a *bank*) on the device::

    x -> [ComCNN] -> 8-bit -> real JPEG (quality q) -> decode -> [bicubic x2] = x_in(q)
    batch: aligned random crops of (x_in(q), x), q drawn from the bank's qualities
    x_hat = RecCNN(x_in) (a quality-aware one is also told q's table);  loss = MSE(x_hat, x)

``x_in`` is exactly what :meth:`Codec.decompress` feeds RecCNN
(:func:`reccnn_input`; a test checks it), so this is step A of Jiang et al.'s
alternating algorithm with the real codec and ComCNN frozen. For a post-filter
(no ComCNN) it trains the *RecCNN only* configuration. What differs from
:mod:`comp_lib.train`: whole native-size images are coded (as at test time)
and crops are aligned to the JPEG grid (8 pixels, 16 with ComCNN), instead of
coding each patch on its own.

Images travel in a *pack* (:func:`save_pack`), a compressed ``.npz`` of the
8-bit training and validation images at native size, so that a machine without
the data folder (a rented GPU) can train: ``python -m comp_lib.train.bank pack`` here,
``python -m comp_lib.train.bank train`` there (under ``torchrun`` for several GPUs).
:func:`train_bank` runs :class:`BankSource` in the one training loop
(:mod:`comp_lib.train.loop`): the starting point is validated as epoch 0, then
every epoch: update lr, feed batch, optimise, log, validate (the pack's
validation images through the real bytes, and the gain over JPEG at the same
bpp), save (``best.pt``, ``last.pt``, ``log.csv``); a run resumes from ``last.pt``.
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from comp_lib import jpeg
from comp_lib.coding import Codec
from comp_lib.config import cpu_threads
from comp_lib.config import device as default_device
from comp_lib.files import atomic_write
from comp_lib.models import upsample, with_blocks, with_quality
from comp_lib.train import distributed
from comp_lib.train.config import BankConfig, add_flags
from comp_lib.train.loop import Loop, Source

__all__ = [
    "BankConfig",
    "BankSource",
    "build_bank",
    "build_parser",
    "default_pack",
    "load_pack",
    "reccnn_input",
    "sample_batch",
    "save_pack",
    "train_bank",
]

# --------------------------------------------------------------------------- packs


def save_pack(path, train: list[np.ndarray], val: list[tuple[str, np.ndarray]], info: dict) -> Path:
    """Write 8-bit grayscale training and (named) validation images to a compressed ``.npz``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"train_{i:05d}": _check_u8(a, f"train image {i}") for i, a in enumerate(train)}
    arrays |= {f"val_{i:05d}": _check_u8(a, f"val image {n}") for i, (n, a) in enumerate(val)}
    meta = dict(info, val_names=[n for n, _ in val])
    arrays["info"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return atomic_write(path, lambda f: np.savez_compressed(f, **arrays))


def load_pack(path) -> tuple[list[np.ndarray], list[tuple[str, np.ndarray]], dict]:
    """Read a pack written by :func:`save_pack`: ``(train, val, info)``."""
    with np.load(path, allow_pickle=False) as z:
        keys = sorted(z.files)
        if "info" not in keys:
            raise ValueError(f"{path} is not a comp_lib.train.bank pack (no 'info' entry)")
        info = json.loads(bytes(z["info"]).decode())
        train = [z[k] for k in keys if k.startswith("train_")]
        val_arrays = [z[k] for k in keys if k.startswith("val_")]
    if not train or not val_arrays:
        raise ValueError(f"{path}: a pack needs training and validation images")
    return train, list(zip(info["val_names"], val_arrays, strict=True)), info


def _check_u8(image: np.ndarray, what: str) -> np.ndarray:
    if image.dtype != np.uint8 or image.ndim != 2 or min(image.shape) < 16:
        raise ValueError(f"{what}: expected a 2-D uint8 image of at least 16x16, "
                         f"got {image.dtype} {image.shape}")  # fmt: skip
    return image


def default_pack(
    n_images=(500, 600),
) -> tuple[list[np.ndarray], list[tuple[str, np.ndarray]], dict]:
    """The study's training images at native size, and the held-out validation images.

    Training: the union of the ``train`` splits of the default corpora of
    ``n_images`` (those the shipped models were trained on), each file once,
    rounded to 8 bits as test images are. Validation: the files no corpus trains
    on (:func:`comp_lib.data.holdout_images`), which also choose the shipped
    ladder. Never the test sets.
    """
    from comp_lib.data import absolute_path, build_corpus, holdout_images, load_gray

    corpora = [build_corpus(n_images=n, progress=False) for n in n_images]
    files = sorted(set().union(*(c.index.path[c.index.split == "train"] for c in corpora)))
    train = [load_gray(absolute_path(rel)) for rel in files]
    val = holdout_images(corpora)
    info = dict(n_images=list(n_images), corpora=[c.params["key"][:16] for c in corpora],
                train_files=len(files), val_files=len(val))  # fmt: skip
    return train, val, info


# --------------------------------------------------------------------------- the bank


def reccnn_input(codec: Codec, image: np.ndarray, quality: int) -> tuple[np.ndarray, int]:
    """RecCNN's input when ``codec`` decodes ``image`` coded at ``quality``, and the JPEG bytes.

    The same path as :meth:`Codec.compress` then :meth:`Codec.decompress`
    (grayscale): ComCNN (if any), 8 bits, real JPEG, decode, bicubic x2 (if
    ComCNN). Returns ``(x_in, n_bytes)`` with ``x_in`` float32 ``(H, W)`` in
    [0, 1] (before RecCNN) and the JPEG payload's size (the header is extra).
    """
    h, w = image.shape
    data = jpeg.encode(_compacts(codec, [image])[0], quality)
    decoded = jpeg.decode(data, expected_size=codec.compact_size(h, w))
    with codec.inference():
        x_in = codec.resample_up(codec.to_tensor(decoded[None]), (h, w))
    return x_in[0, 0].float().cpu().numpy(), len(data)


def _compacts(codec: Codec, images: list[np.ndarray]) -> list[np.ndarray]:
    with codec.inference():
        return [
            jpeg.tensor_to_uint8(codec.infer_compact(codec.to_tensor(im[None])))[0] for im in images
        ]


def build_bank(codec: Codec, images: list[np.ndarray], qualities, device=None,
               workers: int | None = None, progress: bool = False) -> dict:  # fmt: skip
    """Code every image at every quality and keep RecCNN's inputs on ``device``.

    Images are stored by shape (portrait images transposed to landscape, with
    their inputs: the JPEG grid stays aligned). Returns a dict with ``groups``, a
    list of ``(x, x_in)`` where ``x`` is ``(N, H, W)`` uint8 and ``x_in``
    ``(Q, N, H, W)`` (uint8 for a post-filter, whose input is the decoded JPEG;
    float16 after bicubic upsampling otherwise), ``qualities`` and ``bytes``
    (``(Q, n_images)`` JPEG payload sizes, in the order of ``images``).
    """
    device = torch.device(device or default_device())
    qualities = [jpeg.check_quality(q) for q in qualities]
    compacts = _compacts(codec, images)
    jobs = [(qi, i) for qi in range(len(qualities)) for i in range(len(images))]

    def code(job):
        qi, i = job
        data = jpeg.encode(compacts[i], qualities[qi])
        return len(data), jpeg.decode(data)

    with ThreadPoolExecutor(workers or cpu_threads()) as pool:  # Pillow releases the GIL
        results = list(tqdm(pool.map(code, jobs), total=len(jobs), desc="coding the bank",
                            disable=not progress))  # fmt: skip
    n_bytes = np.zeros((len(qualities), len(images)), dtype=np.int64)
    decoded = [[None] * len(images) for _ in qualities]
    for (qi, i), (size, dec) in zip(jobs, results, strict=True):
        n_bytes[qi, i] = size
        decoded[qi][i] = dec
    post = codec.comcnn is None
    shapes: dict[tuple[int, int], list[int]] = {}
    for i, im in enumerate(images):
        h, w = im.shape
        shapes.setdefault((min(h, w), max(h, w)), []).append(i)
    groups = []
    for _, members in sorted(shapes.items()):
        flip = [images[i].shape[0] > images[i].shape[1] for i in members]
        x = np.stack([images[i].T if f else images[i] for i, f in zip(members, flip, strict=True)])
        per_q = []
        for qi in range(len(qualities)):
            planes = [decoded[qi][i] for i in members]
            planes = [d.T if f else d for d, f in zip(planes, flip, strict=True)]
            dec = torch.from_numpy(np.stack(planes)).to(device)
            if post:
                per_q.append(dec)
            else:  # bicubic is separable and the same on both axes: it commutes with .T
                with torch.no_grad():
                    up = upsample(dec[:, None].float() / 255, x.shape[1:])[:, 0]
                per_q.append(up.to(torch.float16))
        groups.append((torch.from_numpy(x).to(device), torch.stack(per_q)))
    return dict(groups=groups, qualities=qualities, bytes=n_bytes, post=post)


def sample_batch(
    bank: dict, batch: int, patch: int, rng: np.random.Generator, align: int, augment: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch of aligned random crops ``(x_in, x, quality)``.

    ``x_in`` and ``x`` are ``(B, 1, P, P)`` float32 in [0, 1]; ``quality`` is the
    ``(B,)`` int64 JPEG quality each crop of ``x_in`` was coded at.

    Each crop draws a quality uniformly and an image with probability
    proportional to the number of crop positions it offers; crop corners are
    multiples of ``align`` (the JPEG grid). ``augment`` applies one of the 8
    flips/rotations to the whole batch.
    """
    groups = bank["groups"]
    n_q = len(bank["qualities"])
    weights = []
    for x, _ in groups:
        n, h, w = x.shape
        fits = h >= patch and w >= patch
        weights.append(n * ((h - patch) // align + 1) * ((w - patch) // align + 1) if fits else 0)
    if not sum(weights):
        raise ValueError(f"patch {patch} is larger than every training image")
    counts = rng.multinomial(batch, np.array(weights) / sum(weights))
    ins, refs, picked = [], [], []
    for (x, x_in), k in zip(groups, counts, strict=True):
        if k == 0:
            continue
        n, h, w = x.shape
        dev = x.device
        img = torch.from_numpy(rng.integers(0, n, k)).to(dev)
        qi = torch.from_numpy(rng.integers(0, n_q, k)).to(dev)
        top = torch.from_numpy(rng.integers(0, (h - patch) // align + 1, k) * align).to(dev)
        left = torch.from_numpy(rng.integers(0, (w - patch) // align + 1, k) * align).to(dev)
        ar = torch.arange(patch, device=dev)
        rows = (top[:, None] + ar)[:, :, None]
        cols = (left[:, None] + ar)[:, None, :]
        refs.append(x[img[:, None, None], rows, cols])
        ins.append(x_in[qi[:, None, None], img[:, None, None], rows, cols])
        picked.append(qi)
    x_in = torch.cat([t.float() / 255 if t.dtype == torch.uint8 else t.float() for t in ins])
    x = torch.cat(refs).float() / 255
    x_in, x = x_in[:, None], x[:, None]
    if augment:
        k, flip = int(rng.integers(4)), bool(rng.integers(2))
        x_in, x = (torch.rot90(t, k, (2, 3)) for t in (x_in, x))
        if flip:
            x_in, x = (t.flip(3) for t in (x_in, x))
    quality = torch.as_tensor(bank["qualities"], device=x.device)[torch.cat(picked)]
    return x_in.contiguous(), x.contiguous(), quality


# --------------------------------------------------------------------------- training


class BankSource(Source):
    """Aligned crops of a bank of ``train`` (RecCNN learns; a data source of the loop).

    Parameters
    ----------
    config : BankConfig
    train : list of numpy.ndarray
        8-bit grayscale training images at native size.
    val : list of (str, numpy.ndarray)
        Named 8-bit validation images.
    name : str
        The model's name (written in its headers).
    data_info : dict, optional
        Where the images come from (stored in the checkpoints' metadata as ``data``).
    device : torch.device, optional
        Default: this rank's GPU when CUDA is present, else the CPU.
    progress : bool
        Show the bank's coding.
    """

    log_start = True

    def __init__(self, config: BankConfig, train: list[np.ndarray],
                 val: list[tuple[str, np.ndarray]], name: str, data_info: dict | None = None,
                 device=None, progress: bool = False) -> None:  # fmt: skip
        super().__init__(config, device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        if config.init:
            codec = Codec.load(config.init)
            if config.quality_aware:  # the same function as the started model, until it trains
                codec = Codec(codec.comcnn, with_quality(codec.reccnn), name=codec.name)
            if config.grow_blocks:  # deeper, the same function until it trains
                codec = Codec(codec.comcnn, with_blocks(codec.reccnn, config.grow_blocks),
                              name=codec.name)  # fmt: skip
        else:
            codec = Codec(None, config.network())  # starts as JPEG alone
        self.name, self.keeps_start = name, bool(config.init)  # a fine-tuning run may keep it
        self.metadata = {"name": name, "data": data_info or {}}
        codec.name, codec.metadata = name, self.metadata | {"training": config.to_dict()}
        self.codec = codec.to(self.device)
        if codec.comcnn is not None:
            codec.comcnn.requires_grad_(False)
        self.fmt = torch.channels_last if self.device.type == "cuda" else torch.contiguous_format
        codec.reccnn.to(memory_format=self.fmt)  # cuDNN's tensor-core kernels want NHWC
        self.align = 16 if codec.comcnn is not None else 8
        self.val_images = [image for _, image in val]
        show = progress and distributed.is_main()
        self.bank = build_bank(codec, train, config.qualities, self.device, progress=show)
        tables = np.zeros((101, 8, 8))  # by quality: what each crop's JPEG file holds
        tables[config.qualities] = [jpeg.quant_table(q) for q in config.qualities]
        self.tables = torch.as_tensor(tables, dtype=torch.float32, device=self.device)

    def networks(self) -> dict[str, nn.Module]:
        return {"rec": self.codec.reccnn}

    def batch(self, phase: str) -> tuple[torch.Tensor, torch.Tensor]:
        return sample_batch(self.bank, self.shard, self.config.patch, self.rng, self.align)

    def loss(self, phase: str, batch, nets: dict[str, nn.Module]) -> torch.Tensor:
        x_in, x, quality = batch
        nets["rec"].train()
        quant = self.tables[quality] if self.codec.quality_aware else None
        with self.autocast():
            x_hat = nets["rec"](x_in.contiguous(memory_format=self.fmt), quant)
        return F.mse_loss(x_hat.float(), x)


def train_bank(config: BankConfig, train: list[np.ndarray], val: list[tuple[str, np.ndarray]],
               out_dir, name: str, data_info: dict | None = None, device=None,
               progress: bool = True) -> pd.DataFrame:  # fmt: skip
    """Train a codec's RecCNN on a bank of ``train``; see the module docstring.

    Epoch 0 validates the starting point (and, with ``config.steps=0``, sizes
    the epochs from ``config.budget_s``); then every epoch, in order: update
    lr, feed batches and optimise, log, validate (real bytes on ``val``), save
    (``last.pt``, ``best.pt`` by validation gain over JPEG at equal bpp,
    ``log.csv``). Resumes from ``out_dir/last.pt`` when it exists. Returns the log.
    """
    source = BankSource(config, train, val, name, data_info, device, progress)
    return Loop(source, out_dir).fit(resume=True, progress=progress)


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser: ``pack`` and ``train`` (every flag with a help)."""
    parser = argparse.ArgumentParser(
        prog="python -m comp_lib.train.bank",
        description=main.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, help="what to do")
    p = sub.add_parser("pack", help="write the default training/holdout images to a pack")
    p.add_argument("--out", required=True, help="the pack to write (.npz)")
    p.add_argument("--n-images", type=int, nargs="+", default=[500, 600],
                   help="sizes of the default corpora whose train splits to pack "
                        "(default: %(default)s)")  # fmt: skip
    t = sub.add_parser("train", help="train from a pack (under torchrun: data-parallel)")
    t.add_argument("--pack", required=True, help="a pack written by the pack command")
    t.add_argument("--out", required=True, help="run folder (best.pt, last.pt, log.csv)")
    t.add_argument("--name", required=True, help="the model's name (written in its headers)")
    t.add_argument("--limit", type=int, default=None, help="use the first N training images")
    t.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    add_flags(t, BankConfig)
    return parser


def main(argv: list[str] | None = None) -> int:
    """``pack`` the training images here; ``train`` from a pack, on whatever device is there.

    ``python -m comp_lib.train.bank pack --out gpu/pack.npz``
    ``python -m comp_lib.train.bank train --pack gpu/pack.npz --out runs/x --name x \\
    --init post64s2``
    ``torchrun --standalone --nproc_per_node 8 -m comp_lib.train.bank train ...``
    """
    args = vars(build_parser().parse_args(argv))
    if args.pop("command") == "pack":
        train, val, info = default_pack(tuple(args["n_images"]))
        path = save_pack(args["out"], train, val, info)
        print(f"{path}: {len(train)} training and {len(val)} validation images, "
              f"{path.stat().st_size / 1e6:.1f} MB")  # fmt: skip
        return 0
    pack, out, name, limit, quiet = (args.pop(k) for k in ("pack", "out", "name", "limit", "quiet"))
    train, val, info = load_pack(pack)
    distributed.setup()
    try:
        config = BankConfig(**args)
        log = train_bank(config, train[:limit], val, out, name, data_info=info, progress=not quiet)
        if distributed.is_main():
            print(log.to_string(index=False))
    finally:
        distributed.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
