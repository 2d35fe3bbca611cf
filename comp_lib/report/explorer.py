"""The quality explorer of ``notebooks/01_method``: one image, one inner JPEG quality, three codecs.

At an inner JPEG ``quality`` the explorer codes one grayscale image three ways and measures
each from its real bytes:

* ``ComCNN+RecCNN``: the :class:`~comp_lib.coding.Codec` (shipped or untrained) at ``quality``;
* ``JPEG``: plain JPEG at the quality whose rate on this image is closest to ComCNN+RecCNN's
  (:func:`comp_lib.jpeg.quality_for_bpp`), i.e. at the same rate;
* ``bicubic+JPEG``: the no-learning baseline (:class:`~comp_lib.coding.BicubicCodec`: bicubic
  /2, JPEG, bicubic x2) at the inner quality whose rate is closest to ComCNN+RecCNN's
  (:func:`closest_quality`).

:meth:`QualityExplorer.rows` is the one implementation; :meth:`QualityExplorer.widget` (an
ipywidgets slider, for JupyterLab) and :meth:`QualityExplorer.table` /
:meth:`QualityExplorer.grid` (its static stand-in, for papermill) call it.

:func:`jpeg_costs` splits a JPEG file's bytes into its fixed header and its per-block scan,
which is what makes the half-resolution image cheap at low rates.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from comp_lib import jpeg
from comp_lib.coding import BicubicCodec
from comp_lib.metrics import bpp, psnr, ssim
from comp_lib.report.numbers import for_people

__all__ = [
    "CODECS",
    "Coded",
    "QualityExplorer",
    "closest_quality",
    "jpeg_costs",
    "scan_start",
]

#: The explorer's three codecs, in the order of its rows.
CODECS = ("ComCNN+RecCNN", "JPEG", "bicubic+JPEG")


@dataclass(frozen=True)
class Coded:
    """One codec's result on the image: its setting, its real bytes and its reconstruction."""

    codec: str
    quality: int
    data: bytes
    x_hat: np.ndarray


def scan_start(data: bytes) -> int:
    """Offset of the entropy-coded scan of a baseline JPEG file: the bytes before it are headers.

    Walks the marker segments from SOI (``FF D8``) to the end of the first SOS (``FF DA``)
    segment; everything before that offset (quantisation and Huffman tables, frame and scan
    headers) is a fixed cost of the file, whatever the image holds.

    Raises
    ------
    ValueError
        If ``data`` is not a JPEG file or has no scan.
    """
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG file (no SOI marker)")
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError(f"corrupt JPEG file: no marker at byte {pos}")
        marker, length = data[pos + 1], int.from_bytes(data[pos + 2 : pos + 4], "big")
        pos += 2 + length
        if marker == 0xDA:
            return pos
    raise ValueError("JPEG file without a scan (no SOS marker)")


def jpeg_costs(images: dict[str, np.ndarray], qualities, pixels: int) -> pd.DataFrame:
    """What JPEG spends on each image at each quality: header, scan, and bits per 8x8 block.

    Parameters
    ----------
    images : dict
        Name -> ``(H, W)`` ``uint8`` image (e.g. the original and its half-resolution compact
        image).
    qualities : iterable of int
        JPEG qualities.
    pixels : int
        Pixels the rate is counted over (the original's ``H * W``, so that a compact image's
        bytes are charged to the image it stands for).

    Returns
    -------
    pandas.DataFrame
        One row per image and quality: ``image``, ``size`` ("HxW"), ``quality``, ``blocks``
        (8x8 blocks JPEG codes), ``header_bytes``, ``scan_bytes``, ``bytes`` (the whole file),
        ``bpp`` (``8 * bytes / pixels``) and ``bits_per_block`` (scan bits per block).
    """
    rows = []
    for name, image in images.items():
        h, w = image.shape
        blocks = math.ceil(h / 8) * math.ceil(w / 8)
        for quality in qualities:
            data = jpeg.encode(image, quality)
            header = scan_start(data)
            rows.append(dict(image=name, size=f"{h}x{w}", quality=quality, blocks=blocks,
                             header_bytes=header, scan_bytes=len(data) - header, bytes=len(data),
                             bpp=8 * len(data) / pixels,
                             bits_per_block=8 * (len(data) - header) / blocks))  # fmt: skip
    return pd.DataFrame(rows)


def closest_quality(coder, image: np.ndarray, target: float) -> tuple[int, bytes]:
    """The quality (1..95) of ``coder`` whose rate on ``image`` is closest to ``target`` bpp.

    The rate grows with the quality, so a bisection finds the two qualities that bracket
    the target (as :func:`comp_lib.jpeg.quality_for_bpp` does for plain JPEG); the closer
    one is returned with its bytes.
    """
    cache: dict[int, bytes] = {}

    def rate(q: int) -> float:
        if q not in cache:
            cache[q] = coder.compress(image, q)
        return bpp(cache[q], image.shape)

    lo, hi = jpeg.QUALITY_RANGE
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if rate(mid) < target else (lo, mid)
    best = min((lo, hi), key=lambda q: abs(rate(q) - target))
    return best, cache[best]


class QualityExplorer:
    """ComCNN+RecCNN, JPEG at its rate and bicubic+JPEG on one image, one quality at a time.

    Results are cached per quality, so moving a slider back is instant.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W)`` ``uint8`` grayscale image.
    codec : comp_lib.coding.Codec
        The learned codec (any coder with ``compress(image, quality)`` and ``decompress``).
    crop : tuple of slice, optional
        The region :meth:`figure`, :meth:`grid` and :meth:`widget` show (default: all).
    """

    def __init__(self, image: np.ndarray, codec, crop: tuple[slice, slice] | None = None) -> None:
        self.image = jpeg.check_image(image)
        self.codec = codec
        self.baseline = BicubicCodec()
        self.crop = crop or (slice(None), slice(None))
        self._cache: dict[int, list[Coded]] = {}

    def code(self, quality: int) -> list[Coded]:
        """The three codecs' results at inner JPEG ``quality`` (in :data:`CODECS` order)."""
        quality = jpeg.check_quality(quality)
        if quality not in self._cache:
            ours = self.codec.compress(self.image, quality)
            target = bpp(ours, self.image.shape)
            jpeg_quality, jpeg_data = jpeg.quality_for_bpp(self.image, target)
            base_quality, base = closest_quality(self.baseline, self.image, target)
            self._cache[quality] = [
                Coded(CODECS[0], quality, ours, self.codec.decompress(ours)),
                Coded(CODECS[1], jpeg_quality, jpeg_data, jpeg.decode(jpeg_data)),
                Coded(CODECS[2], base_quality, base, self.baseline.decompress(base)),
            ]
        return self._cache[quality]

    def rows(self, quality: int) -> pd.DataFrame:
        """Rate and quality of the three codecs at inner JPEG ``quality``.

        Returns
        -------
        pandas.DataFrame
            One row per codec: ``codec``, ``quality`` (ComCNN+RecCNN's is ``quality``; the
            others' are chosen to match its rate), ``bytes``, ``bpp``, ``psnr`` (dB), ``ssim``
            and ``rate_vs_ours_%`` (how far each rate is from ComCNN+RecCNN's: not 0 where a
            codec's quality steps are coarse, or where its lowest rate, at quality 1, is
            above ours).
        """
        coded = self.code(quality)
        ours_bpp = bpp(coded[0].data, self.image.shape)
        rows = []
        for c in coded:
            rate = bpp(c.data, self.image.shape)
            rows.append(dict(codec=c.codec, quality=c.quality, bytes=len(c.data), bpp=rate,
                             psnr=psnr(self.image, c.x_hat), ssim=ssim(self.image, c.x_hat),
                             **{"rate_vs_ours_%": 100 * (rate / ours_bpp - 1)}))  # fmt: skip
        return pd.DataFrame(rows)

    def table(self, qualities) -> pd.DataFrame:
        """:meth:`rows` at each quality, with the inner quality in the first column."""
        tables = [self.rows(q).assign(inner_quality=q) for q in qualities]
        table = pd.concat(tables, ignore_index=True)
        return table[["inner_quality", *table.columns[:-1]]]

    def _panels(self, quality: int) -> dict[str, np.ndarray]:
        rows = self.rows(quality)
        return {
            f"{r.codec} q={r.quality}\n{r.bpp:.3f} bpp, {r.psnr:.2f} dB": c.x_hat[self.crop]
            for r, c in zip(rows.itertuples(), self.code(quality), strict=True)
        }

    def figure(self, quality: int, size: float = 3.0):
        """The three reconstructions at inner ``quality`` (cropped), rate and PSNR in the titles."""
        return self.grid([quality], size=size)

    def grid(self, qualities, size: float = 2.6):
        """The static stand-in of the slider: one row per inner quality, one column per codec."""
        h, w = self.image[self.crop].shape
        figsize = (size * len(CODECS), (size * h / w + 0.5) * len(qualities))
        fig, axes = plt.subplots(len(qualities), len(CODECS), figsize=figsize, squeeze=False)
        for row, quality in zip(axes, qualities, strict=True):
            for ax, (title, x_hat) in zip(row, self._panels(quality).items(), strict=True):
                ax.imshow(x_hat, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
                ax.set_title(title, fontsize=8)
                ax.set_xticks([])
                ax.set_yticks([])
            row[0].set_ylabel(f"inner quality {quality}", fontsize=9)
        fig.tight_layout()
        return fig

    def render(self, quality: int, images: bool = True) -> tuple[str, bytes | None]:
        """What the slider shows at ``quality``: the rows as an HTML table, the images as PNG
        (``None`` without ``images``)."""
        html = for_people(self.rows(quality)).to_html(index=False)
        if not images:
            return html, None
        fig = self.figure(quality)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        plt.close(fig)
        return html, buf.getvalue()

    def widget(self, value: int = 10, qualities: tuple[int, int] = (1, 95), images: bool = True):
        """A slider over the inner JPEG quality that updates the table (and the images).

        Parameters
        ----------
        value : int
            The quality shown first.
        qualities : tuple of int
            The slider's range.
        images : bool
            Also show the three reconstructions.

        Returns
        -------
        ipywidgets.VBox
            The slider, the table (``children[1]``, an ``HTML`` widget) and the images
            (``children[2]``, an ``Image`` widget, when ``images``). Computing a new quality
            takes about a second on a CPU; the slider updates when it is released.
        """
        import ipywidgets as widgets

        slider = widgets.IntSlider(value=value, min=qualities[0], max=qualities[1],
                                   description="quality", continuous_update=False)  # fmt: skip
        table = widgets.HTML()
        picture = widgets.Image(format="png")

        def update(change=None) -> None:
            table.value, png = self.render(slider.value, images)
            if png is not None:
                picture.value = png

        slider.observe(update, names="value")
        update()
        return widgets.VBox([slider, table, *([picture] if images else [])])
