import torch

from gancraft.models.image_pool import ImagePool


def test_pool_returns_new_images_while_filling() -> None:
    pool = ImagePool(size=3)
    batch = torch.arange(2.0).view(2, 1, 1, 1)
    assert torch.equal(pool.query(batch), batch)
    assert pool.count == 2


def test_full_pool_swaps_about_half_of_the_images() -> None:
    pool = ImagePool(size=4, seed=1)
    pool.query(torch.full((4, 1, 1, 1), -1.0))
    out = pool.query(torch.arange(200.0).view(200, 1, 1, 1)).flatten()
    from_history = int((out != torch.arange(200.0)).sum())
    assert 70 < from_history < 130  # p = 1/2 of returning a stored image
    # whatever comes back from the history was stored earlier: -1 or an earlier new image
    for i, value in enumerate(out.tolist()):
        assert value == i or value < i


def test_pool_of_size_zero_is_off() -> None:
    pool = ImagePool(size=0)
    x = torch.randn(3, 2, 2, 2, requires_grad=True)
    out = pool.query(x)
    assert torch.equal(out, x) and not out.requires_grad


def test_pool_state_round_trip_is_exact() -> None:
    a = ImagePool(size=3, seed=5)
    a.query(torch.randn(5, 1, 2, 2))
    b = ImagePool(size=3, seed=99)
    b.load_state_dict(a.state_dict("p."), "p.", torch.device("cpu"))
    x = torch.randn(6, 1, 2, 2)
    assert torch.equal(a.query(x), b.query(x))
