"""The post-filter lesson's measurements: gains on the same bytes, receptive fields, shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from comp_lib import jpeg
from comp_lib.coding import Codec
from comp_lib.metrics import psnr
from comp_lib.models import ComCNN, MultiScaleRecCNN, RecCNN
from comp_lib.studies.post_filters import (
    VARIANTS,
    gain_by_quality,
    quantisation_constraint_table,
    receptive_radius,
    variant_shapes,
)


def test_gain_by_quality_is_psnr_over_jpeg_on_the_same_bytes(bsds_test):
    images = [(name, image[:64, :80]) for name, image in bsds_test[:2]]
    shipped = Codec.load("unet32q")
    table = gain_by_quality({"unet32q": shipped}, images, [10, 30])
    assert list(table.codec) == ["JPEG", "JPEG", "unet32q", "unet32q"]
    assert list(table.quality) == [10, 30, 10, 30]
    assert (table.gain_db[table.codec == "JPEG"] == 0).all()
    for quality in (10, 30):
        jpeg_psnr = np.mean([psnr(im, jpeg.decode(jpeg.encode(im, quality))) for _, im in images])
        mine = np.mean([psnr(im, shipped.decompress(shipped.compress(im, quality)))
                        for _, im in images])  # fmt: skip
        row = table[(table.codec == "unet32q") & (table.quality == quality)].iloc[0]
        assert row.gain_db == pytest.approx(mine - jpeg_psnr, abs=1e-9)
        assert row.gain_db > 0.3  # the shipped post-filter beats JPEG on real crops
    # its bytes are JPEG's plus a header: a little more, never less
    jpeg_bpp = table[table.codec == "JPEG"].bpp.to_numpy()
    assert (table[table.codec == "unet32q"].bpp.to_numpy() > jpeg_bpp).all()
    with pytest.raises(ValueError, match="not a post-filter"):
        gain_by_quality({"down/up": Codec(ComCNN(channels=4), None)}, images, [10])


@pytest.mark.parametrize(("depth", "shuffle", "radius"), [(3, 1, 3), (8, 1, 8), (4, 2, 9)])
def test_receptive_radius_of_plain_stacks_by_hand(depth, shuffle, radius):
    # n 3x3 convolutions at full resolution see n pixels; at half resolution (pixel
    # unshuffle by 2), each reaches 2 pixels, plus the 2x2 cell the pixel sits in
    net = RecCNN(channels=8, depth=depth, shuffle=shuffle).init_as_identity()
    assert receptive_radius(net) == radius  # the zeroed last layer does not hide the field
    with torch.no_grad():
        assert float(net(torch.rand(1, 1, 16, 16)).sum()) >= 0  # the net itself is untouched


def test_receptive_radius_grows_with_scales_and_is_refused_beyond_the_probe():
    radii = [receptive_radius(MultiScaleRecCNN(channels=4, scales=s, blocks=1)) for s in (2, 3, 4)]
    assert radii[0] < radii[1] < radii[2]
    with pytest.raises(ValueError, match="larger side"):
        receptive_radius(RecCNN(channels=4, depth=20, shuffle=1), side=32)


def test_variant_shapes_measure_every_variant():
    shapes = variant_shapes().set_index("variant")
    assert list(shapes.index) == list(VARIANTS)
    # DnCNN's size sees 20 pixels for 4x the work of the half-resolution stack
    assert shapes.receptive_radius_px["full64x20"] == 20
    ratio = shapes.gmac_per_mpx["full64x20"] / shapes.gmac_per_mpx["post64s2"]
    assert ratio == pytest.approx(4, rel=0.02)
    # the U-Net sees furthest per multiply-add; telling a network the table costs no context
    assert shapes.radius_per_gmac.idxmax() in ("unet32", "unet32q")
    assert shapes.receptive_radius_px["unet32q"] == shapes.receptive_radius_px["unet32"]
    assert shapes.parameters["unet32q"] > shapes.parameters["unet32"]  # the table's MLP


def test_quantisation_constraint_table_projects_each_output_into_its_files_intervals(bsds_test):
    torch.manual_seed(0)
    codec = Codec(None, RecCNN(channels=8, depth=3), name="noisy").eval()  # random: off-set
    images = [(name, image[:64, :72]) for name, image in bsds_test[:2]]
    table = quantisation_constraint_table(codec, images, [10, 50])
    assert list(table.quality) == [10, 50]
    expected = np.mean([psnr(im, jpeg.decode(jpeg.encode(im, 50))) for _, im in images])
    assert table.psnr_jpeg.iloc[1] == pytest.approx(expected)
    assert (table.moved_percent > 0).all() and (table.moved_percent <= 100).all()
    assert (table.projection_gain_db > 0).all()  # a random network's output lies off the set
    assert np.allclose(table.projection_gain_db, table.psnr_projected - table.psnr)
    with pytest.raises(ValueError, match="not a post-filter"):
        quantisation_constraint_table(Codec(ComCNN(channels=8), None), images, [10])
