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
    gain = fig.axes[1]
    assert [line.get_linestyle() for line in gain.lines] == ["--", "-"]  # JPEG at 0 dB, ours
    assert list(gain.lines[0].get_ydata()) == [0.0, 0.0]
    assert list(gain.lines[1].get_ydata()) == list(log.val_gain_db)
    assert saved(fig, "02_training_curves") == [
        ("epoch", "training loss, mean over the epoch"),
        ("epoch", "validation PSNR gain over JPEG (dB)"),
    ]


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
    curves = curves.assign(codec=curves.codec.replace({"best": "ours"}))  # the shipped ladder
    fig = figures.plot_rd(curves, "BSDS300", max_rate=0.6)
    psnr_axis = fig.axes[0]
    assert all(ax.get_xscale() == "log" for ax in fig.axes)
    lines = {line.get_label(): line for line in psnr_axis.get_lines()}
    assert lines["JPEG"].get_linestyle() == "--" and lines["JPEG"].get_color() == "black"
    assert lines["ours"].get_linewidth() > 2 * lines["bicubic+JPEG"].get_linewidth()
    assert fig.axes[1].get_legend().get_bbox_to_anchor().x0 > fig.axes[1].bbox.x1  # outside
    assert [t.get_text() for t in psnr_axis.texts] == ["upper left is better"]
    labels = saved(fig, "rd")
    assert labels == [("bits per pixel (real bytes, log scale)", "PSNR (dB)"),
                      ("bits per pixel (real bytes, log scale)", "SSIM")]  # fmt: skip


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


def test_jpeg_is_drawn_the_same_way_everywhere_and_ours_bold():
    from comp_lib.report.figures import REFERENCE_STYLE, codec_style

    assert codec_style("JPEG") == dict(REFERENCE_STYLE, label="JPEG")
    assert codec_style("JPEG")["color"] == "black" and codec_style("JPEG")["linestyle"] == "--"
    assert codec_style("ours")["linewidth"] > 2 * codec_style("WebP")["linewidth"]
    colours = [codec_style(n)["color"] for n in ("ours", "RecCNN only", "WebP", "AVIF", "JPEG")]
    assert len(set(colours)) == len(colours)


def test_images_at_their_true_relative_size(saved, image):
    half = image[::2, ::2]
    fig = figures.show_images_to_scale({"x": image, "half": half}, pixels_per_inch=100)
    inches = [ax.get_position().width * fig.get_figwidth() for ax in fig.axes]
    heights = [ax.get_position().height * fig.get_figheight() for ax in fig.axes]
    assert inches == pytest.approx([image.shape[1] / 100, half.shape[1] / 100])
    assert heights == pytest.approx([image.shape[0] / 100, half.shape[0] / 100])
    h, w = half.shape
    assert fig.axes[1].get_title() == f"half\n{w} wide x {h} high (pixels)"
    saved(fig, "to_scale")


def test_signed_images_on_a_diverging_scale_centred_on_zero(saved, image):
    x = image.astype(np.float64)
    diff = x[:, 1:] - x[:, :-1]
    fig = figures.show_signed({"horizontal difference": diff}, unit="gray levels", grid=16)
    ax = fig.axes[0]
    low, high = ax.images[0].get_clim()
    assert -low == high == pytest.approx(np.percentile(np.abs(diff), 99))
    assert ax.images[0].get_cmap().name == "RdBu_r"
    assert fig.axes[1].get_ylabel() == "gray levels"  # the colour bar
    assert len(ax.lines) == (diff.shape[1] - 1) // 16 + (diff.shape[0] - 1) // 16
    saved(fig, "signed")


def test_error_maps_share_one_colour_scale(saved, image):
    from comp_lib import jpeg

    coarse, fine = (jpeg.decode(jpeg.encode(image, q)) for q in (5, 50))
    fig = figures.show_error_maps(image, {"q=5": coarse, "q=50": fine}, vmax=40)
    maps = [ax.images[0] for ax in fig.axes[:2]]
    assert [m.get_clim() for m in maps] == [(0, 40), (0, 40)]
    expected = np.abs(image.astype(np.float64) - coarse.astype(np.float64))
    np.testing.assert_array_equal(maps[0].get_array(), expected)
    assert fig.axes[2].get_ylabel() == "|x - x_hat| (gray levels, 0..255)"
    saved(fig, "errors")


def _jpeg_curve(bsds_test):
    """JPEG's mean curve on three real BSDS300 test images at 180x180 (the ablations' size)."""
    from comp_lib.baselines import JPEGCodec
    from comp_lib.evaluate import evaluate
    from comp_lib.rd import rd_curves

    small = [(n, img[:180, :180]) for n, img in bsds_test[:3]]
    rows = evaluate(JPEGCodec(), small, range(1, 96, 4), "JPEG", progress=False)
    return small, rd_curves(rows)


def test_ablation_rd_curves_and_gains_by_psnr_and_ssim(saved, bsds_test):
    from comp_lib.rd import psnr_at_rate

    _, jpeg = _jpeg_curve(bsds_test)
    curves = pd.read_csv(TABLES / "04_curves.csv")
    loss = curves[curves.ablation == "loss"]
    fig = figures.plot_ablation_rd(loss, jpeg, "loss", max_rate=0.6, metrics=("psnr", "ssim"))
    rd_psnr, gain_psnr, rd_ssim, gain_ssim = fig.axes
    assert rd_psnr.lines[0].get_linestyle() == "--" and rd_psnr.lines[0].get_color() == "black"
    assert gain_ssim.lines[0].get_linestyle() == "--"  # JPEG: the zero line
    assert all(ax.get_xscale() == "log" for ax in fig.axes)
    # the SSIM-loss model's gain, computed here from the table: mean over seeds, minus JPEG
    ssim = loss[loss.variant == "SSIM loss"].groupby("setting")[["bpp", "ssim"]].mean()
    ssim = ssim[ssim.bpp <= 0.6 * 1.05].sort_values("bpp")
    drawn = next(line for line in gain_ssim.lines if line.get_label() == "SSIM loss")
    expected = ssim.ssim - psnr_at_rate(jpeg, ssim.bpp.to_numpy(), "ssim")
    np.testing.assert_allclose(drawn.get_ydata(), expected, equal_nan=True)
    labels = [text.get_text() for text in gain_psnr.get_legend().get_texts()]
    assert labels[1:4] == ["MSE loss", "L1 loss", "SSIM loss"]
    # two seeds: each seed's points as dots around the mean, one set per variant
    dots = gain_ssim.collections[2].get_offsets()
    seeds = loss[(loss.variant == "SSIM loss") & loss.setting.isin(ssim.index)]
    assert len(gain_ssim.collections) == 3 and len(dots) == len(seeds) == 2 * len(ssim)
    assert saved(fig, "04_loss_rd") == [
        ("bits per pixel (real bytes, log scale)", "PSNR (dB)"),
        ("bits per pixel (real bytes, log scale)", "PSNR gain over JPEG\nat equal bpp (dB)"),
        ("bits per pixel (real bytes, log scale)", "SSIM"),
        ("bits per pixel (real bytes, log scale)", "SSIM gain over JPEG\nat equal bpp"),
    ]


def test_gain_curves_of_the_committed_components(saved):
    curves = pd.read_csv(TABLES / "04_curves.csv")
    components = curves[curves.ablation == "components"]
    fig = figures.plot_gain_curves(components, "components", at_rate=0.3, max_rate=0.6)
    ax = fig.axes[0]
    both = components[components.variant == "both (ComCNN + RecCNN)"].dropna(subset=["gain_db"])
    both = both.groupby("setting")[["bpp", "gain_db"]].mean().sort_values("bpp")
    both = both[both.bpp <= 0.63]
    drawn = next(line for line in ax.lines if line.get_label() == "both (ComCNN + RecCNN)")
    np.testing.assert_allclose(drawn.get_ydata(), both.gain_db)
    marked = [line for line in ax.lines if line.get_label().startswith("0.3 bpp")]
    assert len(marked) == 1 and list(marked[0].get_xdata()) == [0.3, 0.3]
    assert saved(fig, "04_gain_curves") == [
        ("bits per pixel (real bytes, log scale)", "PSNR gain over JPEG\nat equal bpp (dB)")
    ]


def test_why_the_dissertation_lost_on_one_rd_figure(saved, bsds_test):
    from comp_lib.rd import psnr_at_rate
    from comp_lib.studies.protocols import dissertation_jpeg_match

    small, jpeg = _jpeg_curve(bsds_test)
    match = dissertation_jpeg_match(small, qualities=range(40, 96, 5))
    rates = pd.read_csv(TABLES / "04_dissertation_rates.csv")
    models = rates.dropna(subset=["gain_db"]).head(3)  # the protocol and two faults
    fig = figures.plot_dissertation_rd(jpeg, models, match)
    ax = fig.axes[0]
    assert ax.lines[0].get_linestyle() == "--" and ax.lines[0].get_color() == "black"
    assert ax.get_xscale() == "log"
    ratio = match.bpp / models.bpp.iloc[0]
    texts = [t.get_text() for t in ax.texts]
    assert f"JPEG spent {ratio:.1f}x the model's bits\nfor its {match.psnr:.2f} dB" in texts
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    same = psnr_at_rate(jpeg, models.bpp.iloc[0])
    assert f"JPEG at the model's rate: {same:.2f} dB" in legend
    assert any(t.startswith(f"JPEG q={int(match.setting)}: ") for t in legend)
    square = next(line for line in ax.lines if line.get_marker() == "s" and
                  line.get_color() == "black")  # fmt: skip
    assert (square.get_xdata()[0], square.get_ydata()[0]) == (match.bpp, match.psnr)
    assert saved(fig, "04_dissertation_rd") == [
        ("bits per pixel (real bytes, log scale)", "PSNR (dB)")
    ]


def test_the_area_a_bd_rate_integrates(saved):
    curves = pd.read_csv(TABLES / "model_quality_best_curves.csv")
    jpeg, ours = (curves[curves.codec == c].sort_values("bpp") for c in ("JPEG", "best"))
    lo, hi = max(jpeg.psnr.min(), ours.psnr.min()), min(jpeg.psnr.max(), ours.psnr.max())
    fig = figures.plot_bd_area(jpeg, ours, (lo, hi), bd_rate=-30.0)
    ax = fig.axes[0]
    (area,) = ax.collections[-1:]  # the shaded gap, between the two curves' log-rates
    ys = area.get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(lo) and ys.max() == pytest.approx(hi)
    assert ax.get_title().startswith("BD-rate of ours against JPEG: -30.00 %")
    assert saved(fig, "bd_area") == [("bits per pixel (real bytes, log scale)", "PSNR (dB)")]


def test_bd_rate_per_image_beside_the_mean_curves(saved):
    per_image = pd.DataFrame(
        {
            "codec": ["ours"] * 3 + ["AVIF"] * 2,
            "bd_rate_psnr_%": [-30.0, -20.0, np.nan, -40.0, -35.0],
        }
    )
    summary = pd.DataFrame({"codec": ["ours", "AVIF"], "bd_rate_mean_curve_%": [-28.0, -45.0],
                            "bd_rate_per_image_mean_%": [-25.0, -37.5]})  # fmt: skip
    fig = figures.plot_bd_per_image(per_image, summary, ["ours", "AVIF"])
    ax = fig.axes[0]
    dots = [c.get_offsets() for c in ax.collections]
    assert len(dots[0]) == 2  # ours' two defined images; NaN left out
    assert dots[2][0][0] == -28.0  # the mean curves' BD-rate, a cross
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ours", "AVIF"]
    assert saved(fig, "bd_per_image")[0][0].startswith("BD-rate against JPEG")


def test_gain_per_image_against_bpp(saved):
    gains = pd.DataFrame(
        {
            "image": ["a", "a", "b", "b"],
            "setting": [1, 2, 1, 2],
            "bpp": [0.1, 0.3, 0.2, 0.4],
            "gain_db": [1.0, 0.5, 2.0, np.nan],
        }
    )
    fig = figures.plot_gain_per_image(gains)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and len(ax.collections[0].get_offsets()) == 3
    mean = ax.get_lines()[0]  # per setting: mean bpp, mean gain of the defined images
    assert mean.get_xdata().tolist() == pytest.approx([0.15, 0.3])
    assert mean.get_ydata().tolist() == pytest.approx([1.5, 0.5])
    assert saved(fig, "gain")[0] == ("bits per pixel (real bytes, log scale)",
                                     "PSNR gain over JPEG at equal bpp (dB)")  # fmt: skip


def test_crops_above_their_error_maps(saved, image):
    rng = np.random.default_rng(0)
    noisy = np.clip(image + rng.normal(0, 5, image.shape), 0, 255).astype(np.uint8)
    panels = {"original": image, "noisy: 1.000 bpp": noisy, "same": image}
    crop = (slice(10, 60), slice(20, 100))
    fig = figures.show_crops_with_errors(panels, crop=crop, ncols=2, vmax=20)
    axes = [ax for ax in fig.axes if ax.images]
    maps = [ax.images[0] for ax in axes if ax.images[0].get_cmap().name == "magma"]
    assert len(maps) == 2 and all(m.get_clim() == (0, 20) for m in maps)
    err = np.abs(image.astype(float) - noisy.astype(float))[crop]
    np.testing.assert_array_equal(maps[0].get_array(), err)
    assert axes[0].get_title() == "original" and axes[0].images[0].get_array().shape == (50, 80)
    saved(fig, "crops")


def test_gain_over_time_puts_each_run_on_its_own_clock(saved):
    logs = {
        "fast": pd.DataFrame({"seconds": [60.0, 60.0, 60.0], "val_gain_db": [0.0, 0.4, 0.6]}),
        "slow": pd.DataFrame({"seconds": [60.0, 120.0], "val_gain_db": [0.0, 0.5]}),
    }
    fig = figures.plot_gain_over_time(logs, {"fast": "a cheap net", "slow": "a costly one"})
    ax = fig.axes[0]
    runs = [line for line in ax.get_lines() if line.get_label().startswith(("fast", "slow"))]
    assert [list(line.get_xdata()) for line in runs] == [[1.0, 2.0, 3.0], [1.0, 3.0]]
    assert runs[0].get_label() == "fast: a cheap net"
    assert any(line.get_linestyle() == "--" and list(line.get_ydata()) == [0, 0]
               for line in ax.get_lines())  # fmt: skip
    saved(fig, "gain_over_time")


def test_gain_over_time_marks_where_a_later_phase_began(saved):
    log = pd.DataFrame({"seconds": [60.0, 60.0, 120.0, 60.0], "val_gain_db": [0.5, 0.8, 0.7, 0.9],
                        "phase": [1, 1, 2, 2]})  # fmt: skip
    fig = figures.plot_gain_over_time({"long": log}, {"long": "a post-filter"})
    marks = [line for line in fig.axes[0].get_lines() if line.get_linestyle() == ":"]
    assert len(marks) == 1 and list(marks[0].get_xdata()) == [2.0, 2.0]  # after phase 1's end
    assert marks[0].get_label() == "phase 2 starts (training continued)"
    assert "phase 2 starts (training continued)" in [
        t.get_text() for t in fig.axes[0].get_legend().get_texts()
    ]
    saved(fig, "gain_over_time_phases")


def test_gain_by_steps_draws_each_phase_and_its_pace(saved):
    log = pd.DataFrame({"step": [0, 100, 200, 400, 800, 1600, 3200],
                        "val_gain_db": [0.0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9],
                        "seconds": [60.0] * 7, "phase": [1, 1, 1, 1, 1, 2, 2]})  # fmt: skip
    fig = figures.plot_gain_by_steps(log, "a post-filter")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    points = [line for line in ax.get_lines() if line.get_linestyle() == "None"]
    assert [list(line.get_xdata()) for line in points] == [[100, 200, 400, 800], [1600, 3200]]
    paces = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert [list(line.get_xdata()) for line in paces] == [[400, 800], [800, 3200]]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "phase 1: +0.100 dB per doubling (steps 400-800, 5 min)" in labels
    assert "phase 2: +0.050 dB per doubling (steps 800-3200, 2 min)" in labels
    saved(fig, "gain_by_steps")


def test_post_filter_lesson_figures(saved):
    shapes = pd.DataFrame({"variant": ["a", "aq", "b"], "gmac_per_mpx": [100.0, 100.0, 400.0],
                           "receptive_radius_px": [40, 40, 20]})  # fmt: skip
    fig = figures.plot_variant_shapes(shapes, pd.Series({"a": 0.1, "aq": -0.1}))
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["a (+0.10 dB)\naq (-0.10 dB)", "b"]  # one shape, one point, two lines
    assert saved(fig, "shapes") == [("multiply-adds per megapixel (billions, GMAC/Mpx)",
                                     "measured receptive radius (pixels)")]  # fmt: skip
    by_quality = pd.DataFrame({"codec": ["JPEG", "JPEG", "net", "net"], "quality": [5, 10] * 2,
                               "gain_db": [0.0, 0.0, 1.2, 1.0]})  # fmt: skip
    fig = figures.plot_gain_by_quality(by_quality, (10, 1.4, "published"))
    reference, net, star = fig.axes[0].lines
    assert reference.get_linestyle() == "--" and list(reference.get_ydata()) == [0.0, 0.0]
    assert list(net.get_ydata()) == [1.2, 1.0] and list(star.get_ydata()) == [1.4]
    assert saved(fig, "by_quality") == [("JPEG quality of the bytes (log scale)",
                                         "PSNR gain over JPEG, same bytes (dB)")]  # fmt: skip
    response = pd.DataFrame({"quality": [5, 50, 5, 50], "layer": [0, 0, 1, 1],
                             "channels": [32, 32, 64, 64], "gamma_abs": [0.4, 0.2, 0.3, 0.1],
                             "beta_abs": [0.2, 0.1, 0.2, 0.1]})  # fmt: skip
    fig = figures.plot_film_response(response)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["32", "64"]
    assert list(fig.axes[0].lines[0].get_ydata()) == [0.4, 0.3]  # quality 5, layer by layer
    saved(fig, "film")
    ensemble = pd.DataFrame({"model": "net", "quality": 10, "self_ensemble": [1, 2, 8],
                             "decode_x": [1.8, 3.6, 12.6],
                             "gain_db": [1.27, 1.29, 1.32]})  # fmt: skip
    fig = figures.plot_ensemble_cost(ensemble, 1.4)
    assert list(fig.axes[0].lines[0].get_xdata()) == [1.8, 3.6, 12.6]
    assert [t.get_text() for t in fig.axes[0].texts] == ["x1", "x2", "x8"]
    assert saved(fig, "ensemble")[0][0].startswith("decode time of a 481x321 image")
