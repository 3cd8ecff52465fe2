import torch

from gancraft.faces.blend import attention_probe, blend_weights, face_region
from gancraft.networks.resnet_generator import ResnetGenerator


def test_unchanged_pixels_get_no_weight_and_changes_do():
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    y = x.clone()
    y[:, :, 14:17, 8:24] = 1.0  # a painted stripe
    w = blend_weights(x, y)
    assert w[0, 15, 10] == 1.0
    assert w[0, 2:8, 2:30].eq(0).all() and w[0, 25:30].eq(0).all()
    # the border is always 0: no seam where the crop ends
    y[:] = -x
    assert blend_weights(x, y)[0, 0].eq(0).all()


def test_the_attention_mask_wins_over_the_change_and_the_region_limits_it():
    x = torch.zeros(1, 3, 32, 32)
    y = torch.ones(1, 3, 32, 32)  # changed everywhere...
    attention = torch.zeros(1, 32, 32)
    attention[:, 10:20, 10:20] = 0.9  # ...but the model says it repainted only here
    w = blend_weights(x, y, attention)
    assert w[0, 15, 15] == 1 and w[0, 25, 25] == 0
    region = face_region([[10.0, 12.0], [22.0, 12.0]], 32)
    assert region[14, 16] == 1 and region[0, 0] == 0 and region[31, 31] == 0
    small = face_region([[14.0, 12.0], [18.0, 12.0]], 32)  # eyes 4 px apart: a face about 13 px wide
    limited = blend_weights(x, y, None, small)
    assert limited[0, 12, 16] == 1 and limited[0, 22:].eq(0).all() and limited[0, :, 25:].eq(0).all()


def test_the_probe_reads_the_generators_mask():
    torch.manual_seed(0)
    net = ResnetGenerator(ngf=4, n_blocks=1, attention=True).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with attention_probe(net) as masks, torch.no_grad():
        out = net(x)
    (a,) = masks
    assert a.shape == (2, 32, 32) and 0 < float(a.min()) and float(a.max()) < 1
    # the output is the mask's blend of the generator's colours and the input
    with torch.no_grad():
        raw = net.head(net.up(net.blocks(net.down(net.stem(x)))))
    assert torch.allclose(out, a[:, None] * torch.tanh(raw[:, :3]) + (1 - a[:, None]) * x, atol=1e-5)
