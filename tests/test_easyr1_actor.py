"""The GRPO stage updates the actor as EasyR1 does in Paper A's code: the clamped k3 KL averaged
over the micro-batch's response tokens (not TRL's ratio-weighted k3), and weight decay on every
parameter. Expected values are computed by hand from the log-ratios."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from baselines.easyr1_actor import easyr1_grpo, low_var_kl, masked_mean  # noqa: E402

# ref - logp per token; the last row's third token is padding (mask 0).
LOG_RATIOS = [[0.0, 0.5, -1.0], [3.0, -12.0, 2.0]]
MASK = [[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]]


def k3(d: float) -> float:
    return math.exp(d) - d - 1


def test_low_var_kl_is_easyr1s_clamped_k3_with_its_gradient():
    logps = torch.tensor([[-1.0, -2.0, -0.5], [-4.0, -0.1, -3.0]], requires_grad=True)
    ref = logps.detach() + torch.tensor(LOG_RATIOS)
    kl = low_var_kl(logps, ref)
    expected = [[k3(0.0), k3(0.5), k3(-1.0)], [10.0, 10.0, k3(2.0)]]  # k3(3) = 16.09 and k3(-12) = 11.0 clamp to 10
    assert kl.flatten().tolist() == pytest.approx(sum(expected, []), abs=1e-5)
    loss = masked_mean(kl, torch.tensor(MASK))
    assert loss.item() == pytest.approx((k3(0.0) + k3(0.5) + k3(-1.0) + 10.0 + 10.0) / 5, abs=1e-6)
    loss.backward()
    # d k3 / d logp = 1 - exp(ref - logp); a clamped or masked token passes nothing.
    grad = [[(1 - math.exp(0.0)) / 5, (1 - math.exp(0.5)) / 5, (1 - math.exp(-1.0)) / 5], [0.0, 0.0, 0.0]]
    assert logps.grad.flatten().tolist() == pytest.approx(sum(grad, []), abs=1e-6)


def _trainer(tiny_model, tmp_path, beta: float):
    import datasets
    from trl import GRPOConfig, GRPOTrainer

    from baselines import stages as st

    model, processor, _ = st.load_trainable(tiny_model)
    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=2, num_generations=2, beta=beta, max_completion_length=3,
                      loss_type="bnpo", weight_decay=0.01, report_to=[], use_cpu=True, bf16=False)
    rows = [{"prompt": [{"role": "user", "content": [{"type": "text", "text": "2+2?"}]}]}] * 2
    trainer = easyr1_grpo(GRPOTrainer)(model=model, args=args, reward_funcs=[lambda completions, **kw: [0.0] * len(completions)],
                                       train_dataset=datasets.Dataset.from_list(rows), processing_class=processor)
    return trainer, processor


def test_the_grpo_trainers_kl_loss_is_easyr1s_on_a_fixed_batch(tiny_model, tmp_path):
    """With zero advantages the policy term vanishes, so the loss is beta times EasyR1's KL
    loss on the batch: hand-computed from the log-ratios set against the policy's own
    log-probabilities. TRL's own k3, unclamped, would give 0.01 x 5.52 here."""
    trainer, processor = _trainer(tiny_model, tmp_path, beta=0.01)
    model = trainer.model
    model.eval()
    tokenizer = getattr(processor, "tokenizer", processor)
    prompt = torch.tensor([tokenizer("2+2?")["input_ids"]] * 2)
    completion = torch.tensor([[10, 11, 12], [13, 14, 15]])
    mask = torch.tensor(MASK)
    inputs = {"prompt_ids": prompt, "prompt_mask": torch.ones_like(prompt), "completion_ids": completion,
              "completion_mask": mask, "advantages": torch.zeros(2)}
    with torch.no_grad():
        logps = trainer._get_per_token_logps_and_entropies(model, torch.cat([prompt, completion], 1),
                                                          torch.cat([inputs["prompt_mask"], mask.long()], 1), 3)[0]
    inputs["ref_per_token_logps"] = logps + torch.tensor(LOG_RATIOS)
    loss = trainer._compute_loss(model, inputs)
    expected = 0.01 * (k3(0.0) + k3(0.5) + k3(-1.0) + 10.0 + 10.0) / 5
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert trainer._metrics["eval"]["kl"][-1] == pytest.approx(expected / 0.01, rel=1e-5)
    assert trainer.beta == 0.01  # restored after the loss


def test_the_grpo_trainer_decays_every_parameter(tiny_model, tmp_path):
    trainer, _ = _trainer(tiny_model, tmp_path, beta=0.0)
    optimizer = trainer.create_optimizer()
    decayed = {id(p) for group in optimizer.param_groups if group["weight_decay"] == 0.01 for p in group["params"]}
    trainable = [p for p in trainer.model.parameters() if p.requires_grad]
    assert trainable and all(id(p) in decayed for p in trainable)  # biases and norms included
    assert any(n.endswith("bias") or "norm" in n for n, _ in trainer.model.named_parameters())
