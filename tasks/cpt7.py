"""Paper A's seven CPT tasks, in training order (the `cpt7` sequence).

They differ only in name, data and hub source so far; everything they share (release loading,
prompt styles, the `paper` protocol) is in `tasks/release.py`. Load one from the paper's
released LLaMA-Factory test file: `scienceqa:data=ScienceQA_test.json`.
"""

from __future__ import annotations

from tasks.release import ReleaseTask

# (name, what it is, hub dataset of the original data) in Paper A's stage order.
CPT7 = (
    ("scienceqa", "ScienceQA image subset (LLaVA/CoIN format); option letter", "derek-thomas/ScienceQA"),
    ("textvqa", "TextVQA val, OCR tokens in the prompt; short text", "lmms-lab/textvqa"),
    ("vizwiz", "VizWiz val, 'Unanswerable' allowed; short text", "lmms-lab/VizWiz-VQA"),
    ("gqa", "GQA; short answers", "lmms-lab/GQA"),
    ("geometry3k", "Geometry3K; number or expression", "hiyouga/geometry3k"),
    ("pathvqa", "PathVQA; yes/no or short text", "flaviagiammarino/path-vqa"),
    ("superclevr", "Super-CLEVR questions (MathV360K style); short text or number", "MathV360K Super-CLEVR subset"),
)


def _task_class(name: str, description: str, hub_id: str) -> type[ReleaseTask]:
    attrs = {"name": name, "version": "1", "description": f"Paper A CPT task: {description}", "hub_id": hub_id}
    return type(f"CPT_{name}", (ReleaseTask,), attrs)


CPT7_TASKS: tuple[type[ReleaseTask], ...] = tuple(_task_class(*row) for row in CPT7)
