"""Post-filter variants screened at an equal training budget (issue 19).

Above about 0.13 bpp the study's best codec is JPEG followed by a post-filter
(RecCNN only), so the post-filter decides the headline. Each variant here is a
fresh post-filter trained by the same bank trainer (:mod:`comp_lib.train.bank`:
native-size images coded once per quality, crops aligned to the JPEG grid) for
the same wall time on the same machine, and judged on held-out validation images
(never the test set) through its real bytes::

    post64s2     today's shape: RecCNN 64 x 20 with its body at half resolution
    full64x20    the same at full resolution: DnCNN's size, 4x the multiply-adds
    unet32       a multi-scale U-Net of residual blocks (DRUNet-like, 4 scales)
    post64s2q    post64s2 told the JPEG quantisation table: one model, every quality
    unet32q      unet32 told the table

:func:`screen` trains them (each run resumes, so an interrupted screening loses at
most an epoch); :func:`screening_table` reads each run's best checkpoint back,
measures its gain over JPEG at equal rate per quality, its multiply-adds per pixel
and its decode time on one image, and ranks the variants by gain per unit of
decode cost. :func:`self_ensemble_table` measures what the shipped post-filter gains,
and what its decoding costs, averaged over flips and transposes of its input.
:func:`gain_by_quality` sets shipped post-filters against JPEG on the same bytes,
quality by quality; :func:`quantisation_constraint_table` asks whether a post-filter's
output keeps to the quantisation intervals the JPEG file fixes, and what forcing it
there adds; :func:`variant_shapes` gives each variant's size, multiply-adds per
pixel and measured receptive field (:func:`receptive_radius`): how much context a
network sees for what it costs.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from comp_lib.coding import Codec
from comp_lib.train.bank import train_bank
from comp_lib.train.config import BankConfig
from comp_lib.train.validation import gain_over_jpeg, jpeg_curve, validate

__all__ = [
    "VARIANTS",
    "decode_ms",
    "gain_by_quality",
    "interleaved_decode_ms",
    "quantisation_constraint_table",
    "receptive_radius",
    "screen",
    "screening_table",
    "self_ensemble_table",
    "variant_shapes",
]

#: Name -> (what it is, its :class:`~comp_lib.train.config.BankConfig` network settings).
VARIANTS: dict[str, tuple[str, dict]] = {
    "post64s2": (
        "RecCNN 64x20, body at 1/2 resolution (today's shape)",
        dict(arch="reccnn", channels=64, depth=20, shuffle=2),
    ),
    "full64x20": (
        "RecCNN 64x20 at full resolution (DnCNN's size)",
        dict(arch="reccnn", channels=64, depth=20, shuffle=1),
    ),
    "unet32": (
        "U-Net, 4 scales of 32-256 channels, 2 residual blocks per scale and side",
        dict(arch="multiscale", channels=32, scales=4, blocks=2),
    ),
    "post64s2q": (
        "post64s2 told the JPEG quantisation table (FiLM)",
        dict(arch="reccnn", channels=64, depth=20, shuffle=2, quality_aware=True),
    ),
    "unet32q": (
        "unet32 told the JPEG quantisation table (FiLM)",
        dict(arch="multiscale", channels=32, scales=4, blocks=2, quality_aware=True),
    ),
}


def _variant(name: str) -> dict:
    if name not in VARIANTS:
        raise ValueError(f"unknown post-filter variant {name!r}; known: {list(VARIANTS)}")
    return VARIANTS[name][1]


def screen(
    names: Sequence[str],
    train: Sequence[np.ndarray],
    val: Sequence[tuple[str, np.ndarray]],
    out_root,
    budget_s: float,
    base: Mapping | None = None,
    progress: bool = True,
) -> dict[str, pd.DataFrame]:
    """Train each variant of ``names`` for ``budget_s`` seconds of wall time; their logs.

    Every run is a :class:`~comp_lib.train.config.BankConfig` of ``base`` (qualities,
    batch, patch, lr, epochs...) with the variant's network and ``steps=0``: the
    epochs are sized from the budget (the bank, validation and timing probe
    included), so every variant gets the same machine time. Runs live in
    ``out_root/<name>/`` and resume from their ``last.pt``; a finished run is read back.
    """
    base = dict(base or {})
    for key in ("steps", "budget_s", "init"):
        base.pop(key, None)
    logs = {}
    for name in names:
        config = BankConfig(**base, **_variant(name), steps=0, budget_s=budget_s)
        logs[name] = train_bank(config, list(train), list(val), Path(out_root) / name, name,
                                progress=progress)  # fmt: skip
    return logs


def decode_ms(codec: Codec, image: np.ndarray, quality: int = 10, repeat: int = 3) -> float:
    """Median milliseconds of ``codec.decompress`` on ``image`` coded at ``quality``."""
    data = codec.compress(image, quality)
    codec.decompress(data)  # warm-up: the first call pays for memory layouts
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        codec.decompress(data)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def interleaved_decode_ms(timings: Mapping, rounds: int = 3) -> dict:
    """Median milliseconds of each of ``timings``, timed in interleaved rounds.

    ``timings`` maps a key to a callable that times one decode and returns its
    milliseconds (for example ``functools.partial(decode_ms, codec, image, repeat=1)``).
    Each round calls every one once, in order, so that the machine's drift (another job,
    the clock) falls on all of them alike rather than on whichever was timed apart.
    Returns key -> the median over the ``rounds``.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    times: dict = {key: [] for key in timings}
    for _ in range(rounds):
        for key, timing in timings.items():
            times[key].append(timing())
    return {key: float(np.median(value)) for key, value in times.items()}


def screening_table(
    runs: Mapping[str, Path],
    val: Sequence[tuple[str, np.ndarray]],
    qualities: Sequence[int],
    timing_image: np.ndarray,
    reference: str | None = None,
) -> pd.DataFrame:
    """One row per run: gain over JPEG at equal rate per quality, cost, and gain per cost.

    Parameters
    ----------
    runs : mapping of str to path
        Variant name -> its run folder (``best.pt`` and ``log.csv``).
    val : sequence of (str, uint8 image)
        Validation images (not the test set).
    qualities : sequence of int
        JPEG qualities at which each post-filter is judged.
    timing_image : numpy.ndarray
        The image whose decode is timed (a 481x321 BSDS300 image in the study).
    reference : str, optional
        The run whose decode time is the unit of ``decode_x`` (default: the first).

    Returns
    -------
    pandas.DataFrame
        ``variant``, ``description``, ``steps``, ``train_s``, ``gmac_per_mpx``,
        ``decode_ms``, ``decode_x``, ``gain_q<Q>_db`` per quality, ``gain_db`` (their
        mean) and ``gain_per_decode_x`` (``gain_db`` / ``decode_x``).
    """
    from comp_lib.studies.ablations import macs_per_pixel

    images = [image for _, image in val]
    curve = jpeg_curve(images)
    rows = []
    for name, folder in runs.items():
        folder = Path(folder)
        codec = Codec.load(folder / "best.pt")
        log = pd.read_csv(folder / "log.csv")
        row = dict(variant=name, description=VARIANTS.get(name, ("", {}))[0],
                   steps=int(log.step.iloc[-1]), train_s=float(log.seconds.sum()),
                   gmac_per_mpx=macs_per_pixel(codec.reccnn) / 1e3,
                   decode_ms=decode_ms(codec, timing_image))  # fmt: skip
        gains = []
        for q in qualities:
            v = validate(codec, images, q)
            gains.append(gain_over_jpeg(v["psnr"], v["bpp"], curve)[1])
            row[f"gain_q{q}_db"] = gains[-1]
        row["gain_db"] = float(np.mean(gains))
        rows.append(row)
    table = pd.DataFrame(rows)
    unit = table.set_index("variant").decode_ms[reference or table.variant.iloc[0]]
    table.insert(table.columns.get_loc("decode_ms") + 1, "decode_x", table.decode_ms / unit)
    table["gain_per_decode_x"] = table.gain_db / table.decode_x
    return table


def self_ensemble_table(
    codec: Codec,
    images: Sequence[tuple[str, np.ndarray]],
    qualities: Sequence[int],
    sizes: Sequence[int],
    timing_image: np.ndarray,
    unit: Codec,
    repeat: int = 3,
) -> pd.DataFrame:
    """What decoding a post-filter as a geometric self-ensemble buys, and what it costs.

    The same JPEG bytes decoded by ``codec`` averaged over ``n`` flips and transposes
    (:mod:`comp_lib.coding.ensemble`) for each ``n`` of ``sizes``. One row per
    ``(n, quality)``: the mean ``bpp``, ``psnr`` and ``ssim`` over ``images``;
    ``gain_db``, PSNR minus JPEG's at the same quality (the bytes are JPEG's plus
    the header); ``ensemble_gain_db``, minus the same model's at ``sizes[0]``;
    ``decode_ms``, the median decode of ``timing_image`` at quality 10 over ``repeat``
    rounds, and ``decode_x``, that over ``unit``'s median. Each round times ``unit`` and
    every size once, one after the other (:func:`interleaved_decode_ms`).
    """
    _check_post_filter(codec.name, codec)  # before the timing
    before, rows = codec.self_ensemble, []

    def decoded_as(n: int):
        def timing() -> float:
            codec.self_ensemble = n
            return decode_ms(codec, timing_image, repeat=1)

        return timing

    try:
        timings = {"unit": lambda: decode_ms(unit, timing_image, repeat=1)}
        ms = interleaved_decode_ms(timings | {n: decoded_as(n) for n in sizes}, repeat)
        # one codec per size (shallow copies share the weights), so JPEG is decoded once
        decoders = {n: copy.copy(codec) for n in sizes}
        for n, decoder in decoders.items():
            decoder.self_ensemble = n
        names = {f"{codec.name} x{n}": n for n in sizes}
        found = gain_by_quality({name: decoders[n] for name, n in names.items()},
                                images, qualities, True)  # fmt: skip
        found = found[found.codec != "JPEG"].assign(n=lambda t: t.codec.map(names))
        for m in found.sort_values(["n", "quality"]).itertuples():
            rows.append(dict(model=codec.name, self_ensemble=m.n, quality=m.quality, bpp=m.bpp,
                             psnr=m.psnr, ssim=m.ssim, gain_db=m.gain_db,
                             decode_ms=ms[m.n], decode_x=ms[m.n] / ms["unit"]))  # fmt: skip
    finally:
        codec.self_ensemble = before
    table = pd.DataFrame(rows)
    first = table[table.self_ensemble == sizes[0]].set_index("quality").psnr
    table.insert(7, "ensemble_gain_db", table.psnr - table.quality.map(first))
    return table


def _check_post_filter(name: str, codec: Codec) -> None:
    if codec.comcnn is not None:
        raise ValueError(f"{name!r} is a down/up model, not a post-filter (ComCNN in front)")


def gain_by_quality(
    codecs: Mapping[str, Codec],
    images: Sequence[tuple[str, np.ndarray]],
    qualities: Sequence[int],
    progress: bool = False,
) -> pd.DataFrame:
    """Post-filters against JPEG on the same bytes, quality by quality.

    Every image is coded by JPEG at each quality and decoded by JPEG and by each
    post-filter of ``codecs`` (name -> codec); a post-filter's bytes are JPEG's plus
    its header, hence its slightly higher ``bpp``.

    Returns
    -------
    pandas.DataFrame
        One row per codec (JPEG first) and quality: ``codec``, ``quality`` and the
        means over ``images`` of ``bpp``, ``psnr`` and ``ssim``; ``gain_db``, PSNR
        minus JPEG's at the same quality (0 for JPEG's own rows).

    Raises
    ------
    ValueError
        For a down/up model (ComCNN in front: its bytes are not JPEG's at that quality).
    """
    from comp_lib.baselines import JPEGCodec
    from comp_lib.evaluate import evaluate

    for name, codec in codecs.items():
        _check_post_filter(name, codec)
    rows = [evaluate(JPEGCodec(), images, qualities, "JPEG", progress=progress)]
    rows += [evaluate(codec, images, qualities, name, progress=progress)
             for name, codec in codecs.items()]  # fmt: skip
    means = pd.concat(rows, ignore_index=True).groupby(["codec", "setting"], sort=False)
    means = means[["bpp", "psnr", "ssim"]].mean()
    table = means.reset_index()
    table.insert(1, "quality", table.pop("setting"))
    table["gain_db"] = table.psnr - table.quality.map(means.loc["JPEG"].psnr)
    return table


def quantisation_constraint_table(
    codec: Codec,
    images: Sequence[tuple[str, np.ndarray]],
    qualities: Sequence[int],
    progress: bool = False,
) -> pd.DataFrame:
    """Does a post-filter keep to what the JPEG bytes fix, and would forcing it help?

    Every grayscale image is coded by ``codec`` at each quality; its output ``x_hat`` is
    set beside the JPEG decode of the same payload and beside ``x_hat`` moved into the
    file's quantisation intervals (:func:`comp_lib.dct.quantisation_projection`, which
    brings no guess farther from the original).

    Returns
    -------
    pandas.DataFrame
        One row per quality, the means over ``images`` of: ``moved_percent``, the share of
        ``x_hat``'s 8x8 DCT coefficients outside their interval (in %); ``psnr_jpeg``,
        ``psnr`` (``x_hat``'s) and ``psnr_projected``; and ``projection_gain_db``, the
        last minus ``psnr``.

    Raises
    ------
    ValueError
        For a down/up model (ComCNN in front: its bytes are not JPEG's of the image).
    """
    from comp_lib import jpeg
    from comp_lib.coding.bitstream import parse_header
    from comp_lib.dct import quantisation_projection
    from comp_lib.metrics import psnr

    _check_post_filter(codec.name, codec)
    rows = []
    for _, image in tqdm(images, desc="quantisation intervals", disable=not progress):
        for quality in qualities:
            data = codec.compress(image, quality)
            payload = parse_header(data, codec.max_pixels)["payload"]
            decoded, table = jpeg.decode(payload), jpeg.read_quant_tables(payload)[0]
            x_hat = codec.decompress(data)
            projected, moved = quantisation_projection(x_hat, decoded, table)
            rows.append(dict(quality=quality, moved_percent=100.0 * moved,
                             psnr_jpeg=psnr(image, decoded), psnr=psnr(image, x_hat),
                             psnr_projected=psnr(image, projected)))  # fmt: skip
    table = pd.DataFrame(rows).groupby("quality", as_index=False).mean()
    table["projection_gain_db"] = table.psnr_projected - table.psnr
    return table


def receptive_radius(net: nn.Module, side: int | None = None) -> int:
    """The measured receptive field of a reconstruction network, as a radius in pixels.

    How far from an output pixel the input can change it: the gradient of the centre
    output pixel of a ``side`` x ``side`` random image, in a copy of ``net`` whose
    convolutions are redrawn at random (a last layer at zero, as a fresh post-filter
    starts, would hide every path), in eval mode. The radius is the half-width of the
    smallest square around the centre holding every input pixel with a nonzero gradient
    (Chebyshev distance), so 1 for one 3x3 convolution, ``n`` for ``n`` of them.
    Without ``side``, probes of 96, 192, 384 then 768 pixels are tried until one holds
    the field.

    Raises
    ------
    ValueError
        When the field reaches the probe's edge: ``side`` is too small to measure it.
    """
    if side is None:
        for side in (96, 192, 384):
            try:
                return receptive_radius(net, side)
            except ValueError:
                continue
        return receptive_radius(net, 768)
    from comp_lib.jpeg import quant_table

    probe = copy.deepcopy(net).float().eval()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in probe.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                m.weight.normal_(0, m.weight[0].numel() ** -0.5, generator=generator)
    x = torch.randn(1, probe.config["in_channels"], side, side, generator=generator)
    x.requires_grad_(True)
    quant = quant_table(10) if getattr(probe, "quality_aware", False) else None
    c = side // 2
    probe(x, quant)[0, :, c, c].sum().backward()
    rows, cols = np.nonzero(x.grad.abs().sum(dim=(0, 1)).numpy())
    radius = int(max(np.abs(rows - c).max(), np.abs(cols - c).max()))
    if min(rows.min(), cols.min()) == 0 or max(rows.max(), cols.max()) == side - 1:
        raise ValueError(f"the receptive field reaches the edge of the {side}-pixel probe; "
                         "measure with a larger side")  # fmt: skip
    return radius


def variant_shapes(names: Sequence[str] | None = None) -> pd.DataFrame:
    """Size, cost and context of each post-filter variant (fresh networks, no training).

    Returns one row per variant of :data:`VARIANTS` (or ``names``): ``variant``,
    ``description``, ``parameters``, ``gmac_per_mpx`` (multiply-adds per megapixel,
    billions), ``receptive_radius_px`` (:func:`receptive_radius`) and
    ``radius_per_gmac`` (context per unit of cost).
    """
    from comp_lib.studies.ablations import macs_per_pixel

    rows = []
    for name in names or list(VARIANTS):
        net = BankConfig(**_variant(name)).network()
        rows.append(dict(variant=name, description=VARIANTS[name][0],
                         parameters=sum(p.numel() for p in net.parameters()),
                         gmac_per_mpx=macs_per_pixel(net) / 1e3,
                         receptive_radius_px=receptive_radius(net)))  # fmt: skip
    table = pd.DataFrame(rows)
    table["radius_per_gmac"] = table.receptive_radius_px / table.gmac_per_mpx
    return table
