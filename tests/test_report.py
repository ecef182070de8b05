"""report.md cannot drift from its runs: its tables are those that
tests/manual/report_experiments.py generates from figures/results.json and
figures/benchmark.json, and every figure it or the README shows exists."""

import json
import re
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tests" / "manual"))


def test_the_tables_are_the_ones_generated_from_the_results():
    import report_experiments
    report = (ROOT / "report.md").read_text()
    tables = report_experiments.report_tables(
        json.loads((ROOT / "figures" / "results.json").read_text()),
        json.loads((ROOT / "figures" / "benchmark.json").read_text()))
    assert report_experiments.update_report(report, tables) == report


def test_every_figure_shown_exists():
    for document in ("report.md", "README.md"):
        for link in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", (ROOT / document).read_text()):
            assert (ROOT / link).read_bytes()[:4] == b"\x89PNG", f"{document}: {link}"
