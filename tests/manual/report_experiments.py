"""Regenerate the numbers and figures of report.md (not a test: run it by hand).

    python tests/manual/report_experiments.py               # about 53 minutes, 2 cores
    python tests/manual/report_experiments.py --quick       # a small subset, 1 minute
    python tests/manual/report_experiments.py --tables      # only report.md's tables

Writes results.json and the report's figures to figures/ (runs/report-quick/ with
--quick), then rewrites the tables of report.md, each found by its header row, from
figures/results.json and figures/benchmark.json (written by tests/manual/benchmark.py). Learning rates are chosen on 10,000 training examples held
out (seeded), never on the test set. Times are the benchmark's, not measured here.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")      # as the batched script runs

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "examples"), str(ROOT / "tests")]

import mnist_ffnn as ffnn  # noqa: E402
import mnist_ffnn_batched as batched  # noqa: E402
import plots  # noqa: E402

DEFAULTS = argparse.Namespace(lr=batched.LR, batch_size=batched.BATCH_SIZE)


def say(*words):
    print(*words, flush=True)


def quietly(function, *args, **kwargs):
    """function(*args, **kwargs), its epoch lines not printed."""
    with contextlib.redirect_stdout(io.StringIO()):
        return function(*args, **kwargs)


def spread(values):
    """Mean, min and max of a list of numbers (one per seed)."""
    return {"values": values, "mean": float(np.mean(values)), "min": float(min(values)),
            "max": float(max(values))}


def run(data, epochs, lr, batch_size, seed=0, validation=None, every_epoch=None):
    """Train as `python mnist_ffnn_batched.py --seed SEED` does (the same draws), one
    epoch at a time; returns (history, weights). every_epoch(record, weights) may add
    figures to each epoch's record. A run whose weights stop being finite ends there,
    its last record saying so."""
    x_train, y_train, x_test, y_test = data
    rng = np.random.default_rng(seed)
    weights = ffnn.init_weights(rng)
    history = []
    for epoch in range(1, epochs + 1):
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                quietly(batched.train, x_train, y_train, x_test, y_test, weights, 1, lr,
                        batch_size or len(x_train), rng, validation, history)
        except ffnn.DataError:                     # diverged
            history.append({"epoch": epoch, "diverged": True})
            break
        history[-1]["epoch"] = epoch
        if every_epoch is not None:
            every_epoch(history[-1], weights)
    return history, weights


def best(tuning):
    """The λ of lowest validation error (a float) in {str(λ): error or None}."""
    return float(min((lr for lr in tuning if tuning[lr] is not None), key=tuning.get))


def last(history, key="test_error"):
    """The last epoch's figure, or None if the run diverged."""
    return history[-1].get(key)


# ---- Question 1, Tasks 2, 7, 9 and 13 ---------------------------------------------------
def section_data(raw, data, out, results):
    x_train, y_train, x_test, y_test = raw
    results["q1"] = {name: {"shape": list(a.shape), "dtype": str(a.dtype),
                            "min": int(a.min()), "max": int(a.max())}
                     for name, a in zip(("x_train", "y_train", "x_test", "y_test"), raw)}
    results["task2"] = {"slice": x_train[0, 12:17, 10:17].tolist(),
                        "labels": y_train[:9].tolist(),
                        "zero_pixels": float(np.mean(x_train == 0))}
    from matplotlib.figure import Figure
    figure = Figure(figsize=(5, 5.4), layout="constrained")
    for k, axes in enumerate(figure.subplots(3, 3).ravel()):
        axes.imshow(x_train[k], cmap="gray")
        axes.set_title(f"x_train[{k}]: label {y_train[k]}", fontsize=9)
        axes.axis("off")
    plots.save_figure(figure, out / "mnist_digits.png")
    results["task7"] = {"exp_overflow": float(np.log(np.finfo(np.float32).max))}
    weights = ffnn.init_weights(np.random.default_rng(0))
    activations, zs = ffnn.forward_pass(data[0][0], weights)
    results["task9"] = {"output": activations[-1].tolist(),
                        "argmax": int(np.argmax(activations[-1]))}
    labels = np.argmax(data[3], axis=1)
    results["test_digit_counts"] = np.bincount(labels, minlength=10).tolist()
    results["task13"] = {}
    for seed in range(5):
        weights = ffnn.init_weights(np.random.default_rng(seed))
        (_, a1, a2, a3), (z1, z2, z3) = ffnn.forward_pass(data[2], weights)
        answered = np.bincount(np.argmax(a3, axis=1), minlength=10)
        offset = a2.mean(axis=0) @ weights[2]             # z3 of the mean a2: (10,)
        first, second = np.argsort(offset)[::-1][:2]
        results["task13"][str(seed)] = {
            "test_error": ffnn.compute_error(data[2], data[3], weights),
            "answered": answered.tolist(), "a1_mean": float(a1.mean()),
            "a2_mean": float(a2.mean()), "offset": offset.tolist(),
            "first": int(first), "second": int(second),
            "margin": float(offset[first] - offset[second]),
            "difference_spread": float(np.std(z3[:, first] - z3[:, second])),
            "share_answering_first": float(np.mean(np.argmax(z3, axis=1) == first))}
    say("Task 13:", {s: r["test_error"] for s, r in results["task13"].items()})


# ---- Task 15: the per-example script, with the TP's settings ----------------------------
def section_task15(data, epochs, results):
    weights = ffnn.init_weights(np.random.default_rng(0))
    history = ffnn.train(*data, weights, epochs=epochs, lr=0.001)       # prints its lines
    results["task15"] = {"lr": 0.001, "epochs": history}


# ---- Task 17: the whole training set as one batch --------------------------------------
def diagnose(record, weights, data):
    """What a whole-set run does after an epoch: the digit it answers on the test set,
    and how large its z3 are."""
    activations, (z1, z2, z3) = ffnn.forward_pass(data[2], weights)
    counts = np.bincount(np.argmax(z3, axis=1), minlength=10)
    record.update({"majority_digit": int(np.argmax(counts)),
                   "majority_share": float(counts.max() / len(z3)),
                   "max_abs_z3": float(np.abs(z3).max())})


def frozen_run(data, epochs, lr, frozen):
    """The whole set as one batch, the matrices numbered in `frozen` never updated."""
    x_train, y_train = data[0], data[1]
    weights = ffnn.init_weights(np.random.default_rng(0))
    history = []
    for epoch in range(1, epochs + 1):
        activations, zs = ffnn.forward_pass(x_train, weights)
        loss = batched.cross_entropy(zs[-1], y_train) / len(x_train)
        deltas = batched.backpropagation(activations, zs, y_train, weights)
        ffnn.update_weights(weights, [0 * d if i in frozen else d
                                      for i, d in enumerate(deltas)], lr)
        history.append({"epoch": epoch, "loss": loss,
                        "test_error": ffnn.compute_error(data[2], data[3], weights)})
    return history


def section_task17(data, split, epochs, grid, results):
    history, _ = run(data, epochs, 0.001, None, every_epoch=lambda r, w: diagnose(r, w, data))
    weights = ffnn.init_weights(np.random.default_rng(0))
    activations, zs = ffnn.forward_pass(data[0], weights)
    deltas = batched.backpropagation(activations, zs, data[1], weights)
    step = [float(np.linalg.norm(0.001 * d) / np.linalg.norm(w))
            for d, w in zip(deltas, weights)]
    saturated_before = [float(np.mean(np.abs(z) > 5)) for z in zs[:2]]
    ffnn.update_weights(weights, deltas, 0.001)
    zs_after = ffnn.forward_pass(data[0], weights)[1]
    first_update = {"relative_step": step, "saturated_before": saturated_before,
                    "saturated_after": [float(np.mean(np.abs(z) > 5)) for z in zs_after[:2]],
                    "s_prime_5": float(ffnn.sigmoid_prime(5.0))}
    tuning = {str(lr): last(run(split[0], epochs, lr, None, validation=split[1])[0],
                            "validation_error") for lr in grid}
    chosen = best(tuning)
    results["task17"] = {"tp": history, "first_update": first_update,
                         "only_w3": frozen_run(data, epochs, 0.001, (0, 1)),
                         "w3_frozen": frozen_run(data, epochs, 0.001, (2,)),
                         "validation_by_lr": tuning, "best_lr": chosen,
                         "best": run(data, epochs, chosen, None)[0]}
    say(f"Task 17: λ = 0.001: {last(history):.4f}; validation by λ {tuning}")


# ---- Task 18: batch sizes ---------------------------------------------------------------
def section_task18(data, split, epochs, grids, seeds, results):
    study = []
    for batch_size, grid in grids.items():
        tp = [run(data, epochs, 0.001, batch_size, seed)[0] for seed in seeds]
        tuning = {str(lr): last(run(split[0], epochs, lr, batch_size,
                                    validation=split[1])[0], "validation_error")
                  for lr in grid}
        chosen = best(tuning)
        tuned = [run(data, epochs, chosen, batch_size, seed)[0] for seed in seeds]
        study.append({"batch_size": batch_size, "validation_by_lr": tuning,
                      "best_lr": chosen, "tp": tp, "tuned": tuned,
                      "tp_final": spread([last(h) for h in tp]),
                      "tuned_final": spread([last(h) for h in tuned])})
        say(f"Task 18, B = {batch_size or 'all'}: λ = 0.001 {study[-1]['tp_final']['values']};"
            f" validation by λ {tuning}; λ = {chosen}: {study[-1]['tuned_final']['values']}")
    results["task18"] = {"epochs": epochs, "seeds": seeds, "study": study}


# ---- The default run, and what the trained network gets wrong --------------------------
def section_default(data, epochs, seeds, results):
    def more(record, weights):
        record["train_error"] = ffnn.compute_error(data[0], data[1], weights)
        activations, zs = ffnn.forward_pass(data[2], weights)
        record["test_loss"] = batched.cross_entropy(zs[-1], data[3]) / len(data[2])

    runs, first = {}, None
    for seed in seeds:
        history, weights = run(data, epochs, DEFAULTS.lr, DEFAULTS.batch_size, seed,
                               every_epoch=more)
        runs[str(seed)], first = history, first or weights
        say(f"default run, seed {seed}: {last(history):.4f}")
    labels = np.argmax(data[3], axis=1)
    predicted = np.argmax(ffnn.forward_pass(data[2], first)[0][-1], axis=1)
    counts = np.bincount(10 * labels + predicted, minlength=100).reshape(10, 10)
    off = counts - np.diag(np.diag(counts))
    top = np.argsort(off.ravel(), kind="stable")[::-1][:3]
    results["default"] = {"batch_size": DEFAULTS.batch_size, "lr": DEFAULTS.lr,
                          "runs": runs, "final": spread([last(h) for h in runs.values()]),
                          "lowest_test_loss_epoch": int(np.argmin(
                              [r["test_loss"] for r in runs[str(seeds[0])]]) + 1),
                          "confusions": [{"true": int(k // 10), "predicted": int(k % 10),
                                          "count": int(off.ravel()[k])} for k in top],
                          "errors_by_digit": off.sum(axis=1).tolist()}
    results["most_frequent_digit_error"] = float(1 - counts.sum(axis=1).max() / len(labels))
    return first


# ---- The figures drawn from results.json -----------------------------------------------
def result_figures(out, results):
    """The report's figures of Tasks 15, 17 and 18 and of the default run."""
    from matplotlib.figure import Figure

    def curve(axes, history, key="test_error", scale=100, **style):
        kept = [r for r in history if not r.get("diverged")]
        axes.plot([r["epoch"] for r in kept], [scale * r[key] for r in kept], **style)
        axes.xaxis.get_major_locator().set_params(integer=True)

    figure = Figure(figsize=(6, 3.6), layout="constrained")
    axes = figure.subplots()
    curve(axes, results["task15"]["epochs"], marker="o")
    axes.set(title="Task 15: one example at a time, λ = 0.001", xlabel="epoch",
             ylabel="test error (%)")
    axes.grid(alpha=0.3)
    plots.save_figure(figure, out / "task15_per_example.png")

    figure = Figure(figsize=(11, 3.8), layout="constrained")
    error_axes, loss_axes = figure.subplots(1, 2)
    t17 = results["task17"]
    for history, name, style in ((t17["tp"], "all three matrices updated", "o-"),
                                 (t17["only_w3"], "only w3 updated", "s--"),
                                 (t17["w3_frozen"], "only w1 and w2 updated", "^:")):
        error_axes.plot([r["epoch"] for r in history],
                        [100 * r["test_error"] for r in history], style, label=name)
        loss_axes.plot([r["epoch"] for r in history], [r["loss"] for r in history], style,
                       label=name)
        loss_axes.xaxis.get_major_locator().set_params(integer=True)
    for r in t17["tp"]:                              # the digit that the run answers
        error_axes.text(r["epoch"], 97, str(r["majority_digit"]), ha="center", fontsize=8)
    error_axes.set(title="Test error (top: the digit answered for most images)",
                   xlabel="epoch = update", ylabel="test error (%)", ylim=(70, 100))
    loss_axes.set(title="Mean training loss before each update", xlabel="epoch = update",
                  ylabel="cross-entropy (log scale)", yscale="log")
    for axes in (error_axes, loss_axes):
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    figure.suptitle("Task 17: the whole training set as one batch, λ = 0.001")
    plots.save_figure(figure, out / "task17_whole_set.png")

    figure = Figure(figsize=(7, 4), layout="constrained")
    axes = figure.subplots()
    for k, s in enumerate(results["task18"]["study"]):
        name = f"B = {s['batch_size'] or 'all'}"
        curve(axes, s["tuned"][0], color=f"C{k}", label=f"{name}, λ = {s['best_lr']:g}")
        curve(axes, s["tp"][0], color=f"C{k}", linestyle=":")
    axes.plot([], [], ":", color="gray", label="dotted: λ = 0.001")
    axes.set(title=f"Task 18: test error by epoch (seed {results['seeds'][0]})",
             xlabel="epoch", ylabel="test error (%)", yscale="log")
    axes.set_yticks([1, 2, 5, 10, 20, 50, 90], labels=["1", "2", "5", "10", "20", "50", "90"])
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    plots.save_figure(figure, out / "batch_size_study.png")

    figure = Figure(figsize=(11, 3.8), layout="constrained")
    error_axes, loss_axes = figure.subplots(1, 2)
    h = results["default"]["runs"][str(results["seeds"][0])]
    curve(error_axes, h, "train_error", marker="o", label="training set")
    curve(error_axes, h, "test_error", marker="s", label="test set")
    curve(loss_axes, h, "loss", 1, marker="o", label="training set (during the epoch)")
    curve(loss_axes, h, "test_loss", 1, marker="s", label="test set (after the epoch)")
    error_axes.set(title="Error rate", xlabel="epoch", ylabel="error (%)")
    loss_axes.set(title="Mean cross-entropy", xlabel="epoch", ylabel="loss (log scale)",
                  yscale="log")
    for axes in (error_axes, loss_axes):
        axes.grid(alpha=0.3)
        axes.legend()
    figure.suptitle(f"The default run (B = {DEFAULTS.batch_size}, λ = {DEFAULTS.lr}, seed "
                    f"{results['seeds'][0]})")
    plots.save_figure(figure, out / "overfitting.png")


def draw_screenshot(weights, path):
    """The drawing board of examples/draw.py with a 7 drawn by synthetic mouse events
    (as tests/test_draw.py draws), saved as a PNG file."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    import draw
    from test_draw import draw_strokes, stroke
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    board = draw.DrawingBoard(weights, figure)
    draw_strokes(board, [stroke((35, 25), (105, 25)), stroke((105, 25), (60, 120))])
    plots.save_figure(figure, path)


# ---- The report's tables, regenerated in place ------------------------------------------
def pct(x):
    """How the report's tables write an error rate."""
    return f"{100 * x:.2f}%"


def over_seeds(s):
    """How the report's tables write a result over seeds: mean (min–max)."""
    return f"{pct(s['mean'])} ({100 * s['min']:.2f}–{100 * s['max']:.2f})"


def seconds(bench, batch_size, threads=1, busy=False):
    """The benchmark's median epoch at `batch_size` (0: mnist_ffnn.py)."""
    return next(row["median"] for row in bench["rows"] if row["batch_size"] == batch_size
                and row["threads"] == threads and row["busy"] == busy)


def report_tables(r, bench):
    """The markdown of each generated table of report.md, from results.json (r) and
    benchmark.json (bench)."""
    tables = {"q1": ["| array | shape | type, values |", "|---|---|---|"] + [
        f"| `{k}` | {tuple(v['shape'])} | {v['dtype']}, {v['min']}–{v['max']} |"
        for k, v in r["q1"].items()]}
    shown = (1, 2, 5, 10, 20, 30)
    tables["task15"] = ["| epoch | " + " | ".join(map(str, shown)) + " |",
                        "|---|" + "---|" * len(shown), "| test error | " + " | ".join(
                            pct(e["test_error"]) for e in r["task15"]["epochs"]
                            if e["epoch"] in shown) + " |"]
    tables["task17"] = ["| update | loss before it | test error after it | digit answered |",
                        "|---|---|---|---|"] + [
        f"| {e['epoch']} | {e['loss']:.3g} | {pct(e['test_error'])} | {e['majority_digit']} |"
        for e in r["task17"]["tp"] if e["epoch"] in (1, 2, 10, 30)]
    rows = [f"| {s['batch_size'] or 'all'} | {over_seeds(s['tp_final'])} | {s['best_lr']:g} "
            f"| {over_seeds(s['tuned_final'])} |" for s in r["task18"]["study"]]
    tables["task18"] = ["| B | test error, λ = 0.001 | chosen λ | test error, chosen λ |",
                        "|---|---|---|---|"] + rows
    rows = [f"| 1, `mnist_ffnn.py` | {seconds(bench, 0):.2f} | |"]
    for b in sorted({row["batch_size"] for row in bench["rows"]} - {0}):
        rows.append(f"| {b} | {seconds(bench, b):.2f} | {seconds(bench, b, 2):.2f} |")
    rows.append(f"| 10, one core busy | {seconds(bench, 10, 1, True):.2f} | "
                f"{seconds(bench, 10, 2, True):.2f} |")
    tables["speed"] = ["| B | one thread, s | two threads, s |", "|---|---|---|"] + rows
    return {name: "\n".join(lines) for name, lines in tables.items()}


def update_report(report, tables):
    """The text of report.md with each generated table, found by its header row,
    replaced by its new rows."""
    lines = report.split("\n")
    for name, table in tables.items():
        new = table.split("\n")
        if new[0] not in lines:
            raise ValueError(f"report.md has no table {name} (its header: {new[0]})")
        start = end = lines.index(new[0])
        while end < len(lines) and lines[end].startswith("|"):
            end += 1
        lines[start:end] = new
    return "\n".join(lines)


def refresh_report_tables(figures=ROOT / "figures", report=ROOT / "report.md"):
    """Rewrite the tables of report.md from figures/results.json and benchmark.json."""
    tables = report_tables(json.loads((figures / "results.json").read_text()),
                           json.loads((figures / "benchmark.json").read_text()))
    report.write_text(update_report(report.read_text(), tables))
    say(f"tables of {report.name} rewritten: {', '.join(tables)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a small subset and few epochs, into runs/report-quick/")
    parser.add_argument("--tables", action="store_true",
                        help="only rewrite report.md's tables from figures/*.json")
    args = parser.parse_args()
    if args.tables:
        return refresh_report_tables()
    out = ROOT / ("runs/report-quick" if args.quick else "figures")
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if args.quick:
        size, held, epochs, long, seeds = 3000, 500, 2, 3, [0, 1]
        grids = {1: [0.01], 10: [0.01, 0.03], 100: [0.03], 1000: [0.003], None: [1e-4]}
        whole_grid = [1e-4, 3e-5]
    else:
        size, held, epochs, long, seeds = None, 10000, 10, 30, [0, 1, 2]
        grid = [0.001, 0.003, 0.01, 0.03, 0.1]                  # the same for every B
        grids = {1: grid, 10: grid, 100: grid, 1000: grid,
                 None: [1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3]}
        whole_grid = grids[None]
    raw = ffnn.load_mnist()
    raw = (raw[0][:size], raw[1][:size], raw[2], raw[3])
    data = (ffnn.preprocess_inputs(raw[0]), ffnn.preprocess_outputs(raw[1]),
            ffnn.preprocess_inputs(raw[2]), ffnn.preprocess_outputs(raw[3]))
    held_out = np.random.default_rng(123).permutation(len(data[0])) < held
    split = ((data[0][~held_out], data[1][~held_out], data[2], data[3]),
             (data[0][held_out], data[1][held_out]))
    results = {"quick": args.quick, "seeds": seeds, "train_size": size,
               "validation_size": held}
    section_data(raw, data, out, results)
    say("Task 15 (one example at a time, the TP's settings) ...")
    section_task15(data, long, results)
    say("Task 17 (the whole set as one batch) ...")
    section_task17(data, split, long, whole_grid, results)
    say("Task 18 (batch sizes) ...")
    section_task18(data, split, epochs, grids, seeds, results)
    say("The default run ...")
    weights = section_default(data, long, seeds, results)
    result_figures(out, results)
    draw_screenshot(weights, out / "draw.png")
    results["minutes"] = (time.perf_counter() - start) / 60
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    say(f"Done in {results['minutes']:.0f} minutes: {out.relative_to(ROOT)}")
    if not args.quick and (out / "benchmark.json").is_file():
        refresh_report_tables()


if __name__ == "__main__":
    main()
