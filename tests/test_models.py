import pytest
import torch
from torch import nn

from comp_lib.models import ComCNN, RecCNN, upsample


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("size", [(8, 8), (9, 13), (481, 321), (321, 481)])
def test_comcnn_gives_half_resolution(size):
    h, w = size
    out = ComCNN()(torch.rand(2, 1, h, w))
    assert out.shape == (2, 1, (h + 1) // 2, (w + 1) // 2)


def test_paper_architecture():
    com, rec = ComCNN(), RecCNN()
    com_convs = [m for m in com.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.stride) for c in com_convs] == [
        (1, 64, (1, 1)),
        (64, 64, (2, 2)),
        (64, 1, (1, 1)),
    ]
    rec_convs = [m for m in rec.modules() if isinstance(m, nn.Conv2d)]
    assert len(rec_convs) == 20
    assert all(c.kernel_size == (3, 3) for c in com_convs + rec_convs)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in rec.modules()) == 18
    assert sum(isinstance(m, nn.BatchNorm2d) for m in com.modules()) == 1
    # conv 1->64 (+bias), 18 x (conv 64->64 no bias + BN), conv 64->1 (+bias)
    assert n_params(rec) == 640 + 18 * (64 * 64 * 9 + 128) + 577 == 667073
    assert n_params(com) == 640 + 64 * 64 * 9 + 128 + 577 == 38209
    # about 2.8 MB in fp32 for the pair, as the issue says
    assert 2.7e6 < 4 * (n_params(rec) + n_params(com)) < 2.9e6


def test_reccnn_is_global_residual():
    rec = RecCNN(channels=8, depth=4).eval()
    last = [m for m in rec.modules() if isinstance(m, nn.Conv2d)][-1]
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    x = torch.rand(1, 1, 20, 17)
    assert torch.equal(rec(x), x)
    nn.init.constant_(last.bias, 0.25)
    assert torch.allclose(rec(x), x - 0.25)


@pytest.mark.parametrize("kwargs", [dict(channels=16, depth=6), dict(channels=32, depth=10)])
def test_reccnn_variants(kwargs):
    rec = RecCNN(**kwargs)
    assert sum(isinstance(m, nn.Conv2d) for m in rec.modules()) == kwargs["depth"]
    assert rec.config == {"in_channels": 1, "pooling": 0, "shuffle": 1, **kwargs}
    assert rec(torch.rand(1, 1, 15, 9)).shape == (1, 1, 15, 9)


@pytest.mark.parametrize("size", [(16, 16), (15, 9), (481, 321)])
def test_reccnn_max_pooling_restores_resolution(size):
    rec = RecCNN(channels=8, depth=6, pooling=2)
    assert sum(isinstance(m, nn.MaxPool2d) for m in rec.modules()) == 2
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in rec.modules()) == 2
    x = torch.rand(1, 1, *size)
    assert rec(x).shape == x.shape


@pytest.mark.parametrize("size", [(16, 16), (15, 9), (481, 321)])
def test_reccnn_shuffle_runs_at_half_resolution_and_stays_residual(size):
    rec = RecCNN(channels=8, depth=4, shuffle=2).eval()
    seen = []
    first = [m for m in rec.modules() if isinstance(m, nn.Conv2d)][0]
    first.register_forward_hook(lambda m, i, o: seen.append(o.shape[-2:]))
    x = torch.rand(1, 1, *size)
    assert rec(x).shape == x.shape
    assert tuple(seen[0]) == ((size[0] + 1) // 2, (size[1] + 1) // 2)
    last = [m for m in rec.modules() if isinstance(m, nn.Conv2d)][-1]
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    assert torch.equal(rec(x), x)  # pixel (un)shuffle loses nothing


def test_reccnn_without_residual_predicts_the_image():
    rec = RecCNN(channels=8, depth=4, residual=False).eval()
    assert rec.config["residual"] is False
    last = [m for m in rec.modules() if isinstance(m, nn.Conv2d)][-1]
    nn.init.zeros_(last.weight)
    nn.init.constant_(last.bias, 0.25)
    assert torch.allclose(rec(torch.rand(1, 1, 12, 12)), torch.full((1, 1, 12, 12), 0.25))
    assert "residual" not in RecCNN(channels=8, depth=4).config  # older checkpoints still load


def test_gradients_reach_every_layer():
    com, rec = ComCNN(channels=8), RecCNN(channels=8, depth=5)
    x = torch.rand(2, 1, 16, 16)
    loss = rec(upsample(com(x), (16, 16))).square().mean()
    loss.backward()
    for p in list(com.parameters()) + list(rec.parameters()):
        assert p.grad is not None and torch.isfinite(p.grad).all()


@pytest.mark.parametrize(
    "cls,kwargs",
    [
        (RecCNN, dict(depth=1)),
        (RecCNN, dict(channels=0)),
        (RecCNN, dict(depth=4, pooling=3)),
        (RecCNN, dict(pooling=-1)),
        (RecCNN, dict(shuffle=3)),
        (ComCNN, dict(channels=0)),
    ],
)
def test_bad_constructor_arguments(cls, kwargs):
    with pytest.raises(ValueError):
        cls(**kwargs)


@pytest.mark.parametrize("size", [(8, 8), (9, 13), (481, 321)])
def test_upsample_shape_and_constant(size):
    h, w = size
    xc = torch.full((1, 1, (h + 1) // 2, (w + 1) // 2), 0.3)
    up = upsample(xc, size)
    assert up.shape == (1, 1, h, w)
    assert torch.allclose(up, torch.full_like(up, 0.3))


def test_upsample_rejects_wrong_compact_size():
    with pytest.raises(ValueError, match="does not match"):
        upsample(torch.rand(1, 1, 10, 10), (25, 20))


def test_downsample_keeps_the_pixel_grid_for_odd_sizes(bsds_test):
    """Down then up: an odd-size image does as well as its even crop (no sub-pixel drift)."""
    from comp_lib.metrics import psnr
    from comp_lib.models import downsample

    for _, image in bsds_test[:5]:
        x = torch.from_numpy(image.copy()).float()[None, None] / 255
        h, w = image.shape  # 481x321 or 321x481: both odd
        odd = upsample(downsample(x), (h, w))[0, 0, : h - 1, : w - 1]
        even = upsample(downsample(x[..., : h - 1, : w - 1]), (h - 1, w - 1))[0, 0]
        assert downsample(x).shape[-2:] == ((h + 1) // 2, (w + 1) // 2)
        ref = image[: h - 1, : w - 1]
        assert abs(psnr(ref, odd.clamp(0, 1).numpy()) - psnr(ref, even.clamp(0, 1).numpy())) < 0.2


@pytest.mark.parametrize("kwargs", [dict(), dict(pooling=2), dict(shuffle=2)])
def test_init_as_identity_makes_reccnn_pass_its_input_through(kwargs):
    """The warm start: with its last layer at zero, RecCNN's residual is zero, x_hat = x_up."""
    net = RecCNN(channels=8, depth=4, **kwargs)
    x = torch.rand(2, 1, 20, 28)
    with torch.no_grad():
        assert not torch.equal(net.eval()(x), x)
        assert net.init_as_identity() is net
        assert torch.equal(net(x), x)
