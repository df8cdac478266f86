"""Paper A's seven CPT tasks, in training order (the `cpt7` sequence). Each task's definition is
in its own module; what they share is in `tasks/release.py`."""

from __future__ import annotations

from tasks.geometry3k import Geometry3K
from tasks.gqa import GQA
from tasks.pathvqa import PathVQA
from tasks.release import ReleaseTask
from tasks.scienceqa import ScienceQA
from tasks.superclevr import SuperCLEVR
from tasks.textvqa import TextVQA
from tasks.vizwiz import VizWiz

CPT7_TASKS: tuple[type[ReleaseTask], ...] = (ScienceQA, TextVQA, VizWiz, GQA, Geometry3K, PathVQA, SuperCLEVR)
