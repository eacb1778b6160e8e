"""`python -m tunekit_torch rewards request.json`: the reward each token sequence gets from a reward
model (the rm stage's artifact over its base, or a merged AutoModelForSequenceClassification folder).

request: { "model": folder, "adapter": train artifact folder | null, "sequences": [[ids], ...],
           "padId": int, "device": "auto" | "cpu" | "cuda" } (every field spelled out by the driver)
Prints one event { "type": "rewards", "values": [float, ...] }, one value per sequence, each scored
alone (no padding), read at its last token that is not padId as transformers does.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .events import emit
from .methods import METHODS, artifact_kind
from .modeling import load_base, load_tokenizer, resize_embeddings, resolve_device
from .spec import model_folder


def reward_model(request: dict, device: torch.device):
    from transformers import AutoModelForSequenceClassification

    if request["adapter"] is None:
        model = AutoModelForSequenceClassification.from_pretrained(request["model"], dtype=torch.float32)
        model.config.pad_token_id = request["padId"]
        return model.to(device)
    adapter = Path(request["adapter"])
    base = load_base(model_folder(Path(request["model"])), torch.float32, device, reward_pad_id=request["padId"])
    resize_embeddings(base, len(load_tokenizer(adapter / "tokenizer")), "rewards")
    return METHODS[artifact_kind(adapter)].attach(base, adapter)


def run_rewards(request: dict) -> None:
    device = resolve_device(request["device"])
    model = reward_model(request, device).eval()
    values = []
    with torch.no_grad():
        for ids in request["sequences"]:
            x = torch.tensor([ids], dtype=torch.long, device=device)
            values.append(float(model(input_ids=x, attention_mask=torch.ones_like(x), use_cache=False).logits[0, 0]))
    emit({"type": "rewards", "values": values})
