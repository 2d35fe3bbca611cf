"""The post-filter variants: the multi-scale U-Net and quality awareness, in a codec."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from comp_lib import jpeg
from comp_lib.coding import Codec
from comp_lib.coding.tiling import tiled
from comp_lib.models import (
    MultiScaleRecCNN,
    RecCNN,
    build_reconstruction,
    with_blocks,
    with_quality,
)
from comp_lib.models.conditioning import (
    QualityFiLM,
    film_response,
    modulate,
    modulated_conv,
    quant_tensor,
)
from comp_lib.train.config import BankConfig


def _perturb(net: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random weights everywhere, the conditioning's last layer included (it starts at zero)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return net.eval()


@pytest.mark.parametrize("size", [(37, 45), (64, 64), (17, 90)])
def test_multiscale_keeps_any_size_and_starts_as_the_identity(size):
    net = MultiScaleRecCNN(channels=4, scales=3, blocks=1).eval()
    x = torch.rand(2, 1, *size)
    assert net(x).shape == x.shape
    assert torch.equal(net.init_as_identity()(x), x)


def test_multiscale_halo_covers_its_receptive_field():
    torch.manual_seed(0)  # the draw of weights and input, whatever ran before
    net = _perturb(MultiScaleRecCNN(channels=4, scales=3, blocks=1))
    x = torch.rand(1, 1, 150, 170)
    with torch.no_grad():
        whole = net(x)
        parts = tiled(net, x, tile=32, halo=net.radius, align=net.align)
    # random weights give outputs up to about 20: float rounding is relative to that
    # (the worst of 200 draws was 7e-7 of the largest output; an absolute 1e-5 failed 31)
    scale = float(whole.abs().max())
    assert float((parts - whole).abs().max()) <= 1e-5 * scale
    with torch.no_grad():  # a halo well short of the field changes the output
        short = tiled(net, x, tile=32, halo=net.align, align=net.align)
    assert float((short - whole).abs().max()) > 1e-2 * scale


@pytest.mark.parametrize(
    "net",
    [RecCNN(channels=8, depth=4, shuffle=2), MultiScaleRecCNN(channels=4, scales=3, blocks=1)],
    ids=["reccnn", "multiscale"],
)
def test_quality_awareness_starts_as_the_network_without_it(net):
    net = _perturb(net)
    aware = with_quality(net).eval()
    x = torch.rand(2, 1, 40, 48)
    table = jpeg.quant_table(10)
    with torch.no_grad():
        assert torch.equal(aware(x, table), net(x))
        _perturb(aware, seed=1)  # once its conditioning has learned, the table matters
        assert not torch.allclose(aware(x, jpeg.quant_table(10)), aware(x, jpeg.quant_table(40)))
        both = aware(x, np.stack([jpeg.quant_table(10), jpeg.quant_table(40)]))
        assert torch.allclose(both[1:], aware(x[1:], jpeg.quant_table(40)), atol=1e-4)
    with pytest.raises(ValueError, match="quantisation table"):
        aware(x)
    assert build_reconstruction(aware.config).quality_aware


@pytest.mark.parametrize("aware", [False, True], ids=["plain", "quality-aware"])
def test_a_deeper_copy_starts_as_the_network_it_grew_from(aware):
    net = _perturb(MultiScaleRecCNN(channels=4, scales=3, blocks=1, quality_aware=aware))
    deeper = with_blocks(net, 3).eval()
    assert deeper.config["blocks"] == 3 and net.config["blocks"] == 1
    assert build_reconstruction(deeper.config).quality_aware == aware
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(deeper) > count(net)
    x = torch.rand(2, 1, 40, 48)
    tables = [jpeg.quant_table(q) for q in (5, 40)] if aware else [None]
    with torch.no_grad():  # the conditioning was perturbed: its rows must land in place
        for table in tables:
            assert torch.equal(deeper(x, table), net(x, table))
    # the new blocks learn: their second convolution gets a gradient from the start
    deeper(x, tables[0]).square().sum().backward()
    new = [deeper.encoder[0][1], deeper.encoder[2][2], deeper.decoder[1][1]]
    assert all(float(block.conv2.weight.grad.abs().sum()) > 0 for block in new)
    with torch.no_grad():  # and once they have, they change the output
        deeper.decoder[0][2].conv2.weight.add_(0.05)
        assert not torch.allclose(deeper(x, tables[0]), net(x, tables[0]))
    assert torch.equal(with_blocks(net, 1)(x, tables[0]), net(x, tables[0]))  # a plain copy
    with pytest.raises(ValueError, match="at least the network's own 1, got 0"):
        with_blocks(net, 0)
    with pytest.raises(ValueError, match="only a multi-scale network gains blocks"):
        with_blocks(RecCNN(channels=8, depth=4, shuffle=2), 2)


@pytest.mark.parametrize("bias", [False, True])
def test_a_modulated_convolution_folds_one_table_into_its_weights(bias):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 5, 3, padding=1, bias=bias)
    x = torch.rand(4, 3, 12, 10)
    gamma, beta = torch.randn(1, 5, 1, 1, requires_grad=True), torch.randn(1, 5, 1, 1)
    folded = modulated_conv(conv, x, (gamma, beta))
    plain = modulate(conv(x), (gamma, beta))
    assert torch.allclose(folded, plain, atol=1e-5)
    folded.square().sum().backward()  # training through the folded form reaches the table
    grads = gamma.grad.clone(), conv.weight.grad.clone()
    gamma.grad = conv.weight.grad = None
    plain.square().sum().backward()
    assert torch.allclose(grads[0], gamma.grad, rtol=1e-4)
    assert torch.allclose(grads[1], conv.weight.grad, rtol=1e-4)  # and the weights
    seen = []  # through the module: its hooks (multiply-add counts) still see the call
    conv.register_forward_hook(lambda module, inputs, output: seen.append(output.shape))
    modulated_conv(conv, x, (gamma, beta))
    assert seen == [(4, 5, 12, 10)]
    # one table per sample cannot be folded into one set of weights: modulated as before
    per_sample = (
        gamma.detach().repeat(4, 1, 1, 1) * torch.rand(4, 1, 1, 1),
        beta.repeat(4, 1, 1, 1),
    )
    assert torch.allclose(modulated_conv(conv, x, per_sample), modulate(conv(x), per_sample))


def test_bad_tables_and_architectures_are_refused():
    with pytest.raises(ValueError, match="8x8"):
        quant_tensor(np.ones((4, 4)))
    with pytest.raises(ValueError, match="1..255"):
        quant_tensor(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="unknown reconstruction network 'vit'"):
        build_reconstruction({"arch": "vit"})
    with pytest.raises(ValueError, match="scales must be in 2..5"):
        MultiScaleRecCNN(scales=7)


def test_the_decoder_reads_the_table_from_the_jpeg_header():
    """Every quality that Pillow writes carries libjpeg's table, which training uses."""
    image = np.random.default_rng(0).integers(0, 256, (24, 40), dtype=np.uint8)
    for quality in range(1, 96):
        tables = jpeg.read_quant_tables(jpeg.encode(image, quality))
        assert np.array_equal(tables[0], jpeg.quant_table(quality))
    with pytest.raises(ValueError, match="corrupt or truncated JPEG"):
        jpeg.read_quant_tables(b"not a jpeg")


@pytest.mark.parametrize("arch", ["reccnn", "multiscale"])
def test_a_quality_aware_post_filter_codes_plain_jpeg_and_round_trips(tmp_path, bsds_test, arch):
    config = BankConfig(arch=arch, channels=4, depth=4, scales=3, blocks=1, quality_aware=True)
    codec = Codec(None, _perturb(config.network(), seed=2), name=f"qa-{arch}").eval()
    image = bsds_test[0][1][:96, :136]
    data = codec.compress(image, 10)
    payload = data[codec.header_size :]
    assert payload.startswith(b"\xff\xd8")  # any JPEG decoder reads the payload
    assert np.array_equal(jpeg.decode(payload), jpeg.decode(jpeg.encode(image, 10)))
    x_hat = codec.decompress(data)
    with torch.no_grad():  # by hand: the network told the table of quality 10
        x_in = torch.from_numpy(jpeg.decode(payload))[None, None].float() / 255
        expected = jpeg.tensor_to_uint8(codec.reccnn(x_in, jpeg.quant_table(10)))[0]
    assert np.abs(x_hat.astype(int) - expected.astype(int)).max() <= 1
    back = Codec.load(codec.save(tmp_path / "m.pt"))
    assert back.quality_aware and back.fingerprint == codec.fingerprint
    assert np.array_equal(back.decompress(data), x_hat)


def test_shipped_models_load_as_before():
    codec = Codec.load("post64s2lo")
    assert isinstance(codec.reccnn, RecCNN) and not codec.quality_aware
    assert "arch" not in codec.reccnn.config and "quality_aware" not in codec.reccnn.config


def test_film_response_is_zero_untrained_and_falls_with_quality_when_trained():
    fresh = QualityFiLM([4, 6])
    response = film_response(fresh, [5, 50])
    assert list(response.columns) == ["quality", "layer", "channels", "gamma_abs", "beta_abs"]
    assert list(response.channels) == [4, 4, 6, 6] and list(response.quality) == [5, 50, 5, 50]
    assert (response[["gamma_abs", "beta_abs"]] == 0).all().all()  # starts as no conditioning
    # the shipped unet32q: every layer is moved less the finer the quantisation
    film = Codec.load("unet32q").reccnn.film
    shipped = film_response(film, [2, 10, 40, 75]).pivot(index="layer", columns="quality")
    assert len(shipped) == len(film.channels)
    for column in ("gamma_abs", "beta_abs"):
        assert (shipped[column].diff(axis=1).iloc[:, 1:] < 0).all().all(), shipped[column]
