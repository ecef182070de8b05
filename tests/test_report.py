"""report.md cannot drift from the runs: every number its text quotes is one saved by
`python tests/manual/report_experiments.py --update-report` (figures/results.json) or
`python tests/manual/benchmark.py --update-report` (figures/benchmark.json); its tables
are those generated from them; every results key it cites exists; every figure it shows
exists, is small, and every figure saved is shown. And the report and the README stay
as short as their readers want them."""

import json
import re
import sys

import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tests" / "manual"))

REPORT = (ROOT / "report.md").read_text()
README = (ROOT / "README.md").read_text()
RESULTS = json.loads((ROOT / "figures" / "results.json").read_text())
BENCHMARK = json.loads((ROOT / "figures" / "benchmark.json").read_text())


def pct(x):
    """How the report writes an error rate."""
    return f"{100 * x:.2f} %"


def section(title):
    """The text of the report's section `## title`, up to the next one."""
    return REPORT.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_every_shown_figure_exists_and_is_small():
    links = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", REPORT + README)
    assert len(links) >= 9
    for link in links:
        path = ROOT / link
        assert path.read_bytes()[:4] == b"\x89PNG", link
        assert path.stat().st_size <= 300_000, link


def test_every_saved_figure_is_shown():
    shown = set(re.findall(r"\(figures/([^)\s]+\.png)\)", REPORT + README))
    assert {p.name for p in (ROOT / "figures").glob("*.png")} == shown


def test_results_are_from_a_full_run():
    assert RESULTS["quick"] is False and RESULTS["train_size"] is None
    assert BENCHMARK["repeats"] >= 3 and BENCHMARK["torch"]      # with the comparison


def test_every_cited_key_is_in_the_results():
    """The keys the appendix lists after "The keys of results.json:" all exist."""
    appendix = section("Appendix: where the numbers come from")
    cited = re.findall(r"`(\w+)`", appendix.split("The keys of results.json:")[1])
    assert len(cited) >= 15
    for key in cited:
        assert key in RESULTS, key


def test_the_report_is_short():
    """The TP asks for a short report: at most 3,000 words, tables included, and the
    speed, beyond the TP, in at most 150."""
    assert len(REPORT.split()) <= 3000
    assert len(section("Speed").split()) <= 150


def test_the_readme_is_short():
    assert len(README.encode()) <= 10_000                   # bytes, as `wc -c` counts


def study(batch_size):
    return next(s for s in RESULTS["task18"]["study"] if s["batch_size"] == batch_size)


def final(history):
    return history[-1]["test_error"]


def time_below(history, level):
    """Seconds of training until the test error first goes below `level`."""
    seconds = np.cumsum([e["seconds"] for e in history])
    return seconds[next(k for k, e in enumerate(history) if e["test_error"] < level)]


def expected_numbers():
    """The numbers the text quotes, formatted as the report writes them."""
    r, b = RESULTS, BENCHMARK
    cause, t17, first = r["task13_cause"], r["task17"], r["task17"]["first_update"]
    offsets = sorted(cause["offset"], reverse=True)
    numbers = [f"{100 * r['task2']['zero_pixels']:.1f} % of the training pixels",
               f"{r['task2']['never_inked_pixels']} pixels are 0 in every",
               f"and {r['task2']['pixels_inked_in_under_1_percent']} are inked",
               f"above {r['task7']['exp_overflow']:.2f}",
               f"below −{r['task7']['square_overflow']:.2f}",
               f"0.{round(1000 * r['task9']['output'][r['task9']['argmax']])}, far from "
               f"certain, is on digit {r['task9']['argmax']}",
               f"has {r['test_digit_counts'][cause['top_digit']]} fours",
               f"a₁ averages {cause['a1_mean']:.3f} and a₂ {cause['a2_mean']:.3f}",
               f"from {cause['z1_spread']:.2f} for z₁ to {cause['a1_spread']:.3f}",
               f"from {cause['z2_spread']:.3f} for z₂ to {cause['a2_spread']:.3f}",
               f"offsets span {cause['offset_range']:.2f}",
               f"two largest differ by {offsets[0] - offsets[1]:.2f}, "
               f"{(offsets[0] - offsets[1]) / cause['z3_spread_mean']:.0f} times",
               f"with the image ({cause['z3_spread_mean']:.2f})",
               f"the largest ({cause['top_digit']}) wins for "
               f"{100 * cause['share_answering_top']:.0f} %",
               f"one digit for {100 * min(r['task13_fan_in'].values()):.2f} % of the images "
               "or more",
               f"about {np.median([e['seconds'] for e in r['task15']['epochs']]):.0f} s per "
               "epoch", pct(final(r["task15"]["epochs"])),
               f"by {100 * r['task15']['last_five_drop_per_epoch']:.3f} point",
               f"λ = 0.03 reaches {pct(study(1)['tuned_final']['mean'])} in 10 shuffled"]
    numbers += [pct(final(t17["tp"]["epochs"])),
                "by {:.2f}, {:.1f} and {:.1f} times".format(*first["relative_step"]),
                f"{100 * first['saturated_z1_after']:.1f} % of the z₁ and "
                f"{100 * first['saturated_z2_after']:.1f} % of the z₂",
                f"({100 * first['saturated_z1_before']:.1f} % before)",
                "updates 1–10: " + ", ".join(str(e["majority_digit"])
                                             for e in t17["tp"]["epochs"][:10]),
                f"({pct(t17['validation_by_lr']['1e-05'])} validation error)",
                f"3·10⁻⁵ nearly as well ({pct(t17['validation_by_lr']['3e-05'])}; better "
                f"after 10: {pct(t17['validation_by_lr_epoch_10']['3e-05'])} against "
                f"{pct(t17['validation_by_lr_epoch_10']['1e-05'])})",
                f"10⁻⁴ not at all ({pct(t17['validation_by_lr']['0.0001'])})"]
    losses = [e["train_loss"] for e in t17["best"]["epochs"]]
    assert all(np.diff(losses) < 0), "the report says the loss falls at every update"
    last_ten = [e["test_error"] for e in t17["best"]["epochs"][-10:]]
    numbers += [f"between {pct(min(last_ten))} and {pct(max(last_ten))}"]
    tp_means = [study(size)["tp_final"]["mean"] for size in (1, 10, 100, 1000)]
    numbers += [f"reach {pct(min(tp_means))} to {pct(max(tp_means))} where",
                f"stays at {pct(study(None)['tp_final']['mean'])}"]
    tuned = [study(size)["tuned_final"] for size in (1, 10, 100)]
    numbers += [f"reach {pct(min(t['mean'] for t in tuned))} to "
                f"{pct(max(t['mean'] for t in tuned))}",
                f"({100 * min(t['max'] - t['min'] for t in tuned):.2f} to "
                f"{100 * max(t['max'] - t['min'] for t in tuned):.2f} point)",
                f"0.003 gives {pct(study(1000)['tuned_final']['mean'])}",
                f"the whole set {pct(study(None)['tuned_final']['mean'])}"]
    numbers += [f"takes {study(100)['seconds_per_epoch']:.2f} s at B = 100 and "
                f"{study(1000)['seconds_per_epoch']:.2f} s at B = 1000",
                f"whole set's {study(None)['seconds_per_epoch']:.2f} s",
                f"and {study(1)['seconds_per_epoch']:.2f} s at B = 1"]
    for size, name in ((100, "B = 100 gets below 3 % after"), (10, "B = 10 after"),
                       (1, "B = 1\nafter")):
        times = [time_below(h, 0.03) for h in study(size)["tuned"]]
        numbers.append(f"{name} {min(times):.1f} to {max(times):.1f} s")
    h, init, base = r["headline"], r["initialisation"], r["baselines"]
    run0 = h["runs"]["0"]
    numbers += [", ".join(pct(v) for v in h["final"]["values"]) + " for seeds 0, 1, 2",
                f"mean\n**{pct(h['final']['mean'])}**",
                f"digit errs {pct(base['most_frequent_digit_error'])}",
                pct(final(base["softmax_regression"]["epochs"])),
                f"0.00 % at epoch {next(e['epoch'] for e in run0 if e['train_error'] == 0)}",
                f"lowest at epoch {h['lowest_test_loss_epoch']}",
                f"({run0[-1]['test_loss']:.3f} at epoch 30)",
                f"between {pct(min(e['test_error'] for e in run0[13:]))} and "
                f"{pct(max(e['test_error'] for e in run0[13:]))} from epoch 14",
                f"is {init['z1_std']['fan_in']:.2f} ({init['z1_std']['tp']:.2f} with the TP's",
                f"{pct(init['fan_in_final']['min'])} to {pct(init['fan_in_final']['max'])} "
                f"(mean {pct(init['fan_in_final']['mean'])})"]
    c = r["confusions"]
    numbers += [f"{sum(r['errors_by_digit'])} errors",
                f"{c[0]['true']} read as {c[0]['predicted']} ({c[0]['count']} times",
                f"{c[1]['true']} read as {c[1]['predicted']} ({c[1]['count']})",
                f"misses most ({max(r['errors_by_digit'])} times)",
                f"the least\n({min(r['errors_by_digit'])})"]
    f64 = np.median([e["seconds"] for e in r["float64"]["epochs"]])
    f32 = np.median([e["seconds"] for e in run0])
    assert [e["test_error"] for e in r["float64"]["epochs"]] == [
        e["test_error"] for e in run0], "the report says float64 gives the same errors"
    numbers += [f"{f64 / f32:.1f} times slower"]
    numbers += ["\n".join(" ".join(f"{v:3d}" for v in row).join("[]") for row in
                           r["task2"]["slice"]).join("[]"),
                "a3 = [" + ", ".join(f"{v:.3f}" for v in r["task9"]["output"]) + "]",
                f"({round(r['seconds'] / 60)} minutes)",
                f"S′(5) = {float(__import__('mnist_ffnn').sigmoid_prime(5.0)):.4f}",
                f"({60000 * 784 * 8 / 1e6:.0f} MB)",
                f"step η = {0.001 * 60000:.0f} on",
                f"30 against {30 * 6000:,}",
                "from 0.03 to 3"]
    wrong_ones = {m["index"]: m for m in r["misclassified"]}
    for index, (true, predicted) in {115: (4, 9), 1242: (4, 9), 965: (6, 0)}.items():
        assert (wrong_ones[index]["true"], wrong_ones[index]["predicted"]) == (true,
                                                                             predicted)
    frozen = r["task17"]["separate"]["w3_frozen"]
    assert all(2.5 < e["train_loss"] < 3.5 for e in frozen), "loss near 3"
    assert all(0.85 < e["test_error"] < 0.95 for e in frozen), "error near 90 %"
    b10 = next(row for row in b["batched"] if row["batch_size"] == 10 and
               row["steps"] == "shortcut")["median"]
    numbers += [f"up to {100 * (study(10)['seconds_per_epoch'] / b10 - 1):.0f} % apart"]
    per_example = b["per_example"]["median"]
    whole = next(row for row in b["batched"] if row["batch_size"] == 60000)["median"]
    numbers += [f"Per epoch, yes: {whole:.2f} s instead of {per_example:.2f} s",
                f"takes {per_example / whole:.0f} times longer"]
    return numbers


@pytest.mark.parametrize("number", expected_numbers())
def test_report_quotes_the_saved_number(number):
    assert " ".join(number.split()) in " ".join(REPORT.split())     # line breaks aside


def test_tables_are_the_ones_generated_from_the_results():
    """`python tests/manual/report_experiments.py --tables` would not change report.md."""
    import report_experiments
    tables = report_experiments.report_tables(RESULTS, BENCHMARK)
    assert report_experiments.update_report(REPORT, tables) == REPORT
    for name in tables:
        assert f"<!-- table {name} -->" in REPORT
