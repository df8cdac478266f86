"""How EasyR1 updates Paper A's actor, on TRL's trainers: the KL loss and the weight decay.

Sources (laisong-22004009/RFTvsSFT @ 6ea0eeac, EasyR1 as Paper A ran it; unchanged at its head 7d4f50e8):
- KL: `EasyR1/verl/trainer/core_algos.py` lines 420-423 (`low_var_kl`: k3 = exp(ref - logp) -
  (ref - logp) - 1, clamped to [-10, 10]), `EasyR1/verl/workers/actor/dp_actor.py` lines 263-269
  (its token mean over the micro-batch, `VF.masked_mean`, times `kl_coef`, added to the policy
  loss), `EasyR1/examples/config.yaml` lines 23-25 (`use_kl_loss`, `low_var_kl`, 0.01).
  TRL 1.16 computes the same k3 without the clamp and, by default, multiplies it by the policy
  ratio (`use_bias_correction_kl`), which changes its gradient even on-policy.
- Weight decay: `EasyR1/verl/workers/fsdp_workers.py` lines 282-296 (AdamW over every trainable
  parameter with one `weight_decay`); the Trainer's default spares biases and norms.
"""

from __future__ import annotations

from typing import Any


KL_CLAMP = 10.0  # core_algos.py line 423


def low_var_kl(logps: Any, ref_logps: Any) -> Any:
    """EasyR1's per-token `low_var_kl`: exp(ref - logp) - (ref - logp) - 1 in float32, clamped to
    [-10, 10] (a clamped token passes no gradient)."""
    import torch

    log_ratio = ref_logps.float() - logps.float()
    return torch.clamp(log_ratio.exp() - log_ratio - 1, min=-KL_CLAMP, max=KL_CLAMP)


def masked_mean(values: Any, mask: Any) -> Any:
    """EasyR1's `VF.masked_mean` over a whole micro-batch: sum(values * mask) / (sum(mask) + 1e-8)
    (`EasyR1/verl/utils/torch_functional.py` lines 72-74)."""
    return (values * mask).sum() / (mask.sum() + 1e-8)


def decaying_every_parameter(trainer_class: type) -> type:
    """`trainer_class` with weight decay on every trainable parameter, as EasyR1 builds its actor's
    optimiser; LLaMA-Factory's SFT keeps the Trainer's default."""

    class DecayingEveryParameter(trainer_class):  # type: ignore[misc, valid-type]
        def get_decay_parameter_names(self, model: Any) -> list[str]:
            return [name for name, p in model.named_parameters() if p.requires_grad]

    DecayingEveryParameter.__name__ = DecayingEveryParameter.__qualname__ = trainer_class.__name__
    return DecayingEveryParameter


def easyr1_grpo(trainer_class: type) -> type:
    """TRL's GRPO trainer (`trainer_class`) with EasyR1's actor update: every parameter decays,
    and the KL loss is EasyR1's — the clamped k3 averaged over the micro-batch's response tokens,
    times beta, added to TRL's policy loss (which is the same token mean with `loss_type="bnpo"`)
    and divided by the accumulation as TRL divides its loss. TRL's own KL term is switched off
    (beta is 0 inside its loss) so that it is not counted twice; its reference log-probabilities
    are still computed, because beta is non-zero everywhere else."""

    class EasyR1GRPO(decaying_every_parameter(trainer_class)):  # type: ignore[misc]
        def _get_per_token_logps_and_entropies(self, *args: Any, **kwargs: Any) -> Any:
            out = super()._get_per_token_logps_and_entropies(*args, **kwargs)
            self._policy_logps = out[0]  # the last call inside `_compute_loss` is the policy's, with gradients
            return out

        def _compute_loss(self, model: Any, inputs: dict[str, Any]) -> Any:
            beta, self.beta = self.beta, 0.0
            try:
                loss = super()._compute_loss(model, inputs)
            finally:
                self.beta = beta
            if beta == 0.0:
                return loss
            mask = inputs["completion_mask"]
            if "tool_mask" in inputs:
                mask = mask * inputs["tool_mask"]
            kl = masked_mean(low_var_kl(self._policy_logps, inputs["ref_per_token_logps"]), mask)
            mode = "train" if self.model.training else "eval"
            normalizer = self.current_gradient_accumulation_steps if mode == "train" else 1.0
            self._metrics[mode]["kl"].append(self.accelerator.gather(kl.detach()).nanmean().item())
            return loss + beta * kl / normalizer

    EasyR1GRPO.__name__ = EasyR1GRPO.__qualname__ = trainer_class.__name__
    return EasyR1GRPO
