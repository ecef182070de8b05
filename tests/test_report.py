"""report.md cannot drift from the runs: every image it links exists, and its headline
numbers are the ones saved by `python tests/report_experiments.py` (figures/results.json)
and `python tests/benchmark.py` (figures/benchmark.json)."""

import json
import re
import sys

import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tests" / "manual"))

REPORT = (ROOT / "report.md").read_text()
RESULTS = json.loads((ROOT / "figures" / "results.json").read_text())
BENCHMARK = json.loads((ROOT / "figures" / "benchmark.json").read_text())


def pct(x):
    """How the report writes an error rate."""
    return f"{100 * x:.2f} %"


def median_seconds(history):
    return f"{np.median([r['seconds'] for r in history]):.2f} s"


def test_every_linked_image_exists():
    links = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", REPORT)
    assert len(links) >= 6
    for link in links:
        path = ROOT / link
        assert path.is_file(), link
        assert path.read_bytes()[:4] == b"\x89PNG", link


def test_results_are_from_a_full_run():
    assert RESULTS["quick"] is False and RESULTS["train_size"] is None


def expected_numbers():
    r = RESULTS
    numbers = [pct(e) for e in r["task13"].values()]
    numbers += [pct(r["task15"]["epochs"][-1]["test_error"]),
                median_seconds(r["task15"]["epochs"])]
    t17 = r["task17"]
    numbers += [pct(t17["tp"]["epochs"][-1]["test_error"]),
                pct(t17["best"]["epochs"][-1]["test_error"]), f"λ = {t17['best_lr']:g}"]
    for s in r["task18"]["study"]:
        numbers += [pct(s["tp"][-1]["test_error"]) if "test_error" in s["tp"][-1] else "diverged",
                    pct(s["tuned"][-1]["test_error"]), median_seconds(s["tuned"]),
                    f"{s['best_lr']:g}"]
    h = r["headline"]
    numbers += [pct(h["mean"]), pct(h["min"]), pct(h["max"])] + [pct(e) for e in h["test_errors"]]
    numbers += [pct(r["init_fan_in"]["epochs"][-1]["test_error"]),
                pct(r["float64"]["epochs"][-1]["test_error"]),
                pct(h["runs"][str(r["seeds"][0])][-1]["train_error"])]
    b = BENCHMARK
    numbers += [f"{b['per_example']['median']:.2f} s"]
    numbers += [f"{v:.0f} GFLOP/s" for v in b["matmul_gflops"].values()]
    for row in b["batched"]:
        numbers += [f"{row['median']:.3f} s", f"{100 * row['fraction_of_matmul']:.0f} %"]
    return numbers


@pytest.mark.parametrize("number", expected_numbers())
def test_report_quotes_the_saved_number(number):
    assert number in REPORT


def test_tables_are_the_ones_generated_from_the_results():
    """`python tests/report_experiments.py --tables` would not change report.md."""
    import report_experiments
    tables = report_experiments.report_tables(RESULTS, BENCHMARK)
    assert report_experiments.update_report(REPORT, tables) == REPORT
    for name in tables:
        assert f"<!-- table {name} -->" in REPORT
