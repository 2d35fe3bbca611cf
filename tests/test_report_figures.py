"""Every figure of the notebooks, drawn from the committed tables and shipped logs."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

from comp_lib.config import PROJECT_ROOT, WEIGHTS_DIR
from comp_lib.report import figures

matplotlib.use("Agg")

TABLES = PROJECT_ROOT / "reports" / "tables"


@pytest.fixture
def saved(tmp_path, monkeypatch):
    """Save a figure under a temporary reports folder; return its PNG's path and labels."""
    monkeypatch.setenv("COMP_LIB_REPORTS", str(tmp_path))

    def save(fig, name):
        path = figures.save_figure(fig, name)
        labels = [(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes]
        matplotlib.pyplot.close(fig)
        assert path == tmp_path / "figures" / f"{name}.png"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert not list(path.parent.glob(".*.tmp"))  # written whole, then renamed
        return labels

    return save


def test_training_curves_of_a_shipped_log(saved):
    log = pd.read_csv(WEIGHTS_DIR / "rec32x20.log.csv")
    fig = figures.plot_training_curves(log, "shipped model rec32x20")
    assert fig._suptitle.get_text() == "shipped model rec32x20"
    assert saved(fig, "02_training_curves") == [("epoch", "loss"), ("epoch", "PSNR (dB)")]


def test_images_side_by_side(saved):
    rng = np.random.default_rng(0)
    panels = {"uint8": rng.integers(0, 256, (12, 10), dtype=np.uint8),
              "float": rng.normal(size=(12, 10))}  # fmt: skip
    fig = figures.show_images(panels, ncols=3, size=1.0, crop=(slice(2, 8), slice(None)))
    assert [ax.get_title() for ax in fig.axes[:2]] == ["uint8", "float"]
    assert fig.axes[0].images[0].get_array().shape == (6, 10)
    saved(fig, "images")


def test_rd_curves(saved):
    curves = pd.read_csv(TABLES / "model_quality_best_curves.csv")
    fig = figures.plot_rd(curves, "BSDS300", max_rate=0.6)
    labels = saved(fig, "rd")
    assert labels == [("bits per pixel (real bytes)", "PSNR (dB)"),
                      ("bits per pixel (real bytes)", "SSIM")]  # fmt: skip


def test_one_ablation(saved):
    fig = figures.plot_ablation(pd.read_csv(TABLES / "04_pooling.csv"), "pooling")
    assert saved(fig, "04_pooling") == [
        ("BD-rate (PSNR) vs JPEG, % (lower is better)", ""),
        ("PSNR gain over JPEG at 0.3 bpp, dB", ""),
    ]


def test_size_against_cost(saved):
    size = pd.read_csv(TABLES / "04_size.csv")
    fig = figures.plot_size_cost(size)
    assert all(ax.get_xscale() == "log" for ax in fig.axes)
    assert saved(fig, "04_size_cost") == [
        ("RecCNN GMAC per megapixel", "PSNR gain over JPEG at 0.3 bpp (dB)"),
        ("decode ms per 180x180 image", ""),
    ]


def test_trained_against_tested_quality(saved):
    matrix = pd.read_csv(TABLES / "04_quality_matrix.csv").set_index("variant")
    fig = figures.plot_quality_matrix(matrix)
    ax = fig.axes[0]
    assert len(ax.texts) == matrix.size  # every cell annotated
    assert ax.get_title() == "PSNR gain over JPEG at equal bpp (dB)"
    assert saved(fig, "04_quality_matrix")[0] == ("inner JPEG quality at test time", "")


def test_dissertation_rates(saved):
    rates = pd.read_csv(TABLES / "04_dissertation_rates.csv")
    rates = pd.concat([rates, pd.DataFrame([dict(variant="reported", psnr=24.0, bpp=np.nan)])])
    fig = figures.plot_dissertation_rates(rates)  # not a range index: labels still one a bar
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[0] == f"{rates.bpp.iloc[0]:.2f} bpp" and texts[-1] == "bpp not reported"
    assert [t.get_position()[1] for t in fig.axes[0].texts] == list(range(len(rates)))
    assert saved(fig, "04_dissertation_rates") == [("PSNR (dB)", "")]


def test_jpeg_is_drawn_the_same_way_everywhere_and_ours_bold():
    from comp_lib.report.figures import REFERENCE_STYLE, codec_style

    assert codec_style("JPEG") == dict(REFERENCE_STYLE, label="JPEG")
    assert codec_style("JPEG")["color"] == "black" and codec_style("JPEG")["linestyle"] == "--"
    assert codec_style("ours")["linewidth"] > 2 * codec_style("WebP")["linewidth"]
    colours = [codec_style(n)["color"] for n in ("ours", "RecCNN only", "WebP", "AVIF", "JPEG")]
    assert len(set(colours)) == len(colours)
