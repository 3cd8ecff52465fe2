import torch

from gancraft.models.ema import ema_copy, ema_update


def test_ema_update_is_the_references_moving_average():
    online, ema = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    before = [p.detach().clone() for p in ema.parameters()]
    ema_update(ema, online, 0.9)
    for e, b, o in zip(ema.parameters(), before, online.parameters()):
        torch.testing.assert_close(e, 0.9 * b + 0.1 * o.detach())


def test_ema_update_copies_buffers():
    online = torch.nn.BatchNorm2d(2)
    ema = ema_copy(online)
    online.running_mean.fill_(3.0)
    ema_update(ema, online, 0.99)
    torch.testing.assert_close(ema.running_mean, torch.full((2,), 3.0))


def test_ema_copy_starts_equal_and_frozen():
    online = torch.nn.Linear(3, 2)
    ema = ema_copy(online)
    assert all(not p.requires_grad for p in ema.parameters())
    for e, o in zip(ema.parameters(), online.parameters()):
        torch.testing.assert_close(e, o.detach())
        assert e.data_ptr() != o.data_ptr()
