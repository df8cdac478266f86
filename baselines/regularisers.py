"""Regularisation towards earlier stages, the classic continual-learning baselines `sft-l2` and
`sft-ewc` (CoIN and MCITlib compare against both):

- L2: penalty = reg_weight / 2 * sum_i (theta_i - theta*_i)^2, theta* the previous stage's weights;
- EWC (Kirkpatrick et al. 2017): penalty = reg_weight / 2 * sum_i F_i (theta_i - theta*_i)^2, F the
  diagonal empirical Fisher of the earlier stages, summed over them (each stage's is the mean, over
  the first `fisher_items` items of its seeded, shuffled training set taken one at a time, of the
  squared gradient of the gold demonstration's loss, at the end of that stage), theta* again the
  previous stage's weights; the first stage has no earlier Fisher and trains without a penalty.

The penalty is added to each micro-batch's loss; it is zero at the anchor and grows with the
squared distance from it. A stage's Fisher is written to `fisher/stage{t}.safetensors` in the run
folder before the stage is recorded as done, so a resumed run finds the earlier ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Anchor:
    """theta* (by parameter name), the per-parameter importance (None: 1 everywhere, L2) and the
    weight of the penalty."""

    weights: dict[str, Any]
    importance: dict[str, Any] | None
    weight: float

    def penalty(self, model: Any) -> Any:
        total = None
        for name, param in model.named_parameters():
            anchor = self.weights.get(name)
            if anchor is None or not param.requires_grad:
                continue
            squared = (param - anchor.to(param.device, param.dtype)) ** 2
            if self.importance is not None:
                squared = squared * self.importance[name].to(param.device, param.dtype)
            term = squared.sum()
            total = term if total is None else total + term
        if total is None:
            raise ValueError("no parameter of the model has an anchor")
        return 0.5 * self.weight * total


def anchor_weights(model: Any) -> dict[str, Any]:
    """theta*: a copy of the model's trainable parameters as loaded, the previous stage's weights
    (taken before a resumed stage loads its checkpoint, so a resume keeps the same anchor)."""
    return {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}


def diagonal_fisher(trainer: Any, n_items: int) -> dict[str, Any]:
    """The diagonal empirical Fisher of the trainer's model on the first `n_items` of its training
    set: the mean over items of each parameter's squared gradient of that item's loss."""
    import torch
    from torch.utils.data import DataLoader

    model = trainer.model
    dataset = trainer.train_dataset
    n = min(n_items, len(dataset))
    loader = DataLoader(dataset.select(range(n)), batch_size=1, collate_fn=trainer.data_collator)
    fisher = {name: torch.zeros_like(p, dtype=torch.float32) for name, p in model.named_parameters() if p.requires_grad}
    model.eval()
    regulariser, trainer.regulariser = getattr(trainer, "regulariser", None), None  # the item's own loss only
    try:
        for batch in loader:
            model.zero_grad(set_to_none=True)
            loss = trainer.compute_loss(model, trainer._prepare_inputs(batch))
            loss.backward()
            for name, p in model.named_parameters():
                if p.grad is not None and name in fisher:
                    fisher[name] += p.grad.detach().float() ** 2
    finally:
        trainer.regulariser = regulariser
        model.zero_grad(set_to_none=True)
    return {name: (f / max(1, n)).contiguous() for name, f in fisher.items()}


def save_fisher(fisher: dict[str, Any], path: Path) -> None:
    """Write atomically: a kill mid-write leaves no partial file under the final name."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    save_file(fisher, str(tmp))
    tmp.replace(path)


def summed_fisher(paths: list[Path]) -> dict[str, Any]:
    """The sum of the earlier stages' Fisher files."""
    from safetensors.torch import load_file

    total: dict[str, Any] = {}
    for path in paths:
        for name, f in load_file(str(path)).items():
            total[name] = total[name] + f if name in total else f
    return total


def regularised(trainer_cls: type) -> type:
    """`trainer_cls` (TRL's SFTTrainer) with the anchor's penalty added to every micro-batch's
    loss and recorded (`penalties`)."""

    class Regularised(trainer_cls):  # type: ignore[misc, valid-type]
        regulariser: Anchor | None = None

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.penalties: list[float] = []

        def compute_loss(self, model: Any, inputs: Any, return_outputs: bool = False, **kwargs: Any) -> Any:
            result = super().compute_loss(model, inputs, return_outputs=return_outputs, **kwargs)
            if self.regulariser is None:
                return result
            penalty = self.regulariser.penalty(model)
            self.penalties.append(float(penalty.detach()))
            if return_outputs:
                loss, outputs = result
                return loss + penalty, outputs
            return result + penalty

    return Regularised
