"""Regenerate every figure and number of report.md (not a test: run it by hand).

    python tests/manual/report_experiments.py                  # all: ~45 minutes, 2 cores
    python tests/manual/report_experiments.py --quick          # small subset, ~20 s
    python tests/manual/report_experiments.py --update-report  # all, into figures/
    python tests/manual/report_experiments.py --tables         # only report.md's tables
    python tests/manual/report_experiments.py --figures --update-report   # redraw figures
    python tests/manual/report_experiments.py --network-figures --update-report  # ~1 min

Writes results.json (the raw numbers the report quotes) and the figures (PNG) to
runs/report/ (runs/report-quick/ with --quick; ignored by git), or with --update-report
to figures/, the files report.md
links, and then rewrites the data tables of report.md (the blocks between
<!-- table NAME --> and <!-- end -->) from figures/results.json and
figures/benchmark.json. The prose around the tables quotes numbers too:
tests/test_report.py fails, naming them, until they agree with the new results.

Learning rates are tuned on a validation split of 10,000 examples held out from the
training set (seeded), never on the test set, which only reports the error of each
chosen setting. Times are seconds of training, evaluation excluded, with the BLAS
threads that mnist_ffnn_batched.train chooses. Progress goes to stdout.
"""

import argparse
import contextlib
import io
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import mnist_ffnn as ffnn  # noqa: E402
import mnist_ffnn_batched as batched  # noqa: E402

QUIET = dict(log=lambda line: None)


def say(*words):
    print(*words, flush=True)


def final(history, key="test_error"):
    """The last epoch's figure, or None if the run diverged (non-finite values)."""
    return history[-1].get(key)


def spread(values):
    """Mean, min and max of a list of numbers (one per seed)."""
    return {"values": values, "mean": float(np.mean(values)), "min": min(values),
            "max": max(values)}


def fan_in_weights(rng, dtype):
    """The usual fan-in initialisation N(0, 1)/sqrt(m), for comparison with the TP's."""
    return [(rng.standard_normal((m, n)) / np.sqrt(m)).astype(dtype)
            for m, n in ((784, 128), (128, 64), (64, 10))]


def run_batched(data, epochs, lr, batch_size, seed=0, validation=None, init=None,
                dtype=np.float32, every_epoch=None):
    """Train as `python mnist_ffnn_batched.py` does (same seed, same draws), one epoch at
    a time; returns (history, weights). `every_epoch(record, weights)` may add figures
    to each epoch's record. A run whose values stop being finite is recorded as such."""
    x_train, y_train, x_test, y_test = data
    rng = np.random.default_rng(seed)
    weights = (init or ffnn.init_weights)(rng, dtype)
    history = []
    for _ in range(epochs):           # one epoch at a time: the same draws as epochs=30
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                record = batched.train(x_train, y_train, x_test, y_test, weights, epochs=1,
                                       lr=lr, batch_size=batch_size, rng=rng,
                                       validation=validation, max_loss=np.inf, **QUIET)[0]
        except batched.Diverged:      # non-finite values: record it and stop this run
            history.append({"epoch": len(history) + 1, "diverged": True})
            break
        record["epoch"] = len(history) + 1
        if every_epoch is not None:
            every_epoch(record, weights)
        history.append(record)
    return history, weights


def mean_loss(x, y, weights):
    """The mean cross-entropy of the network on (x, y)."""
    activations, zs = ffnn.forward_pass(x, weights)
    return batched.cross_entropy(zs[-1], y) / len(x)


# ---- Question 1, Task 2 ----------------------------------------------------------------

def section_data(out, results):
    x_train, y_train, x_test, y_test = ffnn.load_mnist()
    results["q1"] = {name: {"shape": list(a.shape), "dtype": str(a.dtype),
                            "min": int(a.min()), "max": int(a.max())}
                     for name, a in (("x_train", x_train), ("y_train", y_train),
                                     ("x_test", x_test), ("y_test", y_test))}
    inked = (x_train > 0).mean(axis=0)                     # share of images, per pixel
    results["task2"] = {"slice": x_train[0, 12:17, 10:17].tolist(),
                        "labels": y_train[:9].tolist(),
                        "zero_pixels": float(np.mean(x_train == 0)),
                        "never_inked_pixels": int(np.sum(inked == 0)),
                        "pixels_inked_in_under_1_percent": int(np.sum(inked < 0.01))}
    from matplotlib.figure import Figure
    figure = Figure(figsize=(6, 6.4), layout="constrained")
    figure.suptitle("The first nine training digits (x_train[:9], y_train[:9])")
    for k, axes in enumerate(figure.subplots(3, 3).ravel()):
        axes.imshow(x_train[k], cmap="gray")
        axes.set_title(f"x_train[{k}]: label {y_train[k]}", fontsize=9)
        axes.set_xticks([0, 27])
        axes.set_yticks([0, 27])
    batched.save_figure(figure, out / "mnist_digits.png")


# ---- Tasks 9 and 13: the untrained network ----------------------------------------------

def section_untrained(data, results):
    x_train, _, x_test, y_test = data
    weights = ffnn.init_weights(np.random.default_rng(0))
    (a0, a1, a2, output), zs = ffnn.forward_pass(x_train[0], weights)
    results["task9"] = {"output": output.tolist(), "sum": float(output.sum()),
                        "argmax": int(np.argmax(output))}
    results["task13"] = {str(seed): ffnn.compute_error(
        x_test, y_test, ffnn.init_weights(np.random.default_rng(seed))) for seed in range(5)}
    results["task13_predicted_digits"] = {str(seed): np.bincount(batched.predicted_digits(
        x_test, ffnn.init_weights(np.random.default_rng(seed))), minlength=10).tolist()
        for seed in range(5)}
    results["test_digit_counts"] = np.bincount(np.argmax(y_test, axis=1)).tolist()
    # Why one digit: the activations' averages, the part of z3 shared by all images,
    # and the part that varies from image to image.
    (_, a1, a2, a3), (z1, z2, z3) = ffnn.forward_pass(x_test, weights)
    offset = a2.mean(axis=0) @ weights[2]              # z3 of the average a2
    results["task13_cause"] = {
        "a1_mean": float(a1.mean()), "a2_mean": float(a2.mean()),
        "a1_spread": float(a1.std(axis=0).mean()), "a2_spread": float(a2.std(axis=0).mean()),
        "z1_spread": float(z1.std(axis=0).mean()), "z2_spread": float(z2.std(axis=0).mean()),
        "z3_mean": z3.mean(axis=0).tolist(), "z3_spread": z3.std(axis=0).tolist(),
        "offset": offset.tolist(),
        "offset_range": float(offset.max() - offset.min()),
        "z3_spread_mean": float(z3.std(axis=0).mean()),
        "a3_top_mean": float(a3[:, np.argmax(offset)].mean()),
        "a3_top_std": float(a3[:, np.argmax(offset)].std()),
        "top_digit": int(np.argmax(offset)),
        "share_answering_top": float(np.mean(np.argmax(z3, axis=1) == np.argmax(offset)))}
    # w3's scale multiplies z3, keeping its argmax: the fan-in rule (1/sqrt(m)) for all
    # three matrices still answers one digit for nearly every image.
    results["task13_fan_in"] = {str(seed): float(np.bincount(batched.predicted_digits(
        x_test, fan_in_weights(np.random.default_rng(seed), np.float32)),
        minlength=10).max() / len(x_test)) for seed in range(3)}
    big = np.log(np.finfo(np.float32).max)                 # e^x overflows above this
    with np.errstate(over="ignore", invalid="ignore"):
        tp_s_prime = {str(x): float(np.exp(-np.float32(x)) / (np.exp(-np.float32(x)) + 1)
                                    ** 2) for x in (-50, -89)}
    results["task7"] = {"exp_overflow": float(big), "square_overflow": float(big / 2),
                        "tp_s_prime_float32": {k: (v if np.isfinite(v) else str(v))
                                               for k, v in tp_s_prime.items()}}
    cause = results["task13_cause"]
    say(f"Task 13: test errors {results['task13']}; z3's fixed part spans "
        f"{cause['offset_range']:.2f}, its spread from image to image "
        f"{cause['z3_spread_mean']:.2f}")


# ---- Task 15: the per-example script with the TP's settings ------------------------------

def section_task15(data, epochs, results):
    weights = ffnn.init_weights(np.random.default_rng(0))
    history = ffnn.train(*data, weights, epochs=epochs, lr=0.001)      # prints its epochs
    errors = [r["test_error"] for r in history]
    results["task15"] = {"lr": 0.001, "epochs": history,
                         "last_five_drop_per_epoch": float((errors[-6] - errors[-1]) / 5)
                         if len(errors) > 5 else None}


# ---- Task 17: the whole training set as one batch --------------------------------------

def diagnose(record, weights, data):
    """What the whole-set run does each epoch: which digits it predicts on the test set,
    how large its logits z3 are, how saturated its hidden layers."""
    (_, _, _, _), (z1, z2, z3) = ffnn.forward_pass(data[2], weights)
    counts = np.bincount(np.argmax(z3, axis=1), minlength=10)
    record.update({"predicted_counts": counts.tolist(),
                   "majority_digit": int(np.argmax(counts)),
                   "majority_share": float(counts.max() / len(z3)),
                   "max_abs_z3": float(np.abs(z3).max()),
                   "saturated_z1": float(np.mean(np.abs(z1) > 5)),
                   "saturated_z2": float(np.mean(np.abs(z2) > 5))})


def run_whole_set(data, epochs, lr, frozen=()):
    """The whole set as one batch, with the matrices of `frozen` (0, 1, 2 for w1, w2, w3)
    never updated: separates what w3's step does from what w1's and w2's do."""
    x_train, y_train = data[0], data[1]
    weights = ffnn.init_weights(np.random.default_rng(0))
    history = []
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(1, epochs + 1):
            activations, zs = ffnn.forward_pass(x_train, weights)
            loss = batched.cross_entropy(zs[2], y_train) / len(x_train)
            deltas = batched.backpropagation(activations, zs, y_train, weights)
            for i in frozen:
                deltas[i] = np.zeros_like(deltas[i])
            ffnn.update_weights(weights, deltas, lr)
            record = {"epoch": epoch, "train_loss": float(loss),
                      "test_error": ffnn.compute_error(data[2], data[3], weights)}
            diagnose(record, weights, data)
            history.append(record)
    return history


def section_task17(data, split, epochs, lrs, results):
    x_train, y_train = data[0], data[1]
    history, _ = run_batched(data, epochs, 0.001, None,
                             every_epoch=lambda r, w: diagnose(r, w, data))
    # The first update: its size relative to the weights, and the saturation it causes.
    w = ffnn.init_weights(np.random.default_rng(0))
    activations, zs = ffnn.forward_pass(x_train, w)
    deltas = batched.backpropagation(activations, zs, y_train, w)
    step = [float(np.linalg.norm(0.001 * d) / np.linalg.norm(v)) for d, v in zip(deltas, w)]
    z1_before = float(np.mean(np.abs(zs[0]) > 5))
    ffnn.update_weights(w, deltas, 0.001)
    z_after = ffnn.forward_pass(x_train, w)[1]
    first_update = {"relative_step": step, "saturated_z1_before": z1_before,
                    "saturated_z1_after": float(np.mean(np.abs(z_after[0]) > 5)),
                    "saturated_z2_after": float(np.mean(np.abs(z_after[1]) > 5)),
                    "max_abs_z3_after": float(np.abs(z_after[2]).max())}
    separate = {"only_w3": run_whole_set(data, epochs, 0.001, frozen=(0, 1)),
                "w3_frozen": run_whole_set(data, epochs, 0.001, frozen=(2,))}
    tuning, at_10 = {}, {}
    for lr in lrs:
        h, _ = run_batched(split[0], epochs, lr, None, validation=split[1])
        tuning[str(lr)] = final(h, "validation_error")
        at_10[str(lr)] = h[min(10, len(h)) - 1].get("validation_error")
        say(f"Task 17 tuning: λ {lr}: validation error {tuning[str(lr)]} (epoch 10: "
            f"{at_10[str(lr)]})")
    best = float(min((lr for lr in tuning if tuning[lr] is not None), key=tuning.get))
    best_history, _ = run_batched(data, epochs, best, None)
    results["task17"] = {"tp": {"lr": 0.001, "epochs": history},
                         "first_update": first_update, "separate": separate,
                         "validation_by_lr": tuning, "validation_by_lr_epoch_10": at_10,
                         "best_lr": best, "best": {"lr": best, "epochs": best_history}}
    say(f"Task 17: λ=0.001 → {final(history):.4f}; best λ={best} → {final(best_history):.4f}")


# ---- Task 18: batch sizes ---------------------------------------------------------------

def section_task18(data, split, epochs, grids, seeds, results):
    study = []
    for batch_size, lrs in grids.items():
        tp = [run_batched(data, epochs, 0.001, batch_size, seed=s)[0] for s in seeds]
        tuning = {}
        for lr in lrs:
            h, _ = run_batched(split[0], epochs, lr, batch_size, validation=split[1])
            tuning[str(lr)] = final(h, "validation_error")
        best = float(min((lr for lr in tuning if tuning[lr] is not None), key=tuning.get))
        tuned = [run_batched(data, epochs, best, batch_size, seed=s)[0] for s in seeds]
        swings = [float(np.max(np.abs(np.diff([r["test_error"] for r in h[-5:]]))))
                  for h in tuned]
        study.append({"batch_size": batch_size, "validation_by_lr": tuning, "best_lr": best,
                      "tp": tp, "tuned": tuned,
                      "tp_final": spread([final(h) for h in tp]),
                      "tuned_final": spread([final(h) for h in tuned]),
                      "tuned_largest_swing_last_five": max(swings),
                      "seconds_per_epoch": float(np.median([r["seconds"] for h in tuned
                                                            for r in h]))})
        say(f"Task 18: B={batch_size or 'all'}: test errors with λ=0.001, seeds {seeds}: "
            f"{study[-1]['tp_final']['values']}; validation errors by λ: {tuning}; with "
            f"the best λ={best}, seeds {seeds}: {study[-1]['tuned_final']['values']}")
    results["task18"] = {"epochs": epochs, "seeds": seeds, "study": study}


# ---- Observations ------------------------------------------------------------------------

def softmax_regression(data, epochs, lr, batch_size=10, seed=0):
    """The baseline with no hidden layer: a0 (B, 784) -> softmax(a0 . w) (B, 10), trained
    with the project's own functions and the same loop as train (e = a - y,
    dw = a0^T . e, w <- w - λ dw), weights N(0, 1)/sqrt(10). Returns its history."""
    x_train, y_train, x_test, y_test = data
    rng = np.random.default_rng(seed)
    w = ffnn.layer_weights(784, 10, rng)
    history = []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x_train))
        for first in range(0, len(x_train), batch_size):
            batch = order[first:first + batch_size]
            a0, y = x_train[batch], y_train[batch]
            e = ffnn.softmax(a0 @ w) - y
            w -= lr * (a0.T @ e)
        history.append({"epoch": epoch, "test_error": float(np.mean(
            np.argmax(x_test @ w, axis=1) != np.argmax(y_test, axis=1)))})
    return history


def section_observations(data, split, seeds, epochs, results):
    x_train, y_train, x_test, y_test = data
    labels = np.argmax(y_test, axis=1)

    def train_and_test_figures(record, weights):
        record["train_error"] = ffnn.compute_error(x_train, y_train, weights)
        record["test_loss"] = mean_loss(x_test, y_test, weights)

    runs, first_weights = {}, None
    for seed in seeds:
        history, weights = run_batched(data, epochs, batched.DEFAULT_LR,
                                       batched.DEFAULT_BATCH_SIZE, seed=seed,
                                       every_epoch=train_and_test_figures)
        runs[str(seed)] = history
        first_weights = first_weights or weights
        say(f"default run, seed {seed}: test error {final(history):.4f}")
    h0 = runs[str(seeds[0])]
    results["headline"] = {"batch_size": batched.DEFAULT_BATCH_SIZE,
                           "lr": batched.DEFAULT_LR, "epochs": epochs, "runs": runs,
                           "final": spread([final(h) for h in runs.values()]),
                           "lowest_test_loss_epoch": int(np.argmin(
                               [r["test_loss"] for r in h0]) + 1),
                           "lowest_test_error_epoch": int(np.argmin(
                               [r["test_error"] for r in h0]) + 1)}
    fan_in = [final(run_batched(data, epochs, batched.DEFAULT_LR, batched.DEFAULT_BATCH_SIZE,
                                seed=s, init=fan_in_weights)[0]) for s in seeds]
    rms = float(np.sqrt(np.mean(x_test ** 2)))
    z1_spread = {name: float((x_test @ init(np.random.default_rng(0), np.float32)[0]).std())
                 for name, init in (("tp", ffnn.init_weights), ("fan_in", fan_in_weights))}
    results["initialisation"] = {"fan_in_final": spread(fan_in), "pixel_rms": rms,
                                 "z1_std": z1_spread}
    data64 = [a.astype(np.float64) for a in data]
    f64, _ = run_batched(data64, epochs, batched.DEFAULT_LR, batched.DEFAULT_BATCH_SIZE,
                         dtype=np.float64)
    results["float64"] = {"epochs": f64}
    tuning = {}
    for lr in (0.0003, 0.001, 0.003, 0.01, 0.03):
        tuning[str(lr)] = final(softmax_regression((*split[0], *split[1]), epochs, lr))
    best = float(min(tuning, key=tuning.get))
    counts = np.bincount(labels, minlength=10)
    results["baselines"] = {
        "uniform_guess_error": 0.9, "most_frequent_digit": int(np.argmax(counts)),
        "most_frequent_digit_error": float(1 - counts.max() / counts.sum()),
        "softmax_regression": {"validation_by_lr": tuning, "best_lr": best,
                               "epochs": softmax_regression(data, epochs, best)}}
    say(f"test errors: fan-in initialisation, seeds {seeds}: {fan_in}; float64: "
        f"{final(f64):.4f}; softmax regression: "
        f"{final(results['baselines']['softmax_regression']['epochs']):.4f}")
    return first_weights


# ---- Figures -----------------------------------------------------------------------------

def result_figures(out, results):
    """The report's figures drawn from results.json alone."""
    from matplotlib.figure import Figure
    study = results["task18"]["study"]
    colors = {s["batch_size"]: f"C{k}" for k, s in enumerate(study)}

    figure = Figure(figsize=(6, 4), layout="constrained")
    axes = figure.subplots()
    h = results["task15"]["epochs"]
    axes.plot([r["epoch"] for r in h], [100 * r["test_error"] for r in h], marker="o")
    axes.set(title="Task 15: per-example training, λ = 0.001", xlabel="epoch",
             ylabel="test error (%)")
    axes.grid(alpha=0.3)
    batched.save_figure(figure, out / "task15_per_example.png")

    figure = Figure(figsize=(11, 4), layout="constrained")
    error_axes, loss_axes = figure.subplots(1, 2)
    t17 = results["task17"]
    for key, name, style in (("tp", "w1, w2, w3 updated (Task 17)", "o-"),):
        h = t17[key]["epochs"]
        error_axes.plot([r["epoch"] for r in h], [100 * r["test_error"] for r in h], style,
                        label=name)
        loss_axes.plot([r["epoch"] for r in h], [r["train_loss"] for r in h], style,
                       label=name)
    for key, name, style in (("only_w3", "only w3 updated", "s--"),
                             ("w3_frozen", "only w1, w2 updated", "^:")):
        h = t17["separate"][key]
        error_axes.plot([r["epoch"] for r in h], [100 * r["test_error"] for r in h], style,
                        label=name)
        loss_axes.plot([r["epoch"] for r in h], [r["train_loss"] for r in h], style,
                       label=name)
    for r in t17["tp"]["epochs"]:                 # along the top: the digit answered
        error_axes.text(r["epoch"], 97, str(r["majority_digit"]), ha="center", fontsize=8,
                        color="C0")
    error_axes.set(title="Test error (top row: the digit the Task 17 run answers)",
                   xlabel="epoch", ylabel="test error (%)", ylim=(70, 100))
    loss_axes.set(title="Training loss (mean cross-entropy)", xlabel="epoch",
                  ylabel="loss (log scale)", yscale="log")
    for axes in (error_axes, loss_axes):
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    figure.suptitle("Task 17: the whole training set as one batch, λ = 0.001")
    batched.save_figure(figure, out / "task17_whole_set.png")

    figure = Figure(figsize=(12, 4.4), layout="constrained")
    by_epoch, by_time = figure.subplots(1, 2)
    for s in study:
        b, color = s["batch_size"], colors[s["batch_size"]]
        for key, style, name in (("tuned", "-", f"B={b or 'all'}, λ={s['best_lr']:g}"),
                                 ("tp", ":", None)):
            h = [r for r in s[key][0] if not r.get("diverged")]
            errors = [100 * r["test_error"] for r in h]
            by_epoch.plot([r["epoch"] for r in h], errors, style, color=color, label=name)
            by_time.plot(np.cumsum([r["seconds"] for r in h]), errors, style, color=color,
                         label=name)
    by_time.plot([], [], "-", color="gray", label="solid: tuned λ")
    by_time.plot([], [], ":", color="gray", label="dotted: λ = 0.001")
    by_epoch.set(title="Test error by epoch", xlabel="epoch", ylabel="test error (%)",
                 yscale="log")
    by_time.set(title="Test error by training time", xlabel="training time (s, log)",
                ylabel="test error (%)", xscale="log", yscale="log")
    for axes in (by_epoch, by_time):
        axes.grid(alpha=0.3, which="both")
        axes.set_yticks([1, 2, 5, 10, 20, 50, 90], labels=["1", "2", "5", "10", "20", "50",
                                                           "90"])
    by_time.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    figure.suptitle(f"Task 18: batch sizes, {results['task18']['epochs']} epochs, seed "
                    f"{results['seeds'][0]}")
    batched.save_figure(figure, out / "batch_size_study.png")

    figure = Figure(figsize=(11, 4), layout="constrained")
    error_axes, loss_axes = figure.subplots(1, 2)
    h = results["headline"]["runs"][str(results["seeds"][0])]
    epochs = [r["epoch"] for r in h]
    error_axes.plot(epochs, [100 * r["train_error"] for r in h], marker="o",
                    label="training set")
    error_axes.plot(epochs, [100 * r["test_error"] for r in h], marker="s", label="test set")
    error_axes.set(title="Error rate", xlabel="epoch", ylabel="error (%)")
    loss_axes.plot(epochs, [r["train_loss"] for r in h], marker="o",
                   label="training set (during the epoch)")
    loss_axes.plot(epochs, [r["test_loss"] for r in h], marker="s",
                   label="test set (after the epoch)")
    loss_axes.set(title="Mean cross-entropy", xlabel="epoch", ylabel="loss (log scale)",
                  yscale="log")
    for axes in (error_axes, loss_axes):
        axes.grid(alpha=0.3)
        axes.legend()
    figure.suptitle(f"Default run (B = {batched.DEFAULT_BATCH_SIZE}, "
                    f"λ = {batched.DEFAULT_LR}, seed {results['seeds'][0]})")
    batched.save_figure(figure, out / "overfitting.png")



def network_figures(out, results, data, weights):
    """The report's figures of the seed-0 default network (and what they count)."""
    x_test, y_test = data[2], data[3]
    labels, predicted = np.argmax(y_test, axis=1), batched.predicted_digits(x_test, weights)
    batched.plot_confusion_matrix(labels, predicted, out / "confusion_matrix.png")
    batched.plot_misclassified(x_test, labels, predicted, out / "misclassified.png")
    batched.plot_w1_tiles(weights[0], out / "w1_tiles.png")
    batched.plot_hidden_activations(x_test, labels, weights, out / "hidden_activations.png")
    counts = batched.confusion_matrix(labels, predicted)
    off = counts - np.diag(np.diag(counts))
    top = np.argsort(off.ravel(), kind="stable")[::-1][:5]
    results["confusions"] = [{"true": int(k // 10), "predicted": int(k % 10),
                              "count": int(off.ravel()[k])} for k in top]
    results["errors_by_digit"] = off.sum(axis=1).tolist()
    results["misclassified"] = [{"index": int(i), "true": int(labels[i]),      # as drawn
                                 "predicted": int(predicted[i])}
                                for i in np.flatnonzero(labels != predicted)[:32]]
    results["draw"] = draw_screenshot(weights, out / "draw.png")


def redraw_network_figures(out):
    """Retrain the seed-0 default network of the saved results (the same draws, so the
    same weights) and redraw its figures in `out`, updating its results.json."""
    results = json.loads((out / "results.json").read_text())
    data = ffnn.preprocess(*ffnn.load_mnist(), results["train_size"])
    seed = results["seeds"][0]
    history, weights = run_batched(data, results["headline"]["epochs"], batched.DEFAULT_LR,
                                   batched.DEFAULT_BATCH_SIZE, seed=seed)
    saved = results["headline"]["runs"][str(seed)]
    assert [e["test_error"] for e in history] == [e["test_error"] for e in saved], \
        "the retrained network is not the one of the saved results"
    network_figures(out, results, data, weights)
    batched.write_json(out / "results.json", results)


def draw_screenshot(weights, path):
    """The --draw window with a 7 drawn by synthetic mouse events (as tests/test_draw.py
    does), saved with savefig; returns what the network read."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from conftest import draw_strokes, stroke
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    board = batched.DrawingBoard(weights, figure)
    draw_strokes(board, [stroke((35, 25), (105, 25)), stroke((105, 25), (60, 120))])
    batched.save_figure(figure, path)
    return {"digit": int(np.argmax(board.probabilities)),
            "probability": float(board.probabilities.max())}


# ---- The report's tables, regenerated in place between <!-- table NAME --> and <!-- end -->

def pct(x):
    """How the report writes an error rate."""
    return f"{100 * x:.2f} %"


def seed_spread(s):
    """How the report writes a result over seeds: mean (min–max)."""
    return f"{pct(s['mean'])} ({100 * s['min']:.2f}–{100 * s['max']:.2f})"


def report_tables(r, bench):
    """The markdown of each generated table of report.md, from results.json (r) and
    benchmark.json (bench)."""
    tables = {}
    rows = [f"| `{k}` | {tuple(v['shape'])} | {v['dtype']}, {v['min']} to {v['max']} |"
            for k, v in r["q1"].items()]
    tables["q1"] = ["| array | shape | values |", "|---|---|---|"] + rows
    rows = []
    for seed, error in r["task13"].items():
        counts = r["task13_predicted_digits"][seed]
        top = int(np.argmax(counts))
        rows.append(f"| {seed} | {pct(error)} | {top} ({100 * counts[top] / sum(counts):.1f} %) |")
    tables["task13"] = ["| seed | test error | digit answered most (share of images) |",
                        "|---|---|---|"] + rows
    tables["task15"] = ["| epoch | 1 | 2 | 3 | 5 | 10 | 20 | 30 |", "|---|" + "---|" * 7,
                        "| test error | " + " | ".join(
                            f"{100 * e['test_error']:.2f} %" for e in r["task15"]["epochs"]
                            if e["epoch"] in (1, 2, 3, 5, 10, 20, 30)) + " |"]
    tables["task17"] = ["| update | loss before it | after it: test error | digit answered "
                        "(share) | largest \\|z₃\\| |", "|---|---|---|---|---|"] + [
        f"| {e['epoch']} | {e['train_loss']:.3g} | {pct(e['test_error'])} | "
        f"{e['majority_digit']} ({100 * e['majority_share']:.0f} %) | {e['max_abs_z3']:.0f} |"
        for e in r["task17"]["tp"]["epochs"] if e["epoch"] in (1, 2, 3, 10, 30)]
    rows = []
    for s in r["task18"]["study"]:
        b = s["batch_size"] or 60000
        rows.append(f"| {'60000 (all)' if s['batch_size'] is None else b} | {-(-60000 // b)} "
                    f"| {s['seconds_per_epoch']:.2f} | {seed_spread(s['tp_final'])} | "
                    f"{s['best_lr']:g} | {seed_spread(s['tuned_final'])} |")
    tables["task18"] = ["| B | updates per epoch | s per epoch | test error, λ = 0.001 | "
                        "chosen λ | test error, chosen λ |", "|---|---|---|---|---|---|"] + rows
    rows = [f"| 1, `mnist_ffnn.py` | {bench['per_example']['median']:.2f} | "
            f"{bench['per_example']['ratio_to_torch_batch_1']:.2f} |"]
    for row in bench["batched"]:
        if row["dtype"] == "float32" and row["batch_size"] != 1:   # B = 1: the line above
            steps = {"shortcut": ", active pixels", "plain": ", three steps"}.get(
                row["steps"], "") if row["batch_size"] <= bench["small_batch"] else ""
            rows.append(f"| {row['batch_size']}{steps} | {row['median']:.2f} | "
                        f"{row['ratio']:.2f} |")
    tables["benchmark"] = ["| B | ours, s per epoch | ours / PyTorch |", "|---|---|---|"] + rows
    return {name: "\n".join(lines) for name, lines in tables.items()}


def update_report(report, tables):
    """The text of report.md with each generated table replaced by its new markdown."""
    for name, table in tables.items():
        pattern = re.compile(rf"(<!-- table {name} -->\n).*?(<!-- end -->)", re.S)
        if not pattern.search(report):
            raise ValueError(f"report.md has no <!-- table {name} --> block")
        report = pattern.sub(lambda m: m.group(1) + table + "\n" + m.group(2), report)
    return report


def refresh_report_tables(figures=ROOT / "figures", report=ROOT / "report.md"):
    """Rewrite the tables of report.md from the saved results.json and benchmark.json."""
    tables = report_tables(json.loads((figures / "results.json").read_text()),
                           json.loads((figures / "benchmark.json").read_text()))
    text = update_report(report.read_text(), tables)
    batched.atomic_write(report, lambda f: f.write(text.encode()))
    say(f"tables of {report.name} rewritten from {figures}: {', '.join(tables)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a small subset and few epochs: checks that everything runs")
    parser.add_argument("--update-report", action="store_true",
                        help="write to figures/ (what report.md shows and quotes) and "
                             "rewrite report.md's tables, instead of runs/report/ (or "
                             "runs/report-quick/ with --quick)")
    parser.add_argument("--tables", action="store_true",
                        help="only rewrite report.md's tables from figures/results.json and "
                             "figures/benchmark.json")
    parser.add_argument("--network-figures", action="store_true",
                        help="only retrain the seed-0 default network and redraw its "
                             "figures (confusions, w1, activations, drawing board)")
    parser.add_argument("--figures", action="store_true",
                        help="only redraw the figures drawn from results.json alone (in "
                             "figures/ with --update-report, else in runs/report/)")
    args = parser.parse_args()
    if args.tables:
        refresh_report_tables()
        return
    if args.figures or args.network_figures:
        out = ROOT / ("figures" if args.update_report else "runs/report")
        if not (out / "results.json").is_file():
            sys.exit(f"error: this option redraws from {out.relative_to(ROOT)}/results.json, "
                     "which does not exist: run this script without it first "
                     "(about 45 minutes), or add --update-report to redraw the report's "
                     "own figures from figures/results.json.")
        if args.network_figures:
            redraw_network_figures(out)
        else:
            result_figures(out, json.loads((out / "results.json").read_text()))
        say(f"figures drawn from {out.relative_to(ROOT)}/results.json redrawn")
        return
    if args.quick and args.update_report:
        parser.error("--quick results cannot update the report")
    out = ROOT / ("figures" if args.update_report else "runs/report" if not args.quick
                  else "runs/report-quick")
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if args.quick:
        train_size, validation, epochs, per_example_epochs, seeds = 3000, 500, 2, 1, [0, 1]
        grids = {1: [0.01], 10: [0.01, 0.03], 100: [0.01], 1000: [0.003], None: [1e-4]}
        full_batch_lrs, long_epochs = [1e-4, 3e-5], 2
    else:
        train_size, validation, epochs, per_example_epochs, seeds = None, 10000, 10, 30, [0, 1, 2]
        grid = [0.001, 0.003, 0.01, 0.03, 0.1]                  # the same for every B
        grids = {1: grid, 10: grid, 100: grid, 1000: grid,
                 None: [1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3]}
        full_batch_lrs, long_epochs = [1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3], 30
    results = {"quick": args.quick, "seeds": seeds, "train_size": train_size,
               "validation_size": validation}
    data = ffnn.preprocess(*ffnn.load_mnist(), train_size)
    split = batched.split_validation(data[0], data[1], validation, np.random.default_rng(123))
    split_data = (*split[0], data[2], data[3])       # train on the rest, test unused here

    section_data(out, results)
    section_untrained(data, results)
    say("Task 15 (per-example, TP settings) ...")
    with contextlib.redirect_stdout(io.StringIO()) if args.quick else contextlib.nullcontext():
        section_task15(data, per_example_epochs, results)
    say("Task 17 (whole set as one batch) ...")
    section_task17(data, (split_data, split[1]), long_epochs, full_batch_lrs, results)
    say("Task 18 (batch sizes) ...")
    section_task18(data, (split_data, split[1]), epochs, grids, seeds, results)
    say("Observations (seeds, initialisation, float64, baselines) ...")
    weights = section_observations(data, split, seeds, long_epochs, results)
    result_figures(out, results)
    network_figures(out, results, data, weights)
    results["seconds"] = time.perf_counter() - start
    batched.write_json(out / "results.json", results)
    say(f"Done in {results['seconds']:.0f} s: figures and results.json in "
        f"{out.relative_to(ROOT)}")
    if args.update_report and (out / "benchmark.json").is_file():
        refresh_report_tables()


if __name__ == "__main__":
    main()
