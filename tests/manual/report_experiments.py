"""Regenerate the numbers and figures of report.md (not a test: run it by hand).

    python tests/manual/report_experiments.py               # about 23 minutes, 2 cores
    python tests/manual/report_experiments.py --quick       # a small subset, 1 minute
    python tests/manual/report_experiments.py --tables      # figures, tables from results

Writes results.json and the report's figures to figures/ (runs/report-quick/ with
--quick), then rewrites the tables of report.md, each found by its header row, from
figures/results.json and figures/benchmark.json (written by tests/manual/benchmark.py).
Learning rates are chosen on 10,000 training examples held out (the last 10,000, as
--validation holds out), never on the test set. Times are the
benchmark's, not measured here: this script may run beside other work.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")      # as the batched script runs

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
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


def run(data, epochs, lr, batch_size, seed=0, validation=None, every_epoch=None,
        give_up=False):
    """Train as `python mnist_ffnn_batched.py --seed SEED` does (the same draws), one
    epoch at a time; returns (history, weights). every_epoch(record, weights) may add
    figures to each epoch's record. A run whose weights stop being finite ends there,
    its last record saying so; with `give_up`, so does a run still above 85 % error
    (validation, else test) after two epochs: it does not learn."""
    x_train, y_train, x_test, y_test = data
    rng = np.random.default_rng(seed)
    weights = ffnn.init_weights(rng)
    history = []
    for epoch in range(1, epochs + 1):
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                quietly(batched.train, x_train, y_train, x_test, y_test, weights, epochs=1,
                        lr=lr, batch_size=batch_size or len(x_train), rng=rng,
                        validation=validation, history=history)
        except ffnn.DataError:                                   # diverged
            history.append({"epoch": epoch, "diverged": True})
            break
        if every_epoch is not None:
            every_epoch(history[-1], weights)
        error = history[-1].get("validation_error", history[-1]["test_error"])
        if give_up and epoch >= 2 and error > 0.85:
            history[-1]["gave_up"] = True
            break
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
    x = -np.arange(0, 120, 0.01, dtype=np.float32)           # 0, -0.01, ..., -119.99
    with np.errstate(over="ignore", invalid="ignore"):
        tp_s = 1 / (1 + np.exp(-x))                            # the TP's formulas
        tp_s_prime = np.exp(-x) / (np.exp(-x) + 1) ** 2
    results["task7"] = {"exp_overflow": float(np.log(np.finfo(np.float32).max)),
                        "tanh_form_zero_from": float(x[ffnn.sigmoid(x) == 0].max()),
                        "tp_s_at_minus_20": float(tp_s[x == -20][0]),
                        "tp_s_zero_from": float(x[tp_s == 0].max()),
                        "tp_s_prime_nan_from": float(x[np.isnan(tp_s_prime)].max()),
                        "largest_difference": float(np.abs(ffnn.sigmoid(x) - tp_s).max())}
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
            "share_answering_first": float(np.mean(np.argmax(z3, axis=1) == first)),
            "most_common_share": float(answered.max() / len(z3)),
            "most_common_share_without_offset":      # the ablation: z3 less its common part
                float(np.bincount(np.argmax(z3 - offset, axis=1)).max() / len(z3))}
    say("Task 13:", {s: r["test_error"] for s, r in results["task13"].items()})


# ---- Task 15: the per-example script, with the TP's settings ----------------------------
def section_task15(data, epochs, results):
    weights = ffnn.init_weights(np.random.default_rng(0))
    history = ffnn.train(*data, weights, epochs=epochs, lr=0.001)       # prints its lines
    results["task15"] = {"lr": 0.001, "epochs": history,
                         "updates": epochs * len(data[0])}


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
        deltas = ffnn.backpropagation(activations, zs, y_train, weights)
        ffnn.update_weights(weights, [0 * d if i in frozen else d
                                      for i, d in enumerate(deltas)], lr)
        history.append({"epoch": epoch, "loss": loss,
                        "test_error": ffnn.compute_error(data[2], data[3], weights)})
    return history


def section_task17(data, split, epochs, grid, results):
    history, _ = run(data, epochs, 0.001, None, every_epoch=lambda r, w: diagnose(r, w, data))
    weights = ffnn.init_weights(np.random.default_rng(0))
    activations, zs = ffnn.forward_pass(data[0], weights)
    deltas = ffnn.backpropagation(activations, zs, data[1], weights)
    step = [float(np.linalg.norm(0.001 * d) / np.linalg.norm(w))
            for d, w in zip(deltas, weights)]
    saturated_before = [float(np.mean(np.abs(z) > 5)) for z in zs[:2]]
    ffnn.update_weights(weights, deltas, 0.001)
    zs_after = ffnn.forward_pass(data[0], weights)[1]
    first_update = {"relative_step": step, "saturated_before": saturated_before,
                    "saturated_after": [float(np.mean(np.abs(z) > 5)) for z in zs_after[:2]],
                    "s_prime_5": float(ffnn.sigmoid_prime(5.0))}
    tuning_runs = {str(lr): run(split[0], epochs, lr, None, validation=split[1])[0]
                   for lr in grid}
    tuning = {lr: last(h, "validation_error") for lr, h in tuning_runs.items()}
    chosen = best(tuning)
    results["task17"] = {"tp": history, "first_update": first_update,
                         "updates": epochs, "tuning_runs": tuning_runs,
                         "swing": {lr: swing(h, "validation_error", epochs // 3)
                                   for lr, h in tuning_runs.items()},
                         "only_w3": frozen_run(data, epochs, 0.001, (0, 1)),
                         "w3_frozen": frozen_run(data, epochs, 0.001, (2,)),
                         "validation_by_lr": tuning, "best_lr": chosen,
                         "best": run(data, epochs, chosen, None)[0]}
    say(f"Task 17: λ = 0.001: {last(history):.4f}; validation by λ {tuning}")


def swing(history, key, count):
    """The mean change of `key` from one epoch to the next over the last `count` epochs of
    `history`: how much a run goes up and down (None if it diverged)."""
    values = [r[key] for r in history if key in r][-count - 1:]
    return float(np.mean(np.abs(np.diff(values)))) if len(values) > count else None


# ---- Task 18: batch sizes ---------------------------------------------------------------
def epochs_to(history, error):
    """The epochs it takes the run `history` to reach a test error of `error` or less,
    or None (times per epoch are the benchmark's, measured on a quiet machine)."""
    reached = [r["epoch"] for r in history if r.get("test_error", 1) <= error]
    return reached[0] if reached else None


def section_task18(data, split, epochs, grids, seeds, results):
    """Each B for `epochs` epochs at λ = 0.001 and at its best λ on the held-out split
    (its `grid`; for the whole set, the λ of Task 17's runs), seeds `seeds`."""
    study = []
    for batch_size, grid in grids.items():
        tp = [run(data, epochs, 0.001, batch_size, seed)[0] for seed in seeds]
        if batch_size is None:           # the whole set: Task 17's 30-epoch runs choose
            tuning = results["task17"]["validation_by_lr"]
        else:                            # a run still above 85 % after 2 epochs stops
            tuning = {str(lr): last(run(split[0], epochs, lr, batch_size,
                                        validation=split[1], give_up=True)[0],
                                    "validation_error") for lr in grid}
        chosen = best(tuning)
        tuned = [run(data, epochs, chosen, batch_size, seed)[0] for seed in seeds]
        study.append({"batch_size": batch_size, "validation_by_lr": tuning,
                      "best_lr": chosen, "tp": tp, "tuned": tuned,
                      "epochs_to": {str(error): [epochs_to(h, error) for h in tuned]
                                    for error in (0.05, 0.03)},
                      "tp_final": spread([last(h) for h in tp]),
                      "tuned_final": spread([last(h) for h in tuned])})
        say(f"Task 18, B = {batch_size or 'all'}: λ = 0.001 {study[-1]['tp_final']['values']};"
            f" validation by λ {tuning}; λ = {chosen}: {study[-1]['tuned_final']['values']}")
    results["task18"] = {"epochs": epochs, "seeds": seeds, "study": study}


# ---- The default run, and what the trained network gets wrong --------------------------
def section_default(data, split, epochs, seeds, candidates, results):
    """30-epoch runs of each candidate (B, λ) for the default: on the held-out split
    (seed 0), then on the test set for each seed, each epoch's training error, test loss,
    and the loss and confidence on the test images it misreads."""
    labels = np.argmax(data[3], axis=1)

    def more(record, weights):
        record["train_error"] = ffnn.compute_error(data[0], data[1], weights)
        activations, zs = ffnn.forward_pass(data[2], weights)
        a3 = activations[-1]
        wrong = np.argmax(a3, axis=1) != labels
        losses = -np.log(np.maximum(a3[np.arange(len(labels)), labels], 1e-30))
        record.update({"test_loss": batched.cross_entropy(zs[-1], data[3]) / len(labels),
                       "misread_loss": float(losses[wrong].mean()),
                       "misread_confidence": float(a3[wrong].max(axis=1).mean()),
                       "misread_share_of_loss": float(losses[wrong].sum() / losses.sum()),
                       "right_loss": float(losses[~wrong].mean())})

    compared, weights_of, right = [], {}, {}
    for batch_size, lr in candidates:
        validation = run(split[0], epochs, lr, batch_size, validation=split[1])[0]
        runs = {}
        for seed in seeds:
            history, weights = run(data, epochs, lr, batch_size, seed, every_epoch=more)
            runs[str(seed)] = history
            weights_of.setdefault((batch_size, lr), weights)
            right[batch_size, lr, seed] = np.argmax(
                ffnn.forward_pass(data[2], weights)[0][-1], axis=1) == labels
        finals = [last(h) for h in runs.values()]
        predicted = np.argmax(ffnn.forward_pass(data[2], weights_of[(batch_size, lr)])[0][-1],
                              axis=1)
        counts = np.bincount(10 * labels + predicted, minlength=100).reshape(10, 10)
        off = counts - np.diag(np.diag(counts))
        top = np.argsort(off.ravel(), kind="stable")[::-1][:3]
        p = float(np.mean(finals))
        compared.append({
            "batch_size": batch_size, "lr": lr, "validation": validation,
            "runs": runs, "final": spread(finals),
            "binomial_sd": float(np.sqrt(p * (1 - p) / len(labels))),
            "epoch_to_epoch": float(np.mean([np.std([r["test_error"] for r in h[-10:]])
                                             for h in runs.values()])),
            "lowest_test_loss_epoch": int(np.argmin(
                [r["test_loss"] for r in runs[str(seeds[0])]]) + 1),
            "confusions": [{"true": int(k // 10), "predicted": int(k % 10),
                            "count": int(off.ravel()[k])} for k in top],
            "errors_by_digit": off.sum(axis=1).tolist()})
        say(f"default candidate B = {batch_size}, λ = {lr}: {finals}")
    results["default_candidates"] = compared
    if len(candidates) == 2:                         # the same test images, paired
        (b1, lr1), (b2, lr2) = candidates
        results["default_paired"] = [paired(right[b1, lr1, seed], right[b2, lr2, seed])
                                     for seed in seeds]
    results["most_frequent_digit_error"] = float(
        1 - np.bincount(labels).max() / len(labels))
    return weights_of[(DEFAULTS.batch_size, DEFAULTS.lr)]


def paired(first, second):
    """McNemar's exact test on two models' right answers (N,) on the same images: the
    images only the first reads right, only the second, and the two-sided p-value."""
    only_first, only_second = int(np.sum(first & ~second)), int(np.sum(~first & second))
    k, n = min(only_first, only_second), only_first + only_second
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n) if n else 1.0
    return {"only_first": only_first, "only_second": only_second, "p_value": p}


def default_of(results):
    """The candidate of results.json that the batched script now has as its default."""
    return next(c for c in results["default_candidates"]
                if (c["batch_size"], c["lr"]) == (DEFAULTS.batch_size, DEFAULTS.lr))


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
    h = default_of(results)["runs"][str(results["seeds"][0])]
    curve(error_axes, h, "train_error", marker="o", label="training set")
    curve(error_axes, h, "test_error", marker="s", label="test set")
    curve(loss_axes, h, "loss", 1, marker="o", label="training set (during the epoch)")
    curve(loss_axes, h, "test_loss", 1, marker="s", label="test set")
    curve(loss_axes, h, "right_loss", 1, marker="^", label="test images read right")
    curve(loss_axes, h, "misread_loss", 1, marker="v", label="test images misread")
    error_axes.set(title="Error rate", xlabel="epoch", ylabel="error (%)")
    loss_axes.set(title="Mean cross-entropy", xlabel="epoch", ylabel="loss (log scale)",
                  yscale="log")
    for axes in (error_axes, loss_axes):
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
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
    figure = Figure(figsize=draw.DrawingBoard.FIGSIZE, layout="constrained")
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
    tables = {}
    shown = (1, 5, 10, 20, 30)
    tables["task15"] = ["| epoch | " + " | ".join(map(str, shown)) + " |",
                        "|---|" + "---|" * len(shown), "| test error | " + " | ".join(
                            pct(e["test_error"]) for e in r["task15"]["epochs"]
                            if e["epoch"] in shown) + " |"]
    n = r["q1"]["x_train"]["shape"][0] - r["validation_size"]         # the split's N
    rows = []
    for s in r["task18"]["study"]:
        b = s["batch_size"] or n + r["validation_size"]             # the whole set: all
        epochs = s["epochs_to"]["0.03"][0]
        stop = min((float(lr) for lr, error in s["validation_by_lr"].items()   # above
                    if float(lr) > s["best_lr"] and (error is None or error > 0.5)),
                   default=None)                                              # the best
        rows.append(f"| {s['batch_size'] or 'all'} | {over_seeds(s['tp_final'])} | "
                    f"{s['best_lr']:g} | {over_seeds(s['tuned_final'])} | "
                    + (f"{stop:g} ({stop * (s['batch_size'] or n):g}) | " if stop
                       else "none | ")
                    + (f"{epochs * seconds(bench, b):.1f} |" if epochs else "never |"))
    tables["task18"] = ["| B | λ = 0.001 | best λ | error there | stops at λ (λ·B) | "
                        "seconds to 3 % |", "|---|---|---|---|---|---|"] + rows
    tables["default"] = ["| B, λ | validation | test, seeds 0-2 | SD, last 10 epochs | "
                         "s per epoch |", "|---|---|---|---|---|"] + [
        f"| {c['batch_size']}, {c['lr']:g} | {pct(last(c['validation'], 'validation_error'))}"
        f" | {over_seeds(c['final'])} | {100 * c['epoch_to_epoch']:.2f} points | "
        f"{seconds(bench, c['batch_size']):.2f} |" for c in r["default_candidates"]]
    h = default_of(r)["runs"][str(r["seeds"][0])]
    tables["overfitting"] = ["| epoch | test error | test loss | confidence on misread |",
                             "|---|---|---|---|"] + [
        f"| {e['epoch']} | {pct(e['test_error'])} | {e['test_loss']:.3f} | "
        f"{e['misread_confidence']:.0%} |" for e in h if e["epoch"] in (1, 7, 30)]
    parts = [key for key in bench["profile"][0] if key not in ("batch_size", "network",
                                                                "step")]
    names = {0: 1, 60000: "all"}                   # B = 1 in mnist_ffnn.py; the whole set
    tables["speed"] = ["| B | select | products | S, S′, σ, ⊙ | δw | update | step, µs | "
                       "epoch, s |", "|---|---|---|---|---|---|---|---|"] + [
        ("| 4-4-4-4 | " if row["network"] == "4-4-4-4" else
         f"| {names.get(row['batch_size'], row['batch_size'])} | ")
        + " | ".join(f"{row[key]:,.0f}" for key in parts) + f" | {row['step']:,.0f} | "
        + (f"{seconds(bench, row['batch_size']):.2f} |" if row["network"] != "4-4-4-4"
           else "|") for row in bench["profile"]
        if row["batch_size"] != 1]                  # the batched script's B = 1: the same
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
                        help="only redraw the figures and rewrite report.md's tables "
                             "from figures/*.json")
    args = parser.parse_args()
    if args.tables:
        result_figures(ROOT / "figures",
                       json.loads((ROOT / "figures" / "results.json").read_text()))
        return refresh_report_tables()
    out = ROOT / ("runs/report-quick" if args.quick else "figures")
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if args.quick:
        size, held, epochs, long, seeds = 3000, 500, 2, 3, [0, 1]
        grids = {1: [0.01, 3], 10: [0.01, 0.03], 100: [0.03], 1000: [0.003], None: [1e-4]}
        whole_grid = [1e-4, 3e-5]
    else:
        size, held, epochs, long, seeds = None, 10000, 10, 30, [0, 1, 2]
        grid = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3]       # the same for every B
        grids = {1: grid, 10: grid, 100: grid, 1000: grid,
                 None: [1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3]}
        whole_grid = grids[None]
    raw = ffnn.load_mnist()
    raw = (raw[0][:size], raw[1][:size], raw[2], raw[3])
    data = (ffnn.preprocess_inputs(raw[0]), ffnn.preprocess_outputs(raw[1]),
            ffnn.preprocess_inputs(raw[2]), ffnn.preprocess_outputs(raw[3]))
    split = ((data[0][:-held], data[1][:-held], data[2], data[3]),   # as --validation:
             (data[0][-held:], data[1][-held:]))                     # the last examples
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
    candidates = [(DEFAULTS.batch_size, DEFAULTS.lr)] + [
        (s["batch_size"], s["best_lr"]) for s in results["task18"]["study"]
        if s["batch_size"] == 100 and (100, s["best_lr"]) != (DEFAULTS.batch_size,
                                                                DEFAULTS.lr)]
    weights = section_default(data, split, long, seeds, candidates, results)
    result_figures(out, results)
    draw_screenshot(weights, out / "draw.png")
    results["minutes"] = (time.perf_counter() - start) / 60
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    say(f"Done in {results['minutes']:.1f} minutes: {out.relative_to(ROOT)}")
    if not args.quick and (out / "benchmark.json").is_file():
        refresh_report_tables()


if __name__ == "__main__":
    sys.stdout.reconfigure(errors="replace")      # a console without λ (Windows' cp1252)
    main()
