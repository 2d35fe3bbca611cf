"""Training RecCNN from a bank of real-codec inputs: the fast path for a GPU.

:mod:`comp_lib.train` runs the real JPEG codec on every batch, patch by patch,
on the CPU. On a GPU that codec is the bottleneck, so this module codes every
training image once per JPEG quality, through the codec's own encoder path,
and keeps the results (a *bank*) on the device::

    x -> [ComCNN] -> 8-bit -> real JPEG (quality q) -> decode -> [bicubic x2] = x_in(q)
    batch: aligned random crops of (x_in(q), x), q drawn from the bank's qualities
    x_hat = RecCNN(x_in);  loss = MSE(x_hat, x)

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
``python -m comp_lib.train.bank train`` there. Validation runs every epoch on the pack's
validation images with the real codec (PSNR, SSIM, bpp from real bytes and the
gain over JPEG at the same bpp); ``best.pt``, ``last.pt`` and ``log.csv`` are
written atomically and a run resumes from ``last.pt``.
"""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from comp_lib import jpeg
from comp_lib.coding import Codec
from comp_lib.config import cpu_threads
from comp_lib.config import device as default_device
from comp_lib.files import atomic_write
from comp_lib.metrics import psnr, ssim
from comp_lib.models import RecCNN, upsample
from comp_lib.train.config import LOG_COLUMNS
from comp_lib.train.validation import gain_over_jpeg, jpeg_curve

__all__ = ["BankConfig", "build_bank", "load_pack", "reccnn_input", "save_pack", "train_bank"]

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
) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of aligned random crops ``(x_in, x)``, ``(B, 1, P, P)`` float32 in [0, 1].

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
    ins, refs = [], []
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
    x_in = torch.cat([t.float() / 255 if t.dtype == torch.uint8 else t.float() for t in ins])
    x = torch.cat(refs).float() / 255
    x_in, x = x_in[:, None], x[:, None]
    if augment:
        k, flip = int(rng.integers(4)), bool(rng.integers(2))
        x_in, x = (torch.rot90(t, k, (2, 3)) for t in (x_in, x))
        if flip:
            x_in, x = (t.flip(3) for t in (x_in, x))
    return x_in.contiguous(), x.contiguous()


# --------------------------------------------------------------------------- training


@dataclass
class BankConfig:
    """Settings of a bank training run (recorded in its checkpoints as ``training``).

    ``init`` names a shipped model or checkpoint to start from (its ComCNN, if
    any, stays frozen); without it a post-filter RecCNN of ``channels`` x
    ``depth`` (body at ``1/shuffle`` resolution) starts from scratch. ``lr``
    decays by ``lr_decay`` every epoch (Adam). ``steps=0`` sizes the epochs from
    ``budget_s``: a short timing probe, then as many steps as fit.
    """

    qualities: list[int] = field(default_factory=lambda: list(range(4, 41, 2)))
    val_quality: list[int] = field(default_factory=lambda: [5, 10, 20])
    epochs: int = 10
    steps: int = 100
    budget_s: float = 0.0
    batch: int = 32
    patch: int = 96
    lr: float = 3e-4
    lr_decay: float = 0.8
    init: str | None = None
    channels: int = 64
    depth: int = 20
    shuffle: int = 2
    precision: str = "fp32"
    seed: int = 0

    def to_dict(self) -> dict:
        return {"scheme": "bank"} | asdict(self)


def _validate(codec: Codec, val: list[tuple[str, np.ndarray]], qualities) -> dict:
    """Real-codec validation: mean PSNR/SSIM/bpp per quality, and JPEG's curve for the gain."""
    codec.eval()
    rows = []
    for q in qualities:
        for _, image in val:
            data = codec.compress(image, q)
            x_hat = codec.decompress(data)
            rows.append(dict(quality=q, psnr=psnr(image, x_hat), ssim=ssim(image, x_hat),
                             bpp=8 * len(data) / image.size))  # fmt: skip
    return pd.DataFrame(rows).groupby("quality").mean().reset_index().to_dict("list")


def train_bank(config: BankConfig, train: list[np.ndarray], val: list[tuple[str, np.ndarray]],
               out_dir, name: str, data_info: dict | None = None, device=None,
               progress: bool = True) -> pd.DataFrame:  # fmt: skip
    """Train a codec's RecCNN on a bank of ``train``; see the module docstring.

    Every epoch, in order: update lr, feed batches and optimize, log, validate
    (real codec on ``val``), save (``last.pt`` with the optimizer, ``best.pt``
    by validation gain over JPEG at equal bpp, ``log.csv``). Resumes from
    ``out_dir/last.pt`` when it exists. Returns the log.
    """
    device = torch.device(device or default_device())
    if device.type == "cpu":
        torch.set_num_threads(cpu_threads())
    else:
        torch.backends.cudnn.benchmark = True
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    if config.init:
        codec = Codec.load(config.init)
    else:
        rec = RecCNN(channels=config.channels, depth=config.depth, shuffle=config.shuffle)
        codec = Codec(None, rec)
    codec.name, codec.metadata = name, {"name": name, "training": config.to_dict(),
                                        "data": data_info or {}}  # fmt: skip
    codec = codec.to(device)
    if codec.comcnn is not None:
        codec.comcnn.requires_grad_(False)
    fmt = torch.channels_last if device.type == "cuda" else torch.contiguous_format
    codec.reccnn.to(memory_format=fmt)  # cuDNN's tensor-core kernels want NHWC
    align = 16 if codec.comcnn is not None else 8
    t0 = time.perf_counter()
    bank = build_bank(codec, train, config.qualities, device, progress=progress)
    opt = torch.optim.Adam(codec.reccnn.parameters(), lr=config.lr)
    log: list[dict] = []
    epoch, best_gain, steps = 0, -math.inf, config.steps
    last = out / "last.pt"
    if last.is_file():
        state = torch.load(last, map_location=device, weights_only=True)
        codec.reccnn.load_state_dict(state["reccnn"])
        opt.load_state_dict(state["opt"])
        epoch, best_gain, steps = state["epoch"], state["best_gain"], state["steps"]
        log = pd.read_csv(out / "log.csv").to_dict("records")
        rng = np.random.default_rng([config.seed, epoch])
        torch.manual_seed(config.seed + epoch)
    jpeg_val = jpeg_curve([image for _, image in val])
    autocast = (
        torch.autocast(device.type, dtype=torch.bfloat16)
        if config.precision == "bf16"
        else torch.autocast(device.type, enabled=False)
    )
    val_s = None
    if not log:  # epoch 0: the starting point, and the time one validation takes
        t = time.perf_counter()
        log.append(_row(0, 0, float("nan"), float("nan"), _validate(codec, val, config.val_quality),
                        jpeg_val, 0.0))  # fmt: skip
        val_s = time.perf_counter() - t
        log[0]["seconds"] = time.perf_counter() - t0
        if config.init:  # a fine-tuning run keeps its starting point unless it does better
            best_gain = log[0]["val_gain_db"]
            codec.metadata["validation"] = {k: v for k, v in log[0].items() if k.startswith("val_")}
            codec.metadata["validation"] |= {"epoch": 0, "machine": _machine(device)}
            codec.save(out / "best.pt")
        if progress:
            print(f"{name} before training: {log[0]['val_psnr']:.3f} dB "
                  f"({log[0]['val_gain_db']:+.3f} dB vs JPEG)", flush=True)  # fmt: skip
    if not steps:  # size the epochs from the time budget
        if config.budget_s <= 0:
            raise ValueError("give steps > 0 or a time budget budget_s > 0")
        probe = _probe(codec, bank, config, rng, opt, autocast, align, fmt)
        left = config.budget_s - (time.perf_counter() - t0)
        steps = max(1, int((left / config.epochs - 1.2 * (val_s or 0.0)) / probe))
        if progress:
            print(f"{name}: {probe * 1000:.1f} ms/step, validation {val_s or 0:.1f} s -> "
                  f"{steps} steps x {config.epochs} epochs", flush=True)  # fmt: skip
    while epoch < config.epochs:
        start = time.perf_counter()
        lr = config.lr * config.lr_decay**epoch  # 1. update lr
        for group in opt.param_groups:
            group["lr"] = lr
        codec.reccnn.train()
        losses = []
        for _ in tqdm(range(steps), desc=f"{name} epoch {epoch + 1}", disable=not progress):
            x_in, x = sample_batch(bank, config.batch, config.patch, rng, align)  # 2. feed
            with autocast:
                x_hat = codec.reccnn(x_in.contiguous(memory_format=fmt))
            loss = F.mse_loss(x_hat.float(), x)  # 3. optimize
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.detach())
        epoch += 1
        v = _validate(codec, val, config.val_quality)  # 4. log and validate
        loss = float(torch.stack(losses).mean())
        row = _row(epoch, epoch * steps, lr, loss, v, jpeg_val, time.perf_counter() - start)
        log.append(row)
        if progress:
            print(f"{name} epoch {epoch}: loss {loss:.6f}, val {row['val_psnr']:.3f} dB at "
                  f"{row['val_bpp']:.3f} bpp ({row['val_gain_db']:+.3f} dB vs JPEG)",
                  flush=True)  # fmt: skip
        if row["val_gain_db"] > best_gain:  # 5. save
            best_gain = row["val_gain_db"]
            codec.metadata["validation"] = {k: row[k] for k in row if k.startswith("val_")} | {
                "epoch": epoch,
                "per_quality": v,
                "machine": _machine(device),
            }
            codec.metadata["training"]["steps_per_epoch"] = steps
            codec.save(out / "best.pt")
        state = dict(reccnn=codec.reccnn.state_dict(), opt=opt.state_dict(), epoch=epoch,
                     best_gain=best_gain, steps=steps)  # fmt: skip
        atomic_write(last, lambda f, s=state: torch.save(s, f))
        table = pd.DataFrame(log, columns=LOG_COLUMNS).to_csv(index=False).encode()
        atomic_write(out / "log.csv", lambda f, t=table: f.write(t))
    return pd.DataFrame(log, columns=LOG_COLUMNS)


def _row(epoch, step, lr, loss, v, jpeg_val, seconds) -> dict:
    """A log row from a validation result (gain over JPEG at the same bpp, per quality)."""
    bpp, psnr_ = float(np.mean(v["bpp"])), float(np.mean(v["psnr"]))
    jpeg_psnr = float(np.mean([gain_over_jpeg(0.0, b, jpeg_val)[0] for b in v["bpp"]]))
    return dict(epoch=epoch, step=step, lr=lr, loss_rec=loss, loss_com=float("nan"),
                val_psnr=psnr_, val_ssim=float(np.mean(v["ssim"])), val_bpp=bpp,
                val_jpeg_psnr=jpeg_psnr, val_gain_db=psnr_ - jpeg_psnr,
                seconds=seconds)  # fmt: skip


def _probe(codec, bank, config, rng, opt, autocast, align, fmt, n: int = 12) -> float:
    """Seconds per training step (after warm-up); the weights are restored afterwards."""
    saved = {k: v.clone() for k, v in codec.reccnn.state_dict().items()}
    opt_state = opt.state_dict()
    codec.reccnn.train()
    times = []
    for i in range(n):
        t = time.perf_counter()
        x_in, x = sample_batch(bank, config.batch, config.patch, rng, align)
        with autocast:
            loss = F.mse_loss(codec.reccnn(x_in.contiguous(memory_format=fmt)).float(), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if x.device.type == "cuda":
            torch.cuda.synchronize()
        if i >= n // 2:
            times.append(time.perf_counter() - t)
    codec.reccnn.load_state_dict(saved)
    opt.load_state_dict(opt_state)
    return float(np.median(times))


def _machine(device: torch.device) -> str:
    from comp_lib.config import cpu_name

    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (torch {torch.__version__})"
    return f"{cpu_name()}, {cpu_threads()} threads (torch {torch.__version__})"


def main(argv: list[str] | None = None) -> int:
    """``pack`` the training images here; ``train`` from a pack, on whatever device is there.

    ``python -m comp_lib.train.bank pack --out gpu/pack.npz``
    ``python -m comp_lib.train.bank train --pack gpu/pack.npz --out runs/x --name x \
    --init post64s2``
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m comp_lib.train.bank", description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="write the default training/holdout images to a pack")
    p.add_argument("--out", required=True)
    p.add_argument("--n-images", type=int, nargs="+", default=[500, 600])
    t = sub.add_parser("train", help="train from a pack")
    t.add_argument("--pack", required=True)
    t.add_argument("--out", required=True, help="run folder (best.pt, last.pt, log.csv)")
    t.add_argument("--name", required=True, help="the model's name (written in its headers)")
    t.add_argument("--limit", type=int, default=None, help="use the first N training images")
    t.add_argument("--quiet", action="store_true")
    for key, value in asdict(BankConfig()).items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, list):
            t.add_argument(flag, type=int, nargs="+", default=value)
        elif value is None:
            t.add_argument(flag, default=None)
        else:
            t.add_argument(flag, type=type(value), default=value)
    args = vars(parser.parse_args(argv))
    if args.pop("command") == "pack":
        train, val, info = default_pack(tuple(args["n_images"]))
        path = save_pack(args["out"], train, val, info)
        print(f"{path}: {len(train)} training and {len(val)} validation images, "
              f"{path.stat().st_size / 1e6:.1f} MB")  # fmt: skip
        return 0
    pack, out, name, limit, quiet = (args.pop(k) for k in ("pack", "out", "name", "limit", "quiet"))
    train, val, info = load_pack(pack)
    config = BankConfig(**args)
    log = train_bank(config, train[:limit], val, out, name, data_info=info, progress=not quiet)
    print(log.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
