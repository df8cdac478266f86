"""Tiny local copies of each hub dataset the real tasks read, in the hub's schema (same field
names and types, generated images), written the three ways a user may hold them: a folder laid
out like the hub repository (README configs + parquet shards), a `save_to_disk` folder, and one
parquet file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image as PILImage


def _img(color: str, size: int = 32) -> PILImage.Image:
    return PILImage.new("RGB", (size, size), color)


def _features(spec: dict[str, Any]):
    import datasets

    kinds = {
        "str": datasets.Value("string"), "int": datasets.Value("int64"), "image": datasets.Image(),
        "strs": datasets.List(datasets.Value("string")), "images": datasets.List(datasets.Image()),
        "floats": datasets.List(datasets.Value("float64")),
    }
    def kind(v: Any):
        return kinds[v] if isinstance(v, str) else {key: kind(sub) for key, sub in v.items()}  # a dict: a struct

    return datasets.Features({k: kind(v) for k, v in spec.items()})


def write_hub_folder(root: Path, configs: dict[str, dict[str, Any]], schema: dict[str, str]) -> Path:
    """A hub-repository layout: one folder per config, `SPLIT-00000-of-00001.parquet` per split,
    and README metadata naming the configs (as on the hub)."""
    import datasets

    root.mkdir(parents=True, exist_ok=True)
    lines = ["---", "configs:"]
    for config, splits in configs.items():
        lines += [f"- config_name: {config}", "  data_files:"]
        for split, rows in splits.items():
            folder = root / config
            folder.mkdir(exist_ok=True)
            datasets.Dataset.from_list(rows, features=_features(schema[config] if config in schema else schema["*"])).to_parquet(
                str(folder / f"{split}-00000-of-00001.parquet")
            )
            lines += [f"  - split: {split}", f"    path: {config}/{split}-*"]
    lines.append("---")
    (root / "README.md").write_text("\n".join(lines) + "\n")
    return root


def write_saved(root: Path, splits: dict[str, list[dict[str, Any]]], schema: dict[str, str]) -> Path:
    import datasets

    datasets.DatasetDict({s: datasets.Dataset.from_list(rows, features=_features(schema)) for s, rows in splits.items()}).save_to_disk(str(root))
    return root


def write_parquet(path: Path, rows: list[dict[str, Any]], schema: dict[str, str]) -> Path:
    import datasets

    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_list(rows, features=_features(schema)).to_parquet(str(path))
    return path


# ---- one schema and a few rows per hub dataset --------------------------------------------

SCIENCEQA_SCHEMA = {"image": "image", "question": "str", "choices": "strs", "answer": "int", "hint": "str", "subject": "str"}


def scienceqa_rows() -> list[dict[str, Any]]:
    return [
        {"image": _img("red"), "question": "Which color is shown?", "choices": ["red", "blue"], "answer": 0, "hint": "", "subject": "natural science"},
        {"image": None, "question": "Text only?", "choices": ["yes", "no"], "answer": 1, "hint": "", "subject": "language science"},
        {"image": _img("blue"), "question": "Which is a mammal?", "choices": ["trout", "otter", "newt"], "answer": 1, "hint": "Look at the picture.", "subject": "natural science"},
    ]


TEXTVQA_SCHEMA = {"image_id": "str", "question_id": "int", "question": "str", "ocr_tokens": "strs", "answers": "strs", "image": "image"}


def textvqa_rows() -> list[dict[str, Any]]:
    return [
        {"image_id": "i0", "question_id": 34602, "question": "what is the brand of this camera?", "ocr_tokens": ["DAKOTA", "DIGITAL"],
         "answers": ["dakota"] * 7 + ["dakota digital"] * 3, "image": _img("white")},
        {"image_id": "i1", "question_id": 34603, "question": "what number is on the shirt?", "ocr_tokens": [],
         "answers": ["23", "23", "twenty three", "23", "2", "23", "23", "23", "23", "23"], "image": _img("gray")},
    ]


VIZWIZ_SCHEMA = {"question_id": "str", "image": "image", "question": "str", "answers": "strs", "category": "str"}


def vizwiz_rows() -> list[dict[str, Any]]:
    return [
        {"question_id": "VizWiz_val_00000000.jpg", "image": _img("black"), "question": "What is this?",
         "answers": ["unanswerable"] * 6 + ["bottle"] * 2 + ["water bottle", "unsuitable"], "category": "unanswerable"},
        {"question_id": "VizWiz_val_00000001.jpg", "image": _img("green"), "question": "What color is this shirt?",
         "answers": ["green"] * 2 + ["dark green"] * 2 + ["olive"] * 6, "category": "other"},
    ]


GQA_INSTRUCTIONS_SCHEMA = {"id": "str", "imageId": "str", "question": "str", "answer": "str", "fullAnswer": "str"}
GQA_IMAGES_SCHEMA = {"id": "str", "image": "image"}


def gqa_configs() -> dict[str, dict[str, Any]]:
    return {
        "testdev_balanced_instructions": {"testdev": [
            {"id": "201307251", "imageId": "n161313", "question": "Is it overcast?", "answer": "no", "fullAnswer": "No, it is clear."},
            {"id": "201640614", "imageId": "n235859", "question": "Who is wearing a shirt?", "answer": "girl", "fullAnswer": "The girl is wearing a shirt."},
            {"id": "202225914", "imageId": "n161313", "question": "What is the sky like?", "answer": "clear", "fullAnswer": "The sky is clear."},
        ]},
        "testdev_balanced_images": {"testdev": [
            {"id": "n161313", "image": _img("skyblue")},
            {"id": "n235859", "image": _img("pink")},
        ]},
    }


GEOMETRY3K_SCHEMA = {"images": "images", "problem": "str", "answer": "str"}


def geometry3k_rows() -> list[dict[str, Any]]:
    return [
        {"images": [_img("white")], "problem": "<image>Find x.", "answer": "3"},
        {"images": [_img("yellow")], "problem": "<image>Find the area of the triangle.", "answer": "\\frac{5}{2}"},
    ]


PATHVQA_SCHEMA = {"image": "image", "question": "str", "answer": "str"}


def pathvqa_rows() -> list[dict[str, Any]]:
    return [
        {"image": _img("purple"), "question": "is this tissue inflamed?", "answer": "yes"},
        {"image": _img("orange"), "question": "what are positively charged?", "answer": "the histone subunits"},
    ]


MMMU_SCHEMA = {
    "id": "str", "question": "str", "options": "str", "explanation": "str",
    **{f"image_{i}": "image" for i in range(1, 8)},
    "img_type": "str", "answer": "str", "topic_difficulty": "str", "question_type": "str", "subfield": "str",
}


def _mmmu_row(rid: str, question: str, options: str, answer: str, qtype: str, images: dict[int, Any]) -> dict[str, Any]:
    row = {"id": rid, "question": question, "options": options, "explanation": "", "img_type": "['Diagrams']",
           "answer": answer, "topic_difficulty": "Easy", "question_type": qtype, "subfield": "x"}
    row.update({f"image_{i}": images.get(i) for i in range(1, 8)})
    return row


def mmmu_configs() -> dict[str, dict[str, Any]]:
    return {
        "Art": {"validation": [
            _mmmu_row("validation_Art_1", "Which painting is older? <image 1> or <image 2>", "['the first', 'the second']", "A", "multiple-choice",
                      {1: _img("brown"), 2: _img("tan")}),
            _mmmu_row("validation_Art_2", "<image 1> How many figures are shown?", "[]", "42", "open", {1: _img("white")}),
        ]},
        "Math": {"validation": [
            _mmmu_row("validation_Math_1", "What is the value of x?", "['1', '2', '<image 1>', '4']", "C", "multiple-choice", {1: _img("black")}),
        ]},
    }


MMLU_PRO_SCHEMA = {"question_id": "int", "question": "str", "options": "strs", "answer": "str", "answer_index": "int",
                   "cot_content": "str", "category": "str", "src": "str"}


def mmlu_pro_splits() -> dict[str, list[dict[str, Any]]]:
    def row(qid, q, opts, ans, cat, cot=""):
        return {"question_id": qid, "question": q, "options": opts, "answer": ans, "answer_index": "ABCDEFGHIJ".index(ans),
                "cot_content": cot, "category": cat, "src": "fixture"}

    letters10 = [f"option {i}" for i in range(10)]
    return {
        "test": [
            row(70, "What is 2 + 2?", ["3", "4", "5", "6", "7", "8", "9", "10", "11", "12"], "B", "math"),
            row(71, "Which organelle makes ATP?", letters10, "D", "biology"),
        ],
        "validation": [
            row(1, "What is 1 + 1?", ["1", "2", "3", "4"], "B", "math", "A: Let's think step by step. 1 + 1 = 2. The answer is (B)."),
            row(2, "What is 3 * 3?", ["6", "9"], "B", "math", "A: Let's think step by step. 3 * 3 = 9. The answer is (B)."),
            row(3, "Cells come from?", ["cells", "air"], "A", "biology", "A: Let's think step by step. Cell theory. The answer is (A)."),
        ],
    }


POPE_SCHEMA = {"id": "str", "question_id": "str", "question": "str", "answer": "str", "image_source": "str", "image": "image", "category": "str"}


def pope_rows() -> list[dict[str, Any]]:
    rows = []
    # question_id restarts within each category, as in the original POPE files.
    for i, (obj, ans, cat, qid) in enumerate([("dog", "yes", "adversarial", 1), ("cat", "no", "adversarial", 2), ("car", "yes", "popular", 1), ("tree", "no", "random", 1)]):
        rows.append({"id": str(i + 1), "question_id": str(qid), "question": f"Is there a {obj} in the image?", "answer": ans,
                     "image_source": f"COCO_val2014_{i:012d}", "image": _img("white"), "category": cat})
    return rows


REFCOCO_SCHEMA = {"question_id": "str", "image": "image", "answer": "strs", "bbox": "floats", "file_name": "str"}


def refcoco_rows() -> list[dict[str, Any]]:
    """Two objects on a 640x480 and a 100x50 image; bbox is COCO's [x, y, width, height]."""
    return [
        {"question_id": "1001", "image": PILImage.new("RGB", (640, 480), "white"), "answer": ["man on the left", "left guy"],
         "bbox": [64.0, 48.0, 320.0, 240.0], "file_name": "a.jpg"},
        {"question_id": "1002", "image": PILImage.new("RGB", (100, 50), "gray"), "answer": ["red cup"],
         "bbox": [10.0, 5.0, 50.0, 25.0], "file_name": "b.jpg"},
    ]


# lmms-lab/DocVQA's README at 59fed3cdc38662abeef8f363171b2ec7c95c165c: config DocVQA, splits
# train / validation / test (test without answers).
DOCVQA_SCHEMA = {"questionId": "str", "question": "str", "question_types": "strs", "image": "image", "docId": "int",
                 "ucsf_document_id": "str", "ucsf_document_page_no": "str", "answers": "strs", "data_split": "str"}


def docvqa_rows(split: str = "validation") -> list[dict[str, Any]]:
    rows = [("49153", "What is the ‘actual’ value per 1000, during the year 1975?", ["0.28"], 14465),
            ("24580", "What is the name of the company?", ["itc limited", "ITC Limited"], 4210),
            ("57349", "To whom is the document sent?", ["Paul"], 1231)]
    return [{"questionId": qid, "question": q, "question_types": ["form"], "image": _img("white", 64), "docId": doc,
             "ucsf_document_id": f"doc{doc}", "ucsf_document_page_no": "1", "answers": answers if split != "test" else [],
             "data_split": split} for qid, q, answers, doc in rows]


# lmms-lab/MME's README: config default, split test (2,374 rows); question_id is the image's path,
# shared by the image's two questions.
MME_SCHEMA = {"question_id": "str", "image": "image", "question": "str", "answer": "str", "category": "str"}


def mme_rows() -> list[dict[str, Any]]:
    rows = []
    for qid, cat, obj in [("existence/000000006040.jpg", "existence", "train"), ("code_reasoning/0020.png", "code_reasoning", "print")]:
        for answer, what in (("Yes", obj), ("No", "bed")):
            rows.append({"question_id": qid, "image": _img("white"), "question": f"Is there a {what} in this image? Please answer yes or no.",
                         "answer": answer, "category": cat})
    return rows


# Lin-Chen/MMStar's README: config val, split val (1,500 rows); the options are inside `question`.
MMSTAR_SCHEMA = {"index": "int", "question": "str", "image": "image", "answer": "str", "category": "str", "l2_category": "str",
                 "meta_info": {"source": "str", "split": "str", "image_path": "str"}}


def mmstar_rows() -> list[dict[str, Any]]:
    items = [(0, "Which option describe the object relationship in the image correctly?\nOptions: A: The suitcase is on the book., "
                 "B: The suitcase is beneath the cat., C: The suitcase is beneath the bed., D: The suitcase is beneath the book.",
              "A", "coarse perception", "image scene and topic"),
             (1, "What is the main feature in the background of the image?\nOptions: A: A house, B: A mountain, C: A lake, D: A road",
              "B", "math", "geometry")]
    return [{"index": i, "question": q, "image": _img("gray"), "answer": a, "category": c, "l2_category": l2,
             "meta_info": {"source": "MMBench", "split": "val", "image_path": f"images/{i}.jpg"}} for i, q, a, c, l2 in items]
