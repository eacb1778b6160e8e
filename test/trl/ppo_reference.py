"""The ppo stage's loss against TRL 0.29.1's PPOTrainer (test/trl/ppo.test.ts; one process, one request a line).

TRL 1.x no longer ships PPOTrainer: this script runs in .venv-trl with TRL 0.29.1's unpacked wheel first on
PYTHONPATH (scripts/ensure-python.sh unpacks it into .venv-trl/trl-0.29.1), and imports its helpers as they
are: forward, masked_mean, masked_whiten, truncate_response, PolicyAndValueWrapper and INVALID_LOGPROB
(trl/experimental/ppo/ppo_trainer.py), first_true_indices and get_reward (trl/experimental/utils.py),
selective_log_softmax (trl/trainer/utils.py). PPOTrainer.train() computes the rollout and the loss inline,
so those blocks are transcribed line by line below from trl/experimental/ppo/ppo_trainer.py of 0.29.1
(the line numbers are that file's), with its `args.*` read from the request's case.

request (JSON): { model, adapter, trained, padId, eosId, prompts: [[ids]], completions: [[ids]] (eos included
  where it stopped), scores: [float], valueHead, trainedValueHead: [[hidden floats]], case: {klCoef, klEstimator,
  whitenRewards, missingEosPenalty, gamma, lam, cliprange, cliprangeValue, vfCoef, temperature} }
  The rollout reads the policy `adapter` and the value head `valueHead`; the loss is of the policy `trained` and
  `trainedValueHead` (as after an optimizer step of an earlier ppo epoch), on every row as one micro-batch.
result: { trl: side, tunekit: side }, side = { logprobs, ref, values, advantages, returns (each [[row floats]]),
  loss, pgLoss, vfLoss, grads: {PEFT key or "v_head.summary.weight": [floats]} }; values and returns over
  t ≤ L (t < W), the others over the completion's tokens.
"""

import json
import os
import sys
from types import SimpleNamespace

import torch
from torch import nn
from peft import PeftModel
from transformers import AutoModelForCausalLM

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
from trl.experimental.ppo.ppo_trainer import INVALID_LOGPROB, PolicyAndValueWrapper, forward, masked_mean, masked_whiten, truncate_response  # noqa: E402
from trl.experimental.utils import first_true_indices, get_reward  # noqa: E402
from trl.trainer.utils import selective_log_softmax  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "packages", "torch", "python"))
from tunekit_torch.grpo_loss import grpo_batch  # noqa: E402
from tunekit_torch.ppo_loss import policy_pass, ppo_advantages, ppo_loss  # noqa: E402


def policy(req: dict, adapter: str):
    base = AutoModelForCausalLM.from_pretrained(req["model"], dtype=torch.float32)
    model = PeftModel.from_pretrained(base, adapter, is_trainable=True)
    model.train()  # dropout is 0: train mode changes nothing but is what PPOTrainer runs in
    return model


class SharedValueModel(nn.Module):
    """A value model on the policy's own backbone (tunekit's value head): what PolicyAndValueWrapper and
    get_reward read of a value model, `base_model_prefix` naming its backbone and `score` its head."""

    base_model_prefix = "backbone"

    def __init__(self, backbone, weight: list) -> None:
        super().__init__()
        self.backbone = backbone
        self.score = nn.Linear(len(weight[0]), 1, bias=False)
        with torch.no_grad():
            self.score.weight.copy_(torch.tensor(weight))


def grads_of(model, head) -> dict:
    out = {name.replace(".default", ""): p.grad.reshape(-1).tolist() for name, p in model.named_parameters() if p.requires_grad and p.grad is not None and "score" not in name}
    out["v_head.summary.weight"] = head.grad.reshape(-1).tolist()
    return out


def rows(t: torch.Tensor, lengths: list) -> list:
    return [t[i, :n].tolist() for i, n in enumerate(lengths)]


def trl_side(req: dict, c: dict) -> dict:
    args = SimpleNamespace(kl_coef=c["klCoef"], kl_estimator=c["klEstimator"], whiten_rewards=c["whitenRewards"], missing_eos_penalty=c.get("missingEosPenalty"),
                           gamma=c["gamma"], lam=c["lam"], cliprange=c["cliprange"], cliprange_value=c["cliprangeValue"], vf_coef=c["vfCoef"], temperature=c["temperature"])
    pad, eos = req["padId"], req["eosId"]
    # the queries left-padded (TRL's DataCollatorWithPadding, padding_side left), the injected responses right-padded
    context_length = max(len(p) for p in req["prompts"])
    width = max(len(x) for x in req["completions"])
    queries = torch.tensor([[pad] * (context_length - len(p)) + p for p in req["prompts"]])
    responses = torch.tensor([x + [pad] * (width - len(x)) for x in req["completions"]])
    query_responses = torch.cat((queries, responses), 1)
    rollout_policy = policy(req, req["adapter"])
    model = PolicyAndValueWrapper(rollout_policy, SharedValueModel(rollout_policy, req["valueHead"]))
    with torch.no_grad():
        # 694–699: logprob of the rollout (TRL takes it from generate's scores, which are logits / (temperature + 1e-7))
        output = forward(model.policy, query_responses, pad)
        logits = output.logits[:, context_length - 1 : -1] / (args.temperature + 1e-7)
        logprobs = selective_log_softmax(logits, responses)
        # 702–710: the reference is the policy with its adapter off (null_ref_context, 573–584)
        with model.policy.disable_adapter():
            ref_output = forward(model.policy, query_responses, pad)
        ref_logits = ref_output.logits[:, context_length - 1 : -1]
        ref_logits /= args.temperature + 1e-7
        ref_logprobs = selective_log_softmax(ref_logits, responses)
        # 714–723: truncate after eos, the last real token; 724–728 the values; the scores (729–731) are injected
        postprocessed_responses = truncate_response(eos, pad, responses)
        sequence_lengths = first_true_indices(postprocessed_responses == pad) - 1
        full_value, _, _ = get_reward(model.value_model, query_responses, pad, context_length)
        values = full_value[:, context_length - 1 : -1].squeeze(-1)
        scores = torch.tensor(req["scores"], dtype=torch.float32)
        # 753–756
        contain_eos_token = torch.any(postprocessed_responses == eos, dim=-1)
        if args.missing_eos_penalty is not None:
            scores[~contain_eos_token] -= args.missing_eos_penalty
        # 759–766
        response_idxs = torch.arange(responses.shape[1], device=responses.device).repeat(responses.shape[0], 1)
        padding_mask = response_idxs > sequence_lengths.unsqueeze(1)
        logprobs = torch.masked_fill(logprobs, padding_mask, INVALID_LOGPROB)
        ref_logprobs = torch.masked_fill(ref_logprobs, padding_mask, INVALID_LOGPROB)
        sequence_lengths_p1 = sequence_lengths + 1
        padding_mask_p1 = response_idxs > (sequence_lengths_p1.unsqueeze(1))
        values = torch.masked_fill(values, padding_mask_p1, 0)
        # 769–775
        logr = ref_logprobs - logprobs
        kl = -logr if args.kl_estimator == "k1" else (logr.exp() - 1) - logr
        non_score_reward = -args.kl_coef * kl
        rewards = non_score_reward.clone()
        actual_start = torch.arange(rewards.size(0), device=rewards.device)
        actual_end = torch.where(sequence_lengths_p1 < rewards.size(1), sequence_lengths_p1, sequence_lengths)
        rewards[actual_start, actual_end] += scores
        # 778–780
        if args.whiten_rewards:
            rewards = masked_whiten(rewards, mask=~padding_mask_p1, shift_mean=False)
            rewards = torch.masked_fill(rewards, padding_mask_p1, 0)
        # 783–794
        lastgaelam = 0
        advantages_reversed = []
        gen_length = responses.shape[1]
        for t in reversed(range(gen_length)):
            nextvalues = values[:, t + 1] if t < gen_length - 1 else 0.0
            delta = rewards[:, t] + args.gamma * nextvalues - values[:, t]
            lastgaelam = delta + args.gamma * args.lam * lastgaelam
            advantages_reversed.append(lastgaelam)
        advantages = torch.stack(advantages_reversed[::-1], axis=1)
        returns = advantages + values
        advantages = masked_whiten(advantages, ~padding_mask)
        advantages = torch.masked_fill(advantages, padding_mask, 0)
    # 802–843: one micro-batch of every row, under the trained policy and value head
    trained_policy = policy(req, req["trained"])
    value_model = SharedValueModel(trained_policy, req["trainedValueHead"])
    model = PolicyAndValueWrapper(trained_policy, value_model)
    micro_batch_inds = torch.arange(len(req["prompts"]))
    mb_advantage = advantages[micro_batch_inds]
    mb_responses = responses[micro_batch_inds]
    mb_query_responses = query_responses[micro_batch_inds]
    mb_logprobs = logprobs[micro_batch_inds]
    mb_return = returns[micro_batch_inds]
    mb_values = values[micro_batch_inds]
    output, vpred_temp = forward(model, mb_query_responses, pad)
    logits = output.logits[:, context_length - 1 : -1]
    logits /= args.temperature + 1e-7
    new_logprobs = selective_log_softmax(logits, mb_responses)
    new_logprobs = torch.masked_fill(new_logprobs, padding_mask[micro_batch_inds], INVALID_LOGPROB)
    vpred = vpred_temp[:, context_length - 1 : -1].squeeze(-1)
    vpred = torch.masked_fill(vpred, padding_mask_p1[micro_batch_inds], 0)
    vpredclipped = torch.clamp(vpred, mb_values - args.cliprange_value, mb_values + args.cliprange_value)
    vf_losses1 = torch.square(vpred - mb_return)
    vf_losses2 = torch.square(vpredclipped - mb_return)
    vf_loss_max = torch.max(vf_losses1, vf_losses2)
    vf_loss = 0.5 * masked_mean(vf_loss_max, ~padding_mask_p1[micro_batch_inds])
    logprobs_diff = new_logprobs - mb_logprobs
    ratio = torch.exp(logprobs_diff)
    pg_losses = -mb_advantage * ratio
    pg_losses2 = -mb_advantage * torch.clamp(ratio, 1.0 - args.cliprange, 1.0 + args.cliprange)
    pg_loss_max = torch.max(pg_losses, pg_losses2)
    pg_loss = masked_mean(pg_loss_max, ~padding_mask[micro_batch_inds])
    loss = pg_loss + args.vf_coef * vf_loss
    loss.backward()
    lengths = [len(x) for x in req["completions"]]
    spans = [min(n + 1, width) for n in lengths]
    return {"logprobs": rows(logprobs, lengths), "ref": rows(ref_logprobs, lengths), "values": rows(values, spans), "advantages": rows(advantages, lengths),
            "returns": rows(returns, spans), "loss": float(loss.detach()), "pgLoss": float(pg_loss.detach()), "vfLoss": float(vf_loss.detach()),
            "grads": grads_of(trained_policy, value_model.score.weight)}


def tunekit_side(req: dict, c: dict) -> dict:
    objective = SimpleNamespace(kl_coef=c["klCoef"], kl_estimator=c["klEstimator"], whiten_rewards=c["whitenRewards"], missing_eos_penalty=c.get("missingEosPenalty"),
                                gamma=c["gamma"], lam=c["lam"], cliprange=c["cliprange"], cliprange_value=c["cliprangeValue"], vf_coef=c["vfCoef"])
    batch = grpo_batch(req["prompts"], req["completions"], req["padId"], torch.device("cpu"))
    mask = batch["completion_mask"]
    rollout_policy = policy(req, req["adapter"])
    head = torch.tensor(req["valueHead"], dtype=torch.float32)
    with torch.no_grad():
        logprobs, values, _ = policy_pass(rollout_policy, head, batch, c["temperature"])
        with rollout_policy.disable_adapter():
            ref, _, _ = policy_pass(rollout_policy, head, batch, c["temperature"], with_values=False)
    has_eos = torch.tensor([req["eosId"] in x for x in req["completions"]])
    old = ppo_advantages(objective, logprobs, ref, values, torch.tensor(req["scores"], dtype=torch.float32), has_eos, mask)
    old["logprobs"] = logprobs
    trained = policy(req, req["trained"])
    trained_head = torch.tensor(req["trainedValueHead"], dtype=torch.float32, requires_grad=True)
    new_logps, vpred, logits = policy_pass(trained, trained_head, batch, c["temperature"])
    loss, stats = ppo_loss(objective, new_logps, vpred, logits, old, torch.arange(len(req["prompts"])))
    loss.backward()
    lengths = [len(x) for x in req["completions"]]
    width = mask.shape[1]
    spans = [min(n + 1, width) for n in lengths]
    return {"logprobs": rows(logprobs, lengths), "ref": rows(ref, lengths), "values": rows(old["values"], spans), "advantages": rows(old["advantages"], lengths),
            "returns": rows(old["returns"], spans), "loss": float(loss.detach()), "pgLoss": stats["loss/policy_avg"], "vfLoss": stats["loss/value_avg"],
            "grads": grads_of(trained, trained_head)}


def main() -> None:
    torch.use_deterministic_algorithms(True, warn_only=True)
    for line in sys.stdin:
        req = json.loads(line)
        result = {"trl": trl_side(req, req["case"]), "tunekit": tunekit_side(req, req["case"])}
        print("result " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
