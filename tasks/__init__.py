"""The task registry: task families by name, named sequences, spec parsing, did-you-mean errors.

A task spec is `family` or `family:key=value,key=value` (e.g. `jigsaw:grid=3,mode=tiles`).
"""

from __future__ import annotations

import difflib

from tasks.base import GenerationContract, Sample, Score, Task
from tasks.cpt7 import CPT7_TASKS
from tasks.docvqa import DocVQA
from tasks.errors import HarnessError
from tasks.jigsaw import Jigsaw
from tasks.mmlu_pro import MMLUPro
from tasks.mme import MME
from tasks.mmmu import MMMU
from tasks.mmstar import MMStar
from tasks.pope import POPE
from tasks.refcoco import RefCOCO
from tasks.toy.count import ToyCount
from tasks.toy.geometry import ToyGeometry
from tasks.toy.imgmcq import ToyImgMcq
from tasks.toy.mcq10 import ToyMcq10
from tasks.toy.ocr import ToyOcr
from tasks.toy.science import ToyScience
from tasks.toy.spatial import ToySpatial
from tasks.toy.texture import ToyTexture
from tasks.toy.vizwiz import ToyVizwiz

__all__ = ["GenerationContract", "Sample", "Score", "Task", "TASKS", "SEQUENCES", "GENERAL_LISTS", "expand_general", "get_task",
           "resolve_sequence", "split_specs"]

TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (
        ToyScience, ToyOcr, ToyVizwiz, ToySpatial, ToyGeometry, ToyTexture, ToyCount,
        ToyMcq10, ToyImgMcq, Jigsaw, *CPT7_TASKS, MMMU, MMLUPro, POPE, RefCOCO, DocVQA, MME, MMStar,
    )
}

# The toy general probes in both prompt styles, whatever style a method trains in: every toy run
# has the same general columns.
TOY_GENERAL = ["toy_mcq10:style=cot", "toy_mcq10:style=direct", "toy_imgmcq:style=cot", "toy_imgmcq:style=direct"]

# Named lists of general columns, usable wherever general columns are named (`--general NAME`, a
# manifest's "general"). `paper-b`: Paper B's prior-knowledge probes (RefCOCO val, DocVQA, MME,
# MMStar, POPE) and MMMU, each in its standard style, named so that every trained method is
# evaluated on the same columns whatever style it trains in.
GENERAL_LISTS: dict[str, list[str]] = {
    "paper-b": [f"{name}:style=standard" for name in ("refcoco", "docvqa", "mme", "mmstar", "pope", "mmmu")],
}

# Named sequences: the trained tasks in order, and the general probes evaluated beside them.
SEQUENCES: dict[str, dict[str, list[str]]] = {
    # Paper A's general benchmarks, evaluated as its code evaluates them (`EasyR1/examples/test.sh`
    # runs every method on MMMU, MMLU-Pro and POPE with `test.yaml`; `tasks.presets.PAPER_A`).
    "cpt7": {"sequence": [cls.name for cls in CPT7_TASKS], "general": ["mmmu:style=paper", "mmlu_pro:style=paper", "pope:style=paper"]},
    "toy7": {
        "sequence": ["toy_science", "toy_ocr", "toy_vizwiz", "toy_spatial", "toy_geometry", "toy_texture", "toy_count"],
        "general": TOY_GENERAL,
    },
    "toy3": {
        "sequence": ["toy_science", "toy_spatial", "toy_count"],
        "general": TOY_GENERAL,
    },
    # Paper B's jigsaw training, probed on its prior-knowledge list.
    "jigsaw": {"sequence": ["jigsaw"], "general": GENERAL_LISTS["paper-b"]},
}


def expand_general(specs: list[str]) -> list[str]:
    """General column specs with each named list (`GENERAL_LISTS`) replaced by its members, in place."""
    return [member for spec in specs for member in GENERAL_LISTS.get(spec, [spec])]


def get_task(spec: str) -> Task:
    """Instantiate a task from its spec; an unknown name gets a did-you-mean error."""
    family, _, arg_text = spec.strip().partition(":")
    if family not in TASKS:
        close = difflib.get_close_matches(family, list(TASKS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise HarnessError(f"unknown task {family!r}{hint} (see `harness tasks`)")
    params = {}
    for item in filter(None, (a.strip() for a in arg_text.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            raise HarnessError(f"task spec {spec!r}: expected key=value, got {item!r}")
        params[key.strip()] = value.strip()
    return TASKS[family](**params)


def names_style(spec: str) -> bool:
    """Whether a task spec sets its prompt style (`FAMILY:...,style=X,...`)."""
    return any(a.strip().startswith("style=") for a in spec.partition(":")[2].split(","))


def with_style(spec: str, style: str) -> str:
    """`spec` with `style=STYLE` appended, unless it names a style already."""
    if names_style(spec):
        return spec
    family, _, args = spec.partition(":")
    return f"{family}:{args},style={style}" if args else f"{family}:style={style}"


def split_specs(text: str) -> list[str]:
    """Split a comma-separated list of task specs, keeping each spec's own `key=value`
    parameters with it: "a:x=1,y=2,b" -> ["a:x=1,y=2", "b"]. After an lm-eval column
    (`lm-eval:NAME`), bare names that are not tasks of ours are lm-eval tasks too:
    "lm-eval:arc_easy,arc_challenge,toy_mcq10" -> ["lm-eval:arc_easy", "lm-eval:arc_challenge", "toy_mcq10"]."""
    specs: list[str] = []
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        if specs and specs[-1].startswith("lm-eval:") and ":" not in piece and "=" not in piece and piece not in TASKS:
            specs.append("lm-eval:" + piece)
        elif specs and ":" in specs[-1] and "=" in piece and ":" not in piece.split("=", 1)[0]:
            specs[-1] += "," + piece
        else:
            specs.append(piece)
    return specs


def resolve_sequence(text: str) -> tuple[list[str], list[str]]:
    """A sequence name (e.g. `toy7`) or a comma-separated list of task specs -> (sequence,
    general). Only a named sequence brings general probes. Specs are checked here."""
    if text in SEQUENCES:
        named = SEQUENCES[text]
        return list(named["sequence"]), list(named["general"])
    specs = split_specs(text)
    if not specs:
        raise HarnessError("empty task sequence")
    for s in specs:
        get_task(s)
    return specs, []
