"""`harness leaderboard build --bundles DIR --out SITE`: the static leaderboard.

Every bundle in DIR (a folder holding `results.json`, or a `.tar.gz` of one; its name, less the
suffix, is the entry's id) must pass `harness check`; the build stops with the checker's lines
for any that does not, and writes nothing. The site: `index.html` (three tracks: "main" for real
models on CPT sequences, "jigsaw" for Paper B's jigsaw training, "toy" for runs on the tiny
models, chosen by `submission.json`'s `track` or, without one, by the trained tasks: all toy
tasks, all jigsaw, else main; within a track, one sortable table per base model fingerprint,
trained sequence and column protocols, since only those rank against each other),
`entries/ID.html` (metadata, the accuracy matrix as a heatmap, each task across stages, metrics,
training diagnostics), `bundles/ID.tar.gz` (each bundle, packed deterministically), `style.css`
and `sort.js`. A paper's reported figures are reference rows of its track's table over its
sequence (or a table of their own), marked "as reported, not re-run": Paper A's in the main track
(`reference-paper-a.json`), Paper B's in the jigsaw track (`reference-paper-b.json`).

The same bundles give the same bytes: no clock, no absolute paths, sorted everything.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.results.report import fmt
from harness.results.types import Results
from tasks.user_json import read_json

HERE = Path(__file__).parent
TRACKS = (("main", "Main track"), ("jigsaw", "Jigsaw track (Paper B: a task absent from pre-training)"),
          ("toy", "Toy track (tiny models, CPU)"))
REFERENCES = {"main": "reference-paper-a.json", "jigsaw": "reference-paper-b.json"}  # each paper's reported rows, by track
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")


def _fmt(value: Any, digits: int = 1) -> str:
    return fmt(value, digits=digits, missing="–")


def _value(value: Any) -> str:
    return "" if value is None else f"{value:.6f}"


def _colour(value: float) -> str:
    """White (0%) to green (100%), in fixed steps so the bytes never depend on float noise."""
    step = max(0, min(100, round(value)))
    red = 255 - round(step * 1.55)
    blue = 255 - round(step * 1.35)
    return f"rgb({red}, 255, {blue})"


def _chart(columns: list[str], matrix: list[list[float]]) -> str:
    """An inline SVG line chart: one line per task, accuracy (0–100) over stages."""
    width, height, left, bottom = 640, 260, 40, 30
    stages = len(matrix)
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    def x(t: int) -> float:
        return left + (width - left - 10) * (t / max(1, stages - 1))

    def y(v: float) -> float:
        return 10 + (height - bottom - 10) * (1 - v / 100)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 20 * len(columns)}" role="img" aria-label="accuracy across stages">']
    for v in (0, 50, 100):
        parts.append(f'<line x1="{left}" y1="{y(v):.1f}" x2="{width - 10}" y2="{y(v):.1f}" stroke="#ddd"/><text x="4" y="{y(v) + 4:.1f}">{v}</text>')
    for t in range(stages):
        parts.append(f'<text x="{x(t) - 4:.1f}" y="{height - 10}">{t}</text>')
    for i, column in enumerate(columns):
        colour = palette[i % len(palette)]
        points = " ".join(f"{x(t):.1f},{y(matrix[t][i]):.1f}" for t in range(stages))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        parts.append(f'<text x="{left}" y="{height + 14 + 20 * i}" fill="{colour}">— {_escape(column)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _is_toy(results: Results) -> bool:
    return all(spec.split(":")[0].startswith("toy_") or spec.split(":")[0] == "jigsaw" for spec in results["columns"])


def _entry(entry_id: str, results: Results, submission: dict[str, Any] | None) -> dict[str, Any]:
    m = results["metrics"]
    T = len(results["stages"]) - 1
    columns = results["columns"]
    sub = submission or {}
    deltas = {
        g: {"value": _value(d.get("delta")), "text": f"{d['delta']:+.1f} [{d['ci_low']:+.1f}, {d['ci_high']:+.1f}]"}
        if d and d.get("delta") is not None else {"value": "", "text": "–"}
        for g, d in m["general_deltas"].items()
    }
    final_invalid = [rates[T] for rates in m["invalid_rate"].values()]
    invalid = sum(final_invalid) / len(final_invalid)
    matrix = [
        {"label": "base" if t == 0 else f"{t}: {results['stages'][t]['task']}",
         "cells": [{"text": f"{v:.1f}", "colour": _colour(v)} for v in row]}
        for t, row in enumerate(results["accuracy"])
    ]
    training = results.get("training")
    train_view = None
    if training and training.get("stages"):
        keys = sorted({k for s in training["stages"] for k, v in s.items() if isinstance(v, (int, float, str)) and k != "stage"})[:12]
        # One row per diagnostic, one column per stage: a dozen diagnostics side by side run off the page.
        rows = [[k] + [_short(s.get(k)) for s in training["stages"]] for k in keys]
        train_view = {"method": training.get("method"), "config_hash": training.get("config_hash"),
                      "stages": [s.get("stage", "") for s in training["stages"]], "rows": rows}
    meta = [(k, _short(v)) for k, v in sorted(sub.items()) if k not in ("method", "base_model", "track")]
    return {
        "id": entry_id,
        "method": sub.get("method") or (training or {}).get("method") or entry_id,
        "base_model": sub.get("base_model", "(not given)"),
        "track": _track(sub.get("track"), results),
        "stages": T,
        "avg_acc": _fmt(m.get("avg_acc")), "avg_acc_value": _value(m.get("avg_acc")),
        "fm": _fmt(m.get("fm")), "fm_value": _value(m.get("fm")),
        "forgetting": _fmt(m.get("forgetting")), "forgetting_value": _value(m.get("forgetting")),
        "deltas": deltas, "general": list(m["general_deltas"]),
        "invalid": f"{invalid:.1f}%", "invalid_value": _value(invalid),
        "columns": columns, "matrix": matrix, "chart": _chart(columns, results["accuracy"]),
        "metrics": [(k, _short(m.get(k))) for k in ("avg_acc", "fm", "bwt", "forgetting", "fwt", "mft", "mfn", "maa")],
        "training": train_view, "meta": meta, "backend": results["generation"]["backend"],
        "base_fingerprint": results["stages"][0]["fingerprint"], "sequence": [c.split(":")[0] for c in results["sequence"]],
        # Trained columns by task (each method scores them in the style it trains, e.g. SFT direct and
        # GRPO think/boxed), general columns by their full spec: the same probes in the same styles.
        "protocol_key": [(c.split(":")[0] if c in results["sequence"] else c, results["tasks"][c]["protocol"],
                          results["tasks"][c].get("preset") or "") for c in columns],
        "protocols": [{"column": c, "style": results["tasks"][c].get("style") or "–", "protocol": results["tasks"][c]["protocol"],
                       "preset": results["tasks"][c].get("preset") or "–"} for c in columns],
    }


def _track(named: Any, results: Results) -> str:
    """The entry's track: the submission's, else toy when every task is a toy task, jigsaw when
    every trained task is a jigsaw, else main. An unknown name is refused."""
    names = [name for name, _ in TRACKS]
    if named and named not in names:
        raise HarnessError(f"submission.json: track {str(named)[:40]!r} is not one of {', '.join(names)}")
    if named:
        return named
    if _is_toy(results):
        return "toy"
    return "jigsaw" if all(c.split(":")[0] == "jigsaw" for c in results["sequence"]) else "main"


def _reference_set(track: str) -> dict[str, Any] | None:
    return json.loads((HERE / REFERENCES[track]).read_text()) if track in REFERENCES else None


def _groups(track: str, members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The track's tables: one per (base model fingerprint, trained tasks in order, columns and
    their protocols), since only runs from the same base over the same tasks scored the same way
    can be ranked against each other; the trained tasks' prompt style may differ (each method is
    scored in the style it trains), the general columns' may not. The track's reported rows
    (`REFERENCES`) join the table(s) of their sequence, or stand alone when there is none."""
    keyed: dict[str, list[dict[str, Any]]] = {}
    for e in members:
        keyed.setdefault(json.dumps([e["base_fingerprint"], e["sequence"], e["protocol_key"]]), []).append(e)
    reported = _reference_set(track)
    groups = []
    for n, (_, group) in enumerate(sorted(keyed.items(), key=lambda kv: (-len(kv[1]), kv[0]))):
        first = group[0]
        general = sorted({g for e in group for g in e["general"]})
        for e in group:
            e["deltas"] = {g: e["deltas"].get(g, {"value": "", "text": "–"}) for g in general}
        with_references = reported is not None and first["sequence"] == reported["sequence"]
        bases = sorted({e["base_model"] for e in group})
        groups.append({"id": f"table-{track}-{n + 1}", "entries": group, "general": general,
                       "base": ", ".join(bases), "fingerprint": first["base_fingerprint"][:12],
                       "sequence": " → ".join(first["sequence"]),
                       "references": _references(general, track) if with_references else [],
                       "reference_source": reported["source"] if with_references else ""})
    if reported is not None and not any(g["references"] for g in groups):
        general = list(reported["general"])
        groups.append({"id": f"table-{track}-{len(groups) + 1}", "entries": [], "general": general,
                       "base": reported["base_model"], "fingerprint": "", "sequence": " → ".join(reported["sequence"]),
                       "references": _references(general, track), "reference_source": reported["source"]})
    return groups


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)[:200]
    return "" if value is None else str(value)[:200]


def _references(general: list[str], track: str = "main") -> list[dict[str, Any]]:
    """The reported rows of a track, with a delta under each general column the paper reported
    for that column's spec."""
    data = _reference_set(track)
    assert data is not None, track
    rows = []
    for r in data["rows"]:
        deltas = {}
        for g in general:
            value = r["general"].get(g)  # a reported figure fits only the column scored as the paper scored it
            deltas[g] = {"value": _value(value), "text": "–" if value is None else f"{value:+.1f}"}
        rows.append({"method": r["method"], "base_model": data["base_model"], "avg_acc": _fmt(r["avg_acc"]),
                     "avg_acc_value": _value(r["avg_acc"]), "fm": _fmt(r["fm"]), "fm_value": _value(r["fm"]), "deltas": deltas})
    return rows


def collect(bundles: Path) -> list[tuple[str, Path]]:
    """(id, path) of every bundle in the folder, sorted by id."""
    if not bundles.is_dir():
        raise HarnessError(f"bundles folder not found: {bundles}")
    found = []
    for path in sorted(bundles.iterdir()):
        if path.name.startswith("."):
            continue
        entry_id = path.name[: -len(".tar.gz")] if path.name.endswith(".tar.gz") else path.name
        if not ((path.is_dir() and not path.is_symlink()) or path.name.endswith(".tar.gz")):
            continue
        if not ID_PATTERN.match(entry_id):
            raise HarnessError(f"{path}: a bundle's name must be letters, digits, '.', '_' or '-'")
        found.append((entry_id, path))
    ids = [i for i, _ in found]
    if len(set(ids)) != len(ids):
        raise HarnessError(f"{bundles}: two bundles share an id")
    return found


def build_site(bundles: Path, out: Path) -> dict[str, Any]:
    """Check every bundle, then write the site into `out` (replaced as a whole, atomically)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    import harness
    from harness.results.bundle import pack
    from harness.check.checker import check_bundle, open_archive, Report

    entries, problems = [], []
    work = Path(tempfile.mkdtemp(prefix="cpt-site-"))
    try:
        for entry_id, path in collect(bundles):
            report = check_bundle(path)
            if not report.accepted:
                problems += [f"{path.name}: {p.line()}" for p in report.problems]
                continue
            if path.is_dir():
                folder = path
                pack(folder, work / f"{entry_id}.tar.gz")
            else:
                shutil.copyfile(path, work / f"{entry_id}.tar.gz")
                with open_archive(path, Report(str(path))) as root:
                    folder = work / entry_id
                    shutil.copytree(root, folder)
            results = read_json(folder / "results.json")
            sub_path = folder / "submission.json"
            submission = read_json(sub_path) if sub_path.is_file() else None
            try:
                entries.append(_entry(entry_id, results, submission))
            except HarnessError as e:
                problems.append(f"{path.name}: {e}")
        if problems:
            raise HarnessError("refused: bundles that do not pass `harness check`:\n" + "\n".join(problems))
        env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["j2", "html"]),
                          undefined=StrictUndefined, keep_trailing_newline=True)
        tracks = []
        for name, title in TRACKS:
            members = sorted((e for e in entries if e["track"] == name), key=lambda e: (-(float(e["avg_acc_value"] or "-1e9")), e["id"]))
            tracks.append({"name": name, "title": title, "entries": members, "groups": _groups(name, members)})
        site = work / "site"
        (site / "entries").mkdir(parents=True)
        (site / "bundles").mkdir()
        (site / "index.html").write_text(env.get_template("index.html.j2").render(
            title="CPT leaderboard", root="", tracks=tracks, harness_version=harness.__version__))
        for e in entries:
            (site / "entries" / f"{e['id']}.html").write_text(env.get_template("entry.html.j2").render(title=e["method"], root="../", e=e))
            shutil.copyfile(work / f"{e['id']}.tar.gz", site / "bundles" / f"{e['id']}.tar.gz")
        for name in ("style.css", "sort.js"):
            shutil.copyfile(HERE / "templates" / name, site / name)
        # Replace the output folder only once the new site is complete.
        if out.exists() and not (out / "index.html").is_file() and any(out.iterdir()):
            raise HarnessError(f"{out} exists and is not a leaderboard site; choose another --out")
        staging = out.with_name(out.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(site, staging)
        if out.exists():
            shutil.rmtree(out)
        staging.replace(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"entries": [e["id"] for e in entries], "tracks": {t["name"]: [e["id"] for e in t["entries"]] for t in tracks}}
