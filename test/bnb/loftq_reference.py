"""PEFT 0.21's LoftQ start values on the CPU, the oracle of tunekit's tfjs LoftQ (test/bnb/loftq.test.ts).

PEFT's `loftq_init` (peft/utils/loftq_utils.py) runs on `compute_device = "xpu" if is_xpu_available() else
"cuda"` (line 70), so it cannot run on a machine without a GPU; bitsandbytes 0.50.2 has a CPU backend for
the same quantisers (quantize_4bit / dequantize_4bit nf4, int8_vectorwise_quant / dequant). The function is
transcribed below line by line with compute_device = "cpu" (the line numbers are loftq_utils.py's), and
`_low_rank_decomposition` (lines 35-49) is PEFT's own, imported as it is. Runs in .venv-bnb (bitsandbytes over
the worker stack's torch and PEFT).

request (JSON on stdin): { cases: [{ bits: 4 | 8, rank, iters, weights: [{ shape: [out, in], data: [floats] }] }] }
result (one line, "result " + JSON): { cases: [{ weights: [{ base, a, b, codes, scales }] }] }: the dequantised base
  loftq_init returns, lora_A = R [rank, in] and lora_B = L [out, rank] (all flattened, row-major), and
  bitsandbytes' quantisation of the weight itself (the first iteration's): nf4 `codes` the packed bytes
  (first value in the high nibble) and `scales` the absmax per block of 64; int8 `codes` the row-major int8
  values and `scales` the absmax per row (of the float16 weight, as Int8Params quantises it).

With `model: { dir, adapter, merged, bits, iters, ids }` as well (a tfjs LoftQ run): `model.bases` the
dequantised base loftq_init gives for each weight the adapter's loftq_base.safetensors names (read from the
original model folder `dir`), `model.peft` the logits [seq, vocab] of PEFT's load of the adapter as-is
(AutoModelForCausalLM of `dir`, the replaced weights put in with load_state_dict(strict=False), then
PeftModel.from_pretrained) and `model.merged` those of transformers' load of the merged folder.
"""

import json
import sys

import torch
import bitsandbytes as bnb
from peft.utils.loftq_utils import _low_rank_decomposition

compute_device = "cpu"  # line 70: "xpu" if is_xpu_available() else "cuda"


@torch.no_grad()
def loftq_init(weight, num_bits, reduced_rank, num_iter=1):
    """peft/utils/loftq_utils.py lines 53-100, with compute_device = "cpu"."""
    device = weight.device  # 64
    dtype = weight.dtype  # 65
    weight = weight.to(device=compute_device, dtype=torch.float32)  # 72
    res = weight.clone()  # 73
    for i in range(num_iter):  # 74
        if num_bits == 4:  # 77
            qweight = bnb.nn.Params4bit(res.to("cpu"), requires_grad=False, compress_statistics=False, quant_type="nf4").to(compute_device)  # 78-80
            dequantized_weight = bnb.functional.dequantize_4bit(qweight.data, qweight.quant_state)  # 81
        elif num_bits == 8:  # 82
            qweight = bnb.nn.Int8Params(res.to("cpu"), requires_grad=False).to(device)  # 83
            dequantized_weight = bnb.functional.int8_vectorwise_dequant(qweight.data, qweight.SCB).to(compute_device)  # 84
        res = weight - dequantized_weight  # 86
        output = _low_rank_decomposition(res, reduced_rank=reduced_rank)  # 89
        L, R, reduced_rank = output["L"], output["R"], output["reduced_rank"]  # 90
        if i + 1 == num_iter:  # 93
            break
        res = weight - torch.mm(L, R)  # 96
    lora_A, lora_B = R, L  # 98
    return dequantized_weight.to(device=device, dtype=dtype), lora_A, lora_B  # 100


def quantized(weight, num_bits):
    """bitsandbytes' own quantisation of `weight`, as loftq_init's first iteration makes it."""
    if num_bits == 4:
        q = bnb.nn.Params4bit(weight.clone(), requires_grad=False, compress_statistics=False, quant_type="nf4").to("cpu")
        return q.data.reshape(-1).tolist(), q.quant_state.absmax.reshape(-1).tolist()
    q = bnb.nn.Int8Params(weight.clone(), requires_grad=False).to("cpu")
    return q.data.reshape(-1).tolist(), q.SCB.reshape(-1).tolist()


def model_case(m):
    from pathlib import Path

    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    replaced = load_file(str(Path(m["adapter"]) / "loftq_base.safetensors"))
    original = AutoModelForCausalLM.from_pretrained(m["dir"], dtype=torch.float32)
    rank = json.loads((Path(m["adapter"]) / "adapter_config.json").read_text())["r"]
    weights = dict(original.named_parameters())
    bases = {name: loftq_init(weights[name].detach(), m["bits"], rank, m["iters"])[0].reshape(-1).tolist() for name in replaced}
    ids = torch.tensor([m["ids"]])
    base = AutoModelForCausalLM.from_pretrained(m["dir"], dtype=torch.float32)
    missing, unexpected = base.load_state_dict(replaced, strict=False)
    assert not unexpected, unexpected
    with torch.no_grad():
        peft = PeftModel.from_pretrained(base, m["adapter"]).eval()(ids).logits[0]
        merged = AutoModelForCausalLM.from_pretrained(m["merged"], dtype=torch.float32).eval()(ids).logits[0]
    return {"bases": bases, "peft": peft.reshape(-1).tolist(), "merged": merged.reshape(-1).tolist()}


def main():
    request = json.loads(sys.stdin.read())
    cases = []
    for case in request["cases"]:
        out = []
        for w in case["weights"]:
            weight = torch.tensor(w["data"], dtype=torch.float32).reshape(w["shape"])
            base, a, b = loftq_init(weight, case["bits"], case["rank"], case["iters"])
            codes, scales = quantized(weight, case["bits"])
            out.append({"base": base.reshape(-1).tolist(), "a": a.reshape(-1).tolist(), "b": b.reshape(-1).tolist(), "codes": codes, "scales": scales})
        cases.append({"weights": out})
    print("result " + json.dumps({"cases": cases, **({"model": model_case(request["model"])} if "model" in request else {})}))


if __name__ == "__main__":
    main()
