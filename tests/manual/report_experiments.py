"""Regenerate every figure and number of report.md (not a test: run it by hand).

    python tests/report_experiments.py            # everything: 22 minutes on 2 cores
    python tests/report_experiments.py --quick    # small subset, 11 s: does it still run?
    python tests/report_experiments.py --tables   # only rewrite report.md's tables

Writes the figures (PNG) and results.json, the raw numbers the report quotes, in
figures/ (or --out DIR; --quick writes to a temporary directory unless --out is given),
then rewrites the data tables of report.md (the blocks between <!-- table NAME --> and
<!-- end -->) from results.json and figures/benchmark.json. The prose around them quotes
numbers too: tests/test_report.py fails until they agree with the new results.

Learning rates are tuned on a validation split held out from the training set; the test
set is only used to report the error of each chosen setting. Progress goes to stdout.
Each run uses one BLAS thread (as the scripts do); times are seconds of training,
evaluation excluded.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # as the scripts do (before NumPy)

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import mnist_ffnn as ffnn  # noqa: E402
import mnist_ffnn_batched as batched  # noqa: E402

QUIET = dict(log=lambda line: None)


def say(*words):
    print(*words, flush=True)


def fan_in_weights(rng, dtype):
    """The usual fan-in initialisation N(0, 1)/sqrt(m), for comparison with the TP's."""
    return [(rng.standard_normal((m, n)) / np.sqrt(m)).astype(dtype)
            for m, n in ((784, 128), (128, 64), (64, 10))]


def run_batched(data, epochs, lr, batch_size, seed=0, validation=None, init=None,
                dtype=np.float32, train_error=False):
    """Train as `python mnist_ffnn_batched.py` does (same seed, same draws); returns
    (history, weights). With train_error, each epoch's record also gets the error on
    the training set."""
    x_train, y_train, x_test, y_test = data
    rng = np.random.default_rng(seed)
    weights = (init or ffnn.init_weights)(rng, dtype)
    history = []
    for _ in range(epochs):           # one epoch at a time: the same draws as epochs=30
        try:
            record = batched.train(x_train, y_train, x_test, y_test, weights, epochs=1,
                                   lr=lr, batch_size=batch_size, rng=rng,
                                   validation=validation, max_loss=np.inf, **QUIET)[0]
        except batched.Diverged:         # non-finite values: record it and stop this run
            history.append({"epoch": len(history) + 1, "diverged": True})
            break
        record["epoch"] = len(history) + 1
        if train_error:
            record["train_error"] = ffnn.compute_error(x_train, y_train, weights)
        history.append(record)
    return history, weights


def final(history, key="test_error"):
    """The last epoch's figure, or None if the run diverged (non-finite values)."""
    return history[-1].get(key)


def best_lr(tuning):
    """The learning rate of lowest validation error (diverged runs excluded)."""
    return min((lr for lr in tuning if tuning[lr] is not None), key=tuning.get)


def section_data(out, results):
    """Question 1 and Task 2."""
    x_train, y_train, x_test, y_test = ffnn.load_mnist()
    results["q1"] = {name: {"shape": list(a.shape), "dtype": str(a.dtype),
                            "min": int(a.min()), "max": int(a.max())}
                     for name, a in (("x_train", x_train), ("y_train", y_train),
                                     ("x_test", x_test), ("y_test", y_test))}
    from matplotlib.figure import Figure
    figure = Figure(figsize=(6, 6.4), layout="constrained")
    figure.suptitle("The first nine training digits (x_train[:9], y_train[:9])")
    for k, axes in enumerate(figure.subplots(3, 3).ravel()):
        axes.imshow(x_train[k], cmap="gray")
        axes.set_title(f"x_train[{k}]: label {y_train[k]}", fontsize=9)
        axes.set_xticks([0, 27])
        axes.set_yticks([0, 27])
    batched.save_figure(figure, out / "mnist_digits.png")


def section_untrained(data, results):
    """Task 9 (one forward pass) and Task 13 (error of random weights)."""
    x_train, _, x_test, y_test = data
    weights = ffnn.init_weights(np.random.default_rng(0))
    output = ffnn.forward_pass(x_train[0], weights)[0][-1]
    results["task9"] = {"output": output.tolist(), "sum": float(output.sum()),
                        "argmax": int(np.argmax(output))}
    results["task13"] = {str(seed): ffnn.compute_error(
        x_test, y_test, ffnn.init_weights(np.random.default_rng(seed))) for seed in range(5)}
    results["task13_predicted_digits"] = {str(seed): np.bincount(batched.predicted_digits(
        x_test, ffnn.init_weights(np.random.default_rng(seed))), minlength=10).tolist()
        for seed in range(5)}
    say("Task 13:", results["task13"], results["task13_predicted_digits"])


def section_task15(data, epochs, results):
    """Task 15: the per-example script with the TP's settings."""
    weights = ffnn.init_weights(np.random.default_rng(0))
    history = ffnn.train(*data, weights, epochs=epochs, lr=0.001)
    results["task15"] = {"lr": 0.001, "epochs": history}


def section_task17(data, split, epochs, lrs, results):
    """Task 17: the whole training set as one batch."""
    x_train = data[0]
    history, weights = run_batched(data, epochs, 0.001, None)
    # What one update at λ = 0.001 does: step size and saturation of the sigmoids.
    w = ffnn.init_weights(np.random.default_rng(0))
    activations, zs = ffnn.forward_pass(x_train, w)
    deltas = batched.backpropagation(activations, zs, data[1], w)
    step = [float(np.linalg.norm(0.001 * d) / np.linalg.norm(v)) for d, v in zip(deltas, w)]
    z1_before = float(np.mean(np.abs(zs[0]) > 5))
    ffnn.update_weights(w, deltas, 0.001)
    z_after = ffnn.forward_pass(x_train, w)[1]
    saturation = {"z1_before": z1_before, "z1_after_one_update": float(np.mean(np.abs(z_after[0]) > 5)),
                  "z2_after_one_update": float(np.mean(np.abs(z_after[1]) > 5))}
    tuning = {}
    for lr in lrs:
        h, _ = run_batched(split[0], epochs, lr, None, validation=split[1])
        tuning[str(lr)] = final(h, "validation_error")
        say(f"Task 17 tuning: lr {lr}: validation error {tuning[str(lr)]}")
    best = float(best_lr(tuning))
    best_history, _ = run_batched(data, epochs, best, None)
    results["task17"] = {"tp": {"lr": 0.001, "epochs": history},
                         "relative_step_first_update": step, "saturation": saturation,
                         "validation_by_lr": tuning, "best_lr": best,
                         "best": {"lr": best, "epochs": best_history}}
    say(f"Task 17: λ=0.001 → {final(history):.4f}; best λ={best} → {final(best_history):.4f}")


def section_task18(data, split, epochs, grids, results):
    """Task 18: batch sizes, at the TP's λ and at a λ tuned on the validation split."""
    study = []
    for batch_size, lrs in grids.items():
        tp, _ = run_batched(data, epochs, 0.001, batch_size)
        tuning = {}
        for lr in lrs:
            h, _ = run_batched(split[0], epochs, lr, batch_size, validation=split[1])
            tuning[str(lr)] = final(h, "validation_error")
        best = float(best_lr(tuning))
        tuned, _ = run_batched(data, epochs, best, batch_size)
        study.append({"batch_size": batch_size, "tp": tp, "validation_by_lr": tuning,
                      "best_lr": best, "tuned": tuned})
        say(f"Task 18: B={batch_size}: TP λ → {final(tp):.4f} "
            f"({np.median([r['seconds'] for r in tp]):.2f} s/epoch); "
            f"tuned λ={best} (validation {tuning}) → {final(tuned):.4f}")
    results["task18"] = {"epochs": epochs, "study": study}


def section_observations(data, seeds, epochs, results):
    """Default run over several seeds (headline), train vs test error, fan-in init,
    float64."""
    runs = {}
    for seed in seeds:
        history, weights = run_batched(data, epochs, batched.DEFAULT_LR,
                                       batched.DEFAULT_BATCH_SIZE, seed=seed,
                                       train_error=True)
        runs[str(seed)] = history
        say(f"default run, seed {seed}: test error {final(history):.4f}")
        if seed == seeds[0]:
            best_weights = weights
    errors = [final(h) for h in runs.values()]
    results["headline"] = {"batch_size": batched.DEFAULT_BATCH_SIZE,
                           "lr": batched.DEFAULT_LR, "epochs": epochs, "runs": runs,
                           "test_errors": errors, "mean": float(np.mean(errors)),
                           "min": min(errors), "max": max(errors)}
    fan_in, _ = run_batched(data, epochs, batched.DEFAULT_LR, batched.DEFAULT_BATCH_SIZE,
                            init=fan_in_weights)
    data64 = [a.astype(np.float64) for a in data]
    f64, _ = run_batched(data64, epochs, batched.DEFAULT_LR, batched.DEFAULT_BATCH_SIZE,
                         dtype=np.float64)
    results["init_fan_in"] = {"epochs": fan_in}
    results["float64"] = {"epochs": f64}
    say(f"fan-in init: {final(fan_in):.4f}; float64: {final(f64):.4f}")
    return best_weights


def figures(out, results, data, weights):
    """The report's figures from the results."""
    from matplotlib.figure import Figure
    colors = dict(zip([s["batch_size"] for s in results["task18"]["study"]],
                      ["C0", "C1", "C2", "C3", "C4", "C5"]))

    figure = Figure(figsize=(6, 4), layout="constrained")
    axes = figure.subplots()
    h = results["task15"]["epochs"]
    axes.plot([r["epoch"] for r in h], [100 * r["test_error"] for r in h], marker="o")
    axes.set(title="Task 15: per-example training, λ = 0.001", xlabel="epoch",
             ylabel="test error (%)")
    axes.grid(alpha=0.3)
    batched.save_figure(figure, out / "task15_per_example.png")

    figure = Figure(figsize=(11, 4.2), layout="constrained")
    by_epoch, by_time = figure.subplots(1, 2)
    for s in results["task18"]["study"]:
        b, color = s["batch_size"], colors[s["batch_size"]]
        label = "all" if b is None else b
        for key, style, name in (("tuned", "-", f"B={label}, λ={s['best_lr']}"),
                                 ("tp", ":", None)):
            h = [r for r in s[key] if not r.get("diverged")]
            errors = [100 * r["test_error"] for r in h]
            by_epoch.plot([r["epoch"] for r in h], errors, style, color=color, label=name)
            by_time.plot(np.cumsum([r["seconds"] for r in h]), errors, style, color=color,
                         label=name)
    by_epoch.set(title="Test error by epoch (solid: tuned λ, dotted: λ = 0.001)",
                 xlabel="epoch", ylabel="test error (%)", yscale="log")
    by_time.set(title="Test error by training time", xlabel="training time (s, log)",
                ylabel="test error (%)", xscale="log", yscale="log")
    for axes in (by_epoch, by_time):
        axes.grid(alpha=0.3, which="both")
        axes.set_yticks([1, 2, 5, 10, 20, 50, 90], labels=["1", "2", "5", "10", "20", "50", "90"])
    by_epoch.legend(fontsize=8)
    batched.save_figure(figure, out / "batch_size_study.png")

    figure = Figure(figsize=(6, 4), layout="constrained")
    axes = figure.subplots()
    h = results["headline"]["runs"][str(results["seeds"][0])]
    epochs = [r["epoch"] for r in h]
    axes.plot(epochs, [100 * r["train_error"] for r in h], marker="o", label="training set")
    axes.plot(epochs, [100 * r["test_error"] for r in h], marker="s", label="test set")
    axes.set(title=f"Default run (B = {batched.DEFAULT_BATCH_SIZE}, λ = {batched.DEFAULT_LR}): "
                   "training vs test error", xlabel="epoch", ylabel="error (%)")
    axes.grid(alpha=0.3)
    axes.legend()
    batched.save_figure(figure, out / "overfitting.png")

    x_test, y_test = data[2], data[3]
    labels, predicted = np.argmax(y_test, axis=1), batched.predicted_digits(x_test, weights)
    batched.plot_confusion_matrix(labels, predicted, out / "confusion_matrix.png")
    batched.plot_misclassified(x_test, labels, predicted, out / "misclassified.png")
    counts = batched.confusion_matrix(labels, predicted)
    off = counts - np.diag(np.diag(counts))
    top = np.argsort(off.ravel())[::-1][:5]
    results["confusions"] = [{"true": int(k // 10), "predicted": int(k % 10),
                              "count": int(off.ravel()[k])} for k in top]
    results["errors_by_digit"] = (off.sum(axis=1)).tolist()


# ---------------------------------------------------------------------------------------
# The report's tables, regenerated in place between <!-- table NAME --> and <!-- end -->
# ---------------------------------------------------------------------------------------

def pct(x):
    """How the report writes an error rate."""
    return f"{100 * x:.2f} %"


def median_seconds(history):
    return f"{np.median([r['seconds'] for r in history]):.2f} s"


def report_tables(r, bench):
    """The markdown of each generated table of report.md, from results.json (r) and
    benchmark.json (bench)."""
    tables = {}
    rows = [f"| `{k}` | {tuple(v['shape'])} | {v['dtype']} | {v['min']} | {v['max']} |"
            for k, v in r["q1"].items()]
    tables["q1"] = ["| array | shape | dtype | min | max |", "|---|---|---|---|---|"] + rows
    tables["task13"] = ["| seed | test error |", "|---|---|"] + [
        f"| {seed} | {pct(e)} |" for seed, e in r["task13"].items()]
    tables["task15"] = ["| epoch | training loss | test error | seconds |", "|---|---|---|---|"] + [
        f"| {e['epoch']} | {e['train_loss']:.4f} | {pct(e['test_error'])} | {e['seconds']:.2f} |"
        for e in r["task15"]["epochs"] if e["epoch"] in (1, 2, 3, 5, 10, 15, 20, 25, 30)]
    tables["task17"] = ["| epoch | training loss | test error |", "|---|---|---|"] + [
        f"| {e['epoch']} | {e['train_loss']:.3f} | {pct(e['test_error'])} |"
        for e in r["task17"]["tp"]["epochs"] if e["epoch"] in (1, 2, 3, 4, 5, 10, 20, 30)]
    rows = []
    for s in r["task18"]["study"]:
        b = s["batch_size"] or 60000
        tp = s["tp"][-1]
        tuning = ", ".join(f"{lr}: {100 * v:.2f}" if v is not None else f"{lr}: diverged"
                           for lr, v in s["validation_by_lr"].items())
        rows.append(f"| {'60000 (all)' if s['batch_size'] is None else b} | {-(-60000 // b)} | "
                    f"{median_seconds(s['tuned'])} | "
                    f"{pct(tp['test_error']) if 'test_error' in tp else 'diverged'} | "
                    f"{tuning} | {s['best_lr']:g} | {pct(s['tuned'][-1]['test_error'])} |")
    tables["task18"] = ["| B | updates per epoch | s / epoch | test error, λ = 0.001 | "
                        "validation error (%) by λ | chosen λ | test error, chosen λ |",
                        "|---|---|---|---|---|---|---|"] + rows
    tables["benchmark"] = ["| batch size | dtype | median epoch | min–max (s) | GFLOP/s | "
                           "% of the matmul |", "|---|---|---|---|---|---|"] + [
        f"| {row['batch_size']} | {row['dtype']} | {row['median']:.3f} s | "
        f"{row['min']:.3f}–{row['max']:.3f} | {row['gflops']:.1f} | "
        f"{100 * row['fraction_of_matmul']:.0f} % |" for row in bench["batched"]]
    return {name: "\n".join(lines) for name, lines in tables.items()}


def update_report(report, tables):
    """The text of report.md with each generated table replaced by its new markdown."""
    for name, table in tables.items():
        pattern = re.compile(rf"(<!-- table {name} -->\n).*?(\n<!-- end -->)", re.S)
        if not pattern.search(report):
            raise ValueError(f"report.md has no <!-- table {name} --> block")
        report = pattern.sub(lambda m: m.group(1) + table + m.group(2), report)
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
    parser.add_argument("--out", type=Path, default=None, help="output directory")
    parser.add_argument("--tables", action="store_true",
                        help="only rewrite the tables of report.md from figures/results.json "
                             "and figures/benchmark.json (e.g. after tests/benchmark.py)")
    args = parser.parse_args()
    if args.tables:
        refresh_report_tables()
        return
    out = args.out or (Path(tempfile.mkdtemp(prefix="report-quick-")) if args.quick
                       else ROOT / "figures")
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if args.quick:
        train_size, validation, epochs, per_example_epochs, seeds = 3000, 500, 2, 1, [0, 1]
        grids = {1: [0.01], 10: [0.01, 0.03], 100: [0.01], 1000: [0.003], None: [1e-4]}
        full_batch_lrs = [1e-4, 3e-5]
    else:
        train_size, validation, epochs, per_example_epochs, seeds = None, 10000, 10, 30, [0, 1, 2]
        grids = {1: [0.001, 0.003, 0.01], 10: [0.003, 0.01, 0.03, 0.1],
                 100: [0.003, 0.01, 0.03, 0.1], 1000: [0.001, 0.003, 0.01, 0.03],
                 None: [1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3]}
        full_batch_lrs = [1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3]
    results = {"quick": args.quick, "seeds": seeds, "train_size": train_size,
               "validation_size": validation}
    data = batched.load_data(ffnn.DATA_DIR, train_size)
    split = batched.split_validation(data[0], data[1], validation, np.random.default_rng(123))
    split_data = (*split[0], data[2], data[3])       # train on the rest, test unused here

    section_data(out, results)
    section_untrained(data, results)
    say("Task 15 (per-example, TP settings) ...")
    section_task15(data, per_example_epochs, results)
    say("Task 17 (whole set as one batch) ...")
    section_task17(data, (split_data, split[1]), 30 if not args.quick else 2,
                   full_batch_lrs, results)
    say("Task 18 (batch sizes) ...")
    section_task18(data, (split_data, split[1]), epochs, grids, results)
    say("Observations (seeds, initialisation, float64) ...")
    weights = section_observations(data, seeds, 30 if not args.quick else epochs, results)
    figures(out, results, data, weights)
    results["seconds"] = time.perf_counter() - start
    batched.write_json(out / "results.json", results)
    say(f"Done in {results['seconds']:.0f} s: figures and results.json in {out}")
    if out == ROOT / "figures" and (out / "benchmark.json").is_file():
        refresh_report_tables()


if __name__ == "__main__":
    main()
