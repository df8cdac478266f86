"""ReMax (Li et al., 2023, arXiv:2310.10505) on TRL's GRPO trainer, as EasyR1 runs it.

EasyR1 as Paper A ran it (laisong-22004009/RFTvsSFT @ 6ea0eeac):
- `EasyR1/verl/trainer/ray_trainer.py` lines 519-531: for every prompt of the batch, one greedy
  response (temperature 0, n 1) from the current policy, scored by the reward function: the
  prompt's baseline;
- `EasyR1/verl/trainer/core_algos.py` lines 253-278 (`compute_remax_outcome_advantage`): each
  sampled response's advantage is its reward minus its prompt's greedy reward, neither centred
  on the group nor scaled;
- `EasyR1/examples/config.yaml` line 54: 8 sampled responses per prompt (the estimator changes
  nothing else). The release has no ReMax script (`EasyR1/.gitignore` line 183 ignores
  `remax*`); `EasyR1/examples/test.sh` lines 703-708 evaluate its checkpoints.

TRL 1.16 has no such estimator (its GRPO options scale group-centred rewards, `scale_rewards`),
so `remax` subclasses its trainer: after the sampled responses, one greedy response per group
is generated with the same weights, and the advantages TRL computed are replaced by reward minus
that baseline. The greedy pass draws no random numbers, so the sampled rollouts are those of
GRPO with the same seed, and a resumed stage is unchanged (`baselines.stages.exact_resume`).
"""

from __future__ import annotations

import bisect
import copy
from typing import Any


def group_starts(n_local: int, offset: int, group_size: int) -> list[int]:
    """Local row indices that begin a group (or the part of a group this process holds): TRL's
    sampler puts a prompt's `group_size` copies next to each other in the global batch, and this
    process holds rows `offset .. offset + n_local - 1` of it."""
    return [j for j in range(n_local) if j == 0 or (offset + j) % group_size == 0]


def remax_advantages(rewards: Any, baselines: Any) -> Any:
    """EasyR1's `compute_remax_outcome_advantage` for outcome rewards: reward - baseline, per
    response; an unscorable response (NaN reward) gets 0, as TRL does."""
    import torch

    return torch.nan_to_num(rewards - baselines, nan=0.0)


def remax(trainer_class: type) -> type:
    """`trainer_class` (TRL's GRPOTrainer or a subclass) with ReMax's advantages."""
    import torch

    class ReMax(trainer_class):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if self.use_vllm or any(isinstance(f, torch.nn.Module) for f in self.reward_funcs):
                raise ValueError("ReMax here generates its greedy baseline with transformers and scores it with callable rewards")
            self.baseline_log: list[float] = []  # every greedy baseline reward, for the stage's diagnostics
            self._greedy: tuple[list[int], list[Any], list[list[int]]] | None = None
            self._rewards_per_func: Any = None
            self._baselines: Any = None

        def _generate(self, prompts: list) -> Any:
            out = super()._generate(prompts)
            if self.model.training:
                offset = self.accelerator.process_index * len(prompts)
                starts = group_starts(len(prompts), offset, self.num_generations)
                completions, ids = self._greedy_completions([prompts[j] for j in starts])
                self._greedy = (starts, completions, ids)
            return out

        def _greedy_completions(self, prompts: list) -> tuple[list[Any], list[list[int]]]:
            """One greedy response per prompt from the current weights; TRL's metrics and token
            count are left as the sampled pass set them."""
            saved = self.generation_config, self.generation_kwargs
            greedy = {**self.generation_kwargs, "do_sample": False, "temperature": None, "top_p": None, "top_k": None, "min_p": None}
            config = copy.deepcopy(self.generation_config)
            config.do_sample, config.temperature, config.top_p, config.top_k, config.min_p = False, None, None, None, None
            self.generation_config, self.generation_kwargs = config, greedy
            try:
                prompt_ids, images, fields = self._tokenize_prompts(prompts)
                ids, _ = self._generate_single_turn(prompt_ids, images, fields, 1)
            finally:
                self.generation_config, self.generation_kwargs = saved
            texts = self.processing_class.batch_decode(ids, skip_special_tokens=True)
            return [[{"role": "assistant", "content": t}] for t in texts], ids

        def _calculate_rewards(self, inputs: list, prompts: list, completions: list, completion_ids_list: list) -> Any:
            rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            if self.model.training and self._greedy is not None:
                self._rewards_per_func = rewards_per_func
                self._baselines = self.accelerator.gather(self._baseline_rewards(inputs, prompts))
            return rewards_per_func

        def _baseline_rewards(self, inputs: list, prompts: list) -> Any:
            """Each local row's baseline: the weighted reward of its group's greedy response."""
            starts, completions, ids = self._greedy
            self._greedy = None
            rows = [inputs[j] for j in starts]
            kwargs = {k: [row[k] for row in rows] for k in rows[0] if k not in ("prompt", "completion", "completion_ids")}
            total = torch.zeros(len(starts), device=self.accelerator.device)
            for func, weight in zip(self.reward_funcs, self.reward_weights.tolist()):
                logged = len(getattr(func, "log", []))
                values = func(prompts=[prompts[j] for j in starts], completions=completions, completion_ids=ids,
                              trainer_state=self.state, **kwargs)
                if hasattr(func, "log"):  # the greedy pass is not a rollout: keep it out of the task reward's log
                    del func.log[logged:]
                total += weight * torch.tensor([float("nan") if v is None else v for v in values], device=total.device)
            self.baseline_log.extend(total.tolist())
            group = torch.tensor([bisect.bisect_right(starts, j) - 1 for j in range(len(prompts))], device=total.device)  # starts ascend
            return total[group]

        def _generate_and_score_completions(self, inputs: list) -> dict[str, Any]:
            out = super()._generate_and_score_completions(inputs)
            if self.model.training and self._baselines is not None:
                weights = self.reward_weights.to(self._rewards_per_func.device)
                rewards = (self._rewards_per_func * weights.unsqueeze(0)).nansum(dim=1)
                rewards[torch.isnan(self._rewards_per_func).all(dim=1)] = torch.nan
                advantages = remax_advantages(rewards, self._baselines.to(rewards.device))
                local = len(inputs)
                start = self.accelerator.process_index * local
                out["advantages"] = advantages[start:start + local].to(out["advantages"].device)
                self._rewards_per_func = self._baselines = None
            return out

    ReMax.__name__ = ReMax.__qualname__ = trainer_class.__name__
    return ReMax
