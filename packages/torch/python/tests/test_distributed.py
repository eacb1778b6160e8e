"""How a step's micro-batches are dealt to torchrun's ranks (distributed.py), without processes."""

from tunekit_torch.distributed import Dist


def test_each_item_goes_to_one_rank_and_every_rank_runs_as_many_passes():
    items = list("abcde")
    shares = [Dist(rank=r, world=2, strategy="ddp").share(items) for r in range(2)]
    assert shares[0] == [("a", 1.0), ("c", 1.0), ("e", 1.0)]
    # rank 1 is one short: it repeats the first item with weight 0, so the collectives line up
    assert shares[1] == [("b", 1.0), ("d", 1.0), ("a", 0.0)]
    counted = sorted(item for share in shares for item, weight in share if weight)
    assert counted == items


def test_one_process_takes_everything_unscaled():
    one = Dist()
    assert one.share([1, 2]) == [(1, 1.0), (2, 1.0)] and one.grad_scale == 1.0 and one.main
    assert Dist(rank=1, world=4, strategy="fsdp").grad_scale == 4.0
