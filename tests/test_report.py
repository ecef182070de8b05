"""report.md cannot drift from the runs: every image it links exists, every results key
it cites is in figures/results.json, its tables are those generated from the saved
results, and the numbers its text quotes are the ones saved by
`python tests/manual/report_experiments.py --update-report` (figures/results.json) and
`python tests/manual/benchmark.py --update-report` (figures/benchmark.json)."""

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


def test_every_linked_image_exists():
    links = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", REPORT)
    assert len(links) >= 9
    for link in links:
        path = ROOT / link
        assert path.is_file(), link
        assert path.read_bytes()[:4] == b"\x89PNG", link


def test_results_are_from_a_full_run():
    assert RESULTS["quick"] is False and RESULTS["train_size"] is None
    assert BENCHMARK["repeats"] >= 3 and BENCHMARK["torch"]      # with the comparison


def test_every_cited_key_is_in_the_results():
    """`key \\`a.b\\``, `keys \\`a\\`, \\`b\\``: each dotted path exists in results.json."""
    cited = set()
    for phrase in re.findall(r"keys? ((?:`[\w.]+`(?:,? (?:and )?)?)+)", REPORT):
        cited.update(re.findall(r"`([\w.]+)`", phrase))
    assert len(cited) >= 15, cited
    for key in cited:
        node = RESULTS
        for part in key.split("."):
            assert isinstance(node, dict) and part in node, key
            node = node[part]


def study(batch_size):
    return next(s for s in RESULTS["task18"]["study"] if s["batch_size"] == batch_size)


def expected_numbers():
    """The numbers the text quotes, formatted as the report writes them."""
    r, b = RESULTS, BENCHMARK
    cause, t17 = r["task13_cause"], r["task17"]
    numbers = [pct(min(r["task13"].values())), pct(max(r["task13"].values())),
               pct(r["task15"]["epochs"][0]["test_error"]),
               pct(r["task15"]["epochs"][-1]["test_error"]),
               f"{100 * r['task15']['last_five_drop_per_epoch']:.3f} point",
               f"{100 * r['task2']['zero_pixels']:.1f} %",
               f"{cause['a1_mean']:.3f}", f"{cause['a2_mean']:.3f}",
               f"{cause['a1_spread']:.3f}", f"{cause['a2_spread']:.3f}",
               f"{cause['z1_spread']:.2f}", f"{cause['z2_spread']:.3f}",
               f"{cause['offset_range']:.2f}", f"{cause['z3_spread_mean']:.2f}",
               f"{min(cause['z3_spread']):.2f} to {max(cause['z3_spread']):.2f}",
               f"largest fixed part ({cause['top_digit']})",
               f"{100 * cause['share_answering_top']:.0f} % of the images"]
    first = t17["first_update"]
    numbers += [pct(final(t17["tp"]["epochs"])), pct(final(t17["best"]["epochs"])),
                *(f"{x:.{d}f}" for x, d in zip(first["relative_step"], (2, 1, 1))),
                f"{100 * first['saturated_z1_before']:.1f} %",
                f"{100 * first['saturated_z1_after']:.1f} %",
                f"{100 * first['saturated_z2_after']:.1f} %",
                f"({first['max_abs_z3_after']:.0f} after the first update)",
                pct(t17["validation_by_lr"]["1e-05"]), pct(t17["validation_by_lr"]["3e-05"]),
                pct(t17["validation_by_lr_epoch_10"]["1e-05"]),
                pct(t17["validation_by_lr_epoch_10"]["3e-05"]),
                ", ".join(str(e["majority_digit"]) for e in t17["tp"]["epochs"][:8])]
    whole = study(None)
    numbers += [pct(whole["tuned_final"]["min"]), pct(whole["tuned_final"]["max"]),
                pct(study(1000)["tuned_final"]["mean"]), pct(whole["tuned_final"]["mean"]),
                f"{100 * study(10)['tuned_largest_swing_last_five']:.2f} point"]
    means = [study(size)["tuned_final"]["mean"] for size in (1, 10, 100)]
    numbers += [pct(min(means)), pct(max(means)), pct(study(1)["tuned_final"]["mean"])]
    widths = [study(size)["tuned_final"]["max"] - study(size)["tuned_final"]["min"]
              for size in (1, 10, 100)]
    numbers += [f"{100 * min(widths):.2f} to {100 * max(widths):.2f} point"]
    h = r["headline"]
    numbers += [pct(h["final"]["mean"])] + [pct(e) for e in h["final"]["values"]]
    numbers += [f"lowest at epoch {h['lowest_test_loss_epoch']}",
                f"({h['lowest_test_error_epoch']})",
                f"{h['runs']['0'][-1]['test_loss']:.3f} at epoch 30"]
    zero = next(e["epoch"] for e in h["runs"]["0"] if e["train_error"] == 0)
    numbers += [f"0.00 % at epoch {zero}"]
    init = r["initialisation"]
    numbers += [f"{100 * init['fan_in_final']['min']:.2f} %\nto "
                f"{100 * init['fan_in_final']['max']:.2f} %", pct(init["fan_in_final"]["mean"]),
                f"{init['pixel_rms']:.3f}", f"{init['z1_std']['tp']:.2f}",
                f"{init['z1_std']['fan_in']:.2f}"]
    numbers += [pct(final(r["float64"]["epochs"])),
                f"{np.median([e['seconds'] for e in r['float64']['epochs']]):.2f} s per",
                f"{np.median([e['seconds'] for e in h['runs']['0']]):.2f} s in float32"]
    base = r["baselines"]
    numbers += [pct(base["most_frequent_digit_error"]),
                pct(final(base["softmax_regression"]["epochs"]))]
    c = r["confusions"]
    numbers += [f"{c[0]['true']} read as {c[0]['predicted']} ({c[0]['count']} times)",
                f"{c[1]['true']} read as {c[1]['predicted']} ({c[1]['count']} times)",
                f"({max(r['errors_by_digit'])}\ntimes)"
                if f"({max(r['errors_by_digit'])}\ntimes)" in REPORT
                else f"({max(r['errors_by_digit'])} times)",
                f"Of its {sum(r['errors_by_digit'])} errors"]
    numbers += [f"{b['per_example']['median']:.3f} s", f"{b['batched'][0]['median']:.3f} s",
                f"takes {b['per_example']['ratio_to_torch_batch_1']:.2f} of PyTorch's time"]
    ratios = {row["batch_size"]: row["ratio"] for row in b["batched"]
              if row["dtype"] == "float32"}
    numbers += [f"batches of 10 take {ratios[10]:.2f}", f"batches of 100, {ratios[100]:.2f}"]
    whole32 = next(row for row in b["batched"]
                   if row["dtype"] == "float32" and row["batch_size"] == 60000)
    numbers += [f"{whole32['median']:.3f} s instead of {b['per_example']['median']:.3f} s"]
    numbers += [f"{study(size)['seconds_per_epoch']:.2f} s" for size in (100, 1000, None)]
    numbers += [f"{np.median([e['seconds'] for e in r['task15']['epochs']]):.2f} s for the "
                "per-example script"]
    for size in (1, 10, 100):                    # time to get below 3 %, over the seeds
        times = [time_below(h, 0.03) for h in study(size)["tuned"]]
        numbers.append(f"{min(times):.1f} to {max(times):.1f} s")
    errors = [e["test_error"] for e in h["runs"]["0"][13:]]
    numbers.append(f"between {pct(min(errors))} and {pct(max(errors))}")
    numbers.append(f"{max(r['task9']['output']):.2f}")
    return numbers


def time_below(history, level):
    """Seconds of training until the test error first goes below `level`."""
    seconds = np.cumsum([e["seconds"] for e in history])
    below = [k for k, e in enumerate(history) if e["test_error"] < level]
    return seconds[below[0]]


def final(history):
    return history[-1]["test_error"]


@pytest.mark.parametrize("number", expected_numbers())
def test_report_quotes_the_saved_number(number):
    assert number in REPORT


def test_tables_are_the_ones_generated_from_the_results():
    """`python tests/manual/report_experiments.py --tables` would not change report.md."""
    import report_experiments
    tables = report_experiments.report_tables(RESULTS, BENCHMARK)
    assert report_experiments.update_report(REPORT, tables) == REPORT
    for name in tables:
        assert f"<!-- table {name} -->" in REPORT
