"""TRL's GRPOTrainer as the oracle for tunekit's GRPO loss (test/trl/grpo.test.ts), in .venv-trl.

One process, one request per line on stdin, each answered by a `result <JSON>` line:
  request: {model, adapter, reference, padId, prompts: [ids], completions: [ids], rewards: [[per function]],
            case: {lossType, beta, epsilon, temperature, scaleRewards, rewardWeights, numGenerations,
            maxCompletionLength}}
    prompts/completions: one row per completion (each prompt repeated numGenerations times, as TRL's
    RepeatSampler lays them out); completions are injected, not sampled (TRL's `rollout_func`), and
    the rewards are the TypeScript reward functions' values (TRL's reward functions hand them back)
  result: {trl: {loss, advantages, ref, grads}, tunekit: {loss, advantages, ref, grads}} (ref: the reference's
    log p of each completion token, row by row) with grads keyed by
    PEFT key (".default" dropped): TRL's _generate_and_score_completions builds the inputs (advantages,
    the reference's token log-probabilities: its frozen "ref" copy of the adapter, given `reference`'s
    weights) and _compute_loss the loss, on a PeftModel; tunekit_torch.grpo_loss computes the same from
    the same model, adapter and reference adapter.
"""

import json
import os
import sys

import torch
from datasets import Dataset
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast
from trl import GRPOConfig, GRPOTrainer

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "packages", "torch", "python"))
from tunekit_torch.grpo_loss import completion_logps, group_advantages, grpo_batch, grpo_loss  # noqa: E402


def policy(req: dict):
    base = AutoModelForCausalLM.from_pretrained(req["model"], dtype=torch.float32)
    return PeftModel.from_pretrained(base, req["adapter"], is_trainable=True)


def grads_of(model) -> dict:
    return {name.replace(".default", ""): p.grad.reshape(-1).tolist() for name, p in model.named_parameters() if p.requires_grad and p.grad is not None}


def trl_side(req: dict, c: dict, out: str) -> dict:
    model = policy(req)
    n = len(req["completions"])
    functions = len(req["rewards"][0])

    def reward_of(f):
        def reward(prompts, completions, completion_ids, row, **kwargs):
            return [req["rewards"][r][f] for r in row]
        reward.__name__ = f"r{f}"
        return reward

    def rollout(prompts, trainer):
        rows = [int(p.split(" ")[1]) for p in prompts]
        return {"prompt_ids": [req["prompts"][r] for r in rows], "completion_ids": [req["completions"][r] for r in rows], "logprobs": None}

    args = GRPOConfig(
        output_dir=out, beta=c["beta"], epsilon=c["epsilon"], temperature=c["temperature"], loss_type=c["lossType"],
        scale_rewards=c["scaleRewards"], reward_weights=c["rewardWeights"], num_generations=c["numGenerations"],
        max_completion_length=c["maxCompletionLength"], per_device_train_batch_size=n, gradient_accumulation_steps=1,
        report_to="none", use_cpu=True, bf16=False, logging_steps=1, save_strategy="no", disable_tqdm=True, remove_unused_columns=False,
    )
    dataset = Dataset.from_list([{"prompt": f"row {r}", "row": r} for r in range(n)])
    tokenizer = PreTrainedTokenizerFast.from_pretrained(req["tokenizer"])
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    trainer = GRPOTrainer(model=model, reward_funcs=[reward_of(f) for f in range(functions)], args=args, train_dataset=dataset,
                          processing_class=tokenizer, rollout_func=rollout)
    # TRL's reference for a pretrained adapter is its frozen "ref" copy: given the reference adapter's
    # weights here, so that the policy is away from its reference and the KL term has a gradient
    if c["beta"] != 0.0:
        with torch.no_grad():
            for key, value in load_file(os.path.join(req["reference"], "adapter_model.safetensors")).items():
                trainer.model.get_parameter(key.replace(".weight", ".ref.weight")).copy_(value)
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    inputs = trainer._generate_and_score_completions([{"prompt": f"row {r}", "row": r} for r in range(n)])
    loss = trainer._compute_loss(trainer.model, inputs)
    loss.backward()
    mask = inputs["completion_mask"].bool()
    ref = inputs["ref_per_token_logps"][mask].tolist() if c["beta"] != 0.0 else []
    return {"loss": float(loss.detach()), "advantages": inputs["advantages"].tolist(), "ref": ref, "grads": grads_of(trainer.model)}


def tunekit_side(req: dict, c: dict) -> dict:
    model = policy(req)
    model.train()

    class Objective:
        loss_type, beta, epsilon, max_completion_length = c["lossType"], c["beta"], c["epsilon"], c["maxCompletionLength"]

    _, advantages, _ = group_advantages(torch.tensor(req["rewards"], dtype=torch.float32), c["rewardWeights"], c["numGenerations"], c["scaleRewards"])
    batch = grpo_batch(req["prompts"], req["completions"], req["padId"], torch.device("cpu"))
    ref = None
    if c["beta"] != 0.0:
        model.load_adapter(req["reference"], adapter_name="ref")
        model.set_adapter("ref")
        with torch.no_grad():
            ref = completion_logps(model, batch["input_ids"], batch["attention_mask"], batch["completion_length"], c["temperature"])
        model.set_adapter("default")
    logps = completion_logps(model, batch["input_ids"], batch["attention_mask"], batch["completion_length"], c["temperature"])
    loss, _ = grpo_loss(Objective, logps, ref, advantages, batch["completion_mask"], int(batch["completion_mask"].sum()), 1)
    loss.backward()
    mask = batch["completion_mask"].bool()
    return {"loss": float(loss.detach()), "advantages": advantages.tolist(), "ref": ref[mask].tolist() if ref is not None else [], "grads": grads_of(model)}


def main() -> None:
    torch.use_deterministic_algorithms(True, warn_only=True)
    for line in sys.stdin:
        req = json.loads(line)
        result = {"trl": trl_side(req, req["case"], req["out"]), "tunekit": tunekit_side(req, req["case"])}
        print("result " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
