"""`harness lab`: Paper A's experiment at toy scale (see `run` for what it does): `config` (what
one lab runs), `run` (training, evaluation, bundles), `stats` (intervals, the outcome), `probes`
(the papers' mechanism probes), `plots` and `report`."""

from baselines.lab.config import LabConfig, lab_config
from baselines.lab.run import run_lab
from baselines.lab.stats import interval, outcome

__all__ = ["LabConfig", "interval", "lab_config", "outcome", "run_lab"]
