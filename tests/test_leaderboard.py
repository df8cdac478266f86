"""The leaderboard site: built from the bundles in leaderboard/bundles (the demo's SFT and GRPO
runs; the full lab's seed-0 runs from the shipped lab base), deterministic, one table per base and
sequence, refusing bundles that fail `harness check`, and working in a real browser (Debian's
chromium driven by Playwright; skipped where either is missing)."""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from baselines.lab.config import METHODS
from harness.errors import HarnessError
from leaderboard.build import build_site

REPO = Path(__file__).resolve().parents[1]
BUNDLES = REPO / "leaderboard" / "bundles"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Two bases: the demo's (SFT, GRPO) and the shipped lab base (the default lab's methods).
ENTRIES = ["demo-grpo", "demo-sft"] + [f"lab-{method}-s0" for method in METHODS]


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    summary = build_site(BUNDLES, out)
    assert summary["tracks"]["main"] == [] and sorted(summary["tracks"]["toy"]) == sorted(ENTRIES)
    return out


def test_build_is_deterministic_and_complete(site, tmp_path):
    again = tmp_path / "again"
    build_site(BUNDLES, again)
    assert _tree(again) == _tree(site)
    assert sorted(_tree(site)) == sorted([f"bundles/{e}.tar.gz" for e in ENTRIES] + [f"entries/{e}.html" for e in ENTRIES]
                                         + ["index.html", "sort.js", "style.css"])
    index = (site / "index.html").read_text()
    assert "as reported, not re-run" in index and "/tmp" not in index
    # Two bases (the demo's, the lab's): two toy tables, each headed by its base's fingerprint and
    # sequence; Paper A's reported rows stand in a main-track table of their own.
    assert 'id="table-toy-2"' in index and 'id="table-toy-3"' not in index
    assert index.count("fingerprint ") >= 2 and "sequence: toy_science" in index and 'id="table-main-1"' in index
    assert 'id="table-jigsaw-1"' in index and "Paper B (arXiv 2506.23508)" in index  # Paper B's rows: a jigsaw table of their own
    # Each entry says how every column was scored: style, protocol and preset.
    entry = (site / "entries" / "demo-sft.html").read_text()
    assert '<table id="protocols">' in entry
    assert "<tr><td>toy_science:style=direct</td><td>direct</td><td>default</td><td>–</td></tr>" in entry


def test_reference_rows_sit_beside_columns_scored_as_the_paper_scored_them():
    from leaderboard.build import _references

    rows = _references(["mmmu:style=paper", "mmmu"])
    sft = next(r for r in rows if r["method"] == "SFT")
    assert sft["deltas"]["mmmu:style=paper"]["text"] == "-12.0" and sft["deltas"]["mmmu"]["text"] == "–"
    # Paper B's rows: jigsaw accuracy as AvgAcc, its MMMU / RefCOCO / POPE deltas under the paper-b columns.
    from tasks import GENERAL_LISTS, get_task

    columns = [get_task(s).spec for s in GENERAL_LISTS["paper-b"]]
    rows = {r["method"]: r for r in _references(columns, "jigsaw")}
    assert rows["SFT (direct answers)"]["avg_acc"] == "80.0" and rows["RFT (GRPO)"]["deltas"]["refcoco"]["text"] == "-0.6"
    assert rows["RFT (GRPO)"]["deltas"]["docvqa"]["text"] == "–"
    # Each reference file names its sequence and general columns as the harness names them.
    from tasks import SEQUENCES

    paper_a = json.loads((REPO / "leaderboard" / "reference-paper-a.json").read_text())
    assert paper_a["sequence"] == [s.split(":")[0] for s in SEQUENCES["cpt7"]["sequence"]] and paper_a["general"] == SEQUENCES["cpt7"]["general"]
    assert json.loads((REPO / "leaderboard" / "reference-paper-b.json").read_text())["general"] == columns


def test_tracks_follow_the_trained_tasks_and_refuse_unknown_names():
    from leaderboard.build import _track

    def results(sequence, general):
        return {"sequence": sequence, "general": general, "columns": sequence + general}

    assert _track(None, results(["jigsaw:grid=3"], ["mmmu", "refcoco"])) == "jigsaw"
    assert _track(None, results(["toy_count"], ["toy_mcq10"])) == "toy"
    assert _track(None, results(["jigsaw"], ["toy_mcq10"])) == "toy"  # a tiny-model jigsaw run
    assert _track(None, results(["scienceqa", "jigsaw"], ["mmmu"])) == "main"
    assert _track("toy", results(["jigsaw"], ["mmmu"])) == "toy"
    assert _track("", results(["jigsaw"], ["mmmu"])) == "jigsaw"  # an empty track is no track
    with pytest.raises(HarnessError, match="track 'gold' is not one of main, jigsaw, toy"):
        _track("gold", results(["jigsaw"], ["mmmu"]))


def test_a_bundle_that_fails_the_check_stops_the_build(tmp_path):
    bundles = tmp_path / "bundles"
    bundles.mkdir()
    shutil.copyfile(BUNDLES / "demo-sft.tar.gz", bundles / "demo-sft.tar.gz")
    folder = bundles / "edited"
    with tarfile.open(BUNDLES / "demo-grpo.tar.gz") as tar:
        tar.extractall(folder, filter="data")
    results = json.loads((folder / "results.json").read_text())
    results["metrics"]["avg_acc"] += 10
    (folder / "results.json").write_text(json.dumps(results))
    out = tmp_path / "site"
    with pytest.raises(HarnessError, match=r"edited: results.json: metric avg_acc differs"):
        build_site(bundles, out)
    assert not out.exists()


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (apt-get install chromium); .ci/run installs it")
def test_the_site_in_a_browser(site, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
    artifacts = Path(os.environ.get("CPT_HARNESS_TEST_ARTIFACTS") or tmp_path)
    artifacts.mkdir(parents=True, exist_ok=True)
    expected, bases = {}, {}
    for name in ENTRIES:
        with tarfile.open(BUNDLES / f"{name}.tar.gz") as tar:
            results = json.load(tar.extractfile("results.json"))
            method = json.load(tar.extractfile("submission.json"))["method"]
        base = results["stages"][0]["fingerprint"][:12]
        expected[base, method] = f"{results['metrics']['avg_acc']:.1f}"
        bases.setdefault(base, set()).add(method)
    assert len(bases) == 2  # the demo's base and the lab's
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto((site / "index.html").as_uri())
            # One table per base: each lists the methods trained from that base, with one header
            # for all its rows (every entry has every general column), and nothing runs off the page.
            tables = page.locator("#track-toy ~ table")
            assert tables.count() == 2
            for k in range(2):
                table = tables.nth(k)
                heading = table.locator("xpath=preceding-sibling::h3[1]").inner_text()
                fingerprint = next(f for f in bases if f in heading)
                rows = table.locator("tbody tr")
                shown = {rows.nth(i).locator("td").nth(0).inner_text(): rows.nth(i).locator("td").nth(2).inner_text() for i in range(rows.count())}
                assert set(shown) == bases[fingerprint] and all(shown[m] == expected[fingerprint, m] for m in shown)
                general = table.locator("thead th.general")
                assert general.count() == 4  # toy_mcq10 and toy_imgmcq in both styles
                assert all("–" != rows.nth(i).locator("td").nth(5 + g).inner_text() for i in range(rows.count()) for g in range(4))
            assert page.evaluate("document.documentElement.scrollWidth") <= 1400
            page.screenshot(path=str(artifacts / "leaderboard-index.png"), full_page=True)
            # Sort by AvgAcc: first click descending, second ascending.
            table = page.locator("#table-toy-1")
            rows = table.locator("tbody tr")
            header = table.locator("thead th", has_text="AvgAcc")
            header.click()
            values = [float(rows.nth(i).locator("td").nth(2).inner_text()) for i in range(rows.count())]
            assert values == sorted(values, reverse=True)
            header.click()
            values = [float(rows.nth(i).locator("td").nth(2).inner_text()) for i in range(rows.count())]
            assert values == sorted(values)
            page.locator("a", has_text="GRPO (harness demo)").click()
            assert page.locator("h1").inner_text() == "GRPO (harness demo)"
            assert page.locator("#matrix tbody tr").count() == 4  # base + three stages
            assert page.evaluate("document.documentElement.scrollWidth") <= 1400
            page.screenshot(path=str(artifacts / "leaderboard-entry.png"), full_page=True)
        finally:
            browser.close()
    assert (artifacts / "leaderboard-index.png").stat().st_size > 10_000
