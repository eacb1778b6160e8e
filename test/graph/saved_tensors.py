"""The bytes autograd keeps for the backward pass of one forward: every saved tensor's storage
counted once, the model's parameters and buffers excluded. Shared by the activation measurements."""
import torch


def saved_bytes_of(model, forward) -> int:
    """Runs `forward()` (the model's forward with its loss) under saved-tensor hooks; returns the bytes kept."""
    weights = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in weights:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        forward()
    return sum(seen.values())
