"""Speed benchmark of both scripts on the shipped MNIST (not a test: run it by hand).

    python tests/manual/benchmark.py                  # 12 minutes with PyTorch (2 cores)
    python tests/manual/benchmark.py --profile 100    # where the time of one batch goes
    python tests/manual/benchmark.py --update-report  # also the data of report.md
    python tests/manual/benchmark.py --threads 2 --batch-sizes 10 1000 --no-torch

Times one training epoch (evaluation excluded) of the per-example script and of the
batched script for batch sizes 1, 10, 100, 1000 and the whole set, in float32 (and
float64 with --float64), `--repeats` times each, and prints the median and the spread
(min-max). For the batch sizes where train takes its active-pixel shortcut
(mnist_ffnn_batched.active_pixel_step), the epoch is also timed with the TP's plain
three steps, so that the shortcut's share of the speed is seen. It also measures the
peak memory of the default `python mnist_ffnn_batched.py` (in a child process, 2 epochs).

Threads: the batched epochs use the BLAS threads train chooses (one thread below
ONE_THREAD_BELOW = 128 examples per batch, all cores above: their products are too
small to share), unless --threads forces a number; the per-example script runs with one.
Comparing `--threads 1` with `--threads 2` over `--batch-sizes 12 32 64 100 128 200
1000` shows where the crossing is on a machine.

If PyTorch can be imported (it is never a dependency of the project: install it in a
separate virtual environment, with numpy, matplotlib and threadpoolctl, and run this
file with that environment's python), the same epoch is timed in PyTorch, side by side
in the same run: the same network and initial weights, no biases, the summed
cross-entropy, plain SGD, float32, the same shuffling, written as a PyTorch user writes
it (nn.Sequential, optim.SGD); the faster of 1 and 2 threads is kept. PyTorch computes
every pixel; our small-batch shortcut skips the blank ones, hence the plain rows.

The table goes to runs/benchmark.json (ignored by git). `--update-report` writes it
to figures/benchmark.json instead, the file report.md quotes, and rewrites report.md's
tables from it: the numbers quoted in the report's text must then be updated by hand
(tests/test_report.py says which).
"""

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import mnist_ffnn  # noqa: E402
import mnist_ffnn_batched  # noqa: E402

BATCH_SIZES = (1, 10, 100, 1000, 60000)


def summary(seconds):
    """Median, min and max of a list of timings."""
    return {"median": float(np.median(seconds)), "min": min(seconds), "max": max(seconds),
            "runs": seconds}


def time_per_example_epoch(data, repeats):
    """Seconds of one epoch of mnist_ffnn.train (it prints its epoch line: silenced)."""
    import contextlib
    import io
    seconds = []
    for repeat in range(repeats):
        weights = mnist_ffnn.init_weights(np.random.default_rng(repeat))
        with contextlib.redirect_stdout(io.StringIO()):
            seconds.append(mnist_ffnn.train(*data, weights, epochs=1)[0]["seconds"])
    return summary(seconds)


def time_batched_epoch(data, dtype, batch_size, repeats, plain=False):
    """Seconds of one epoch of mnist_ffnn_batched.train at `batch_size` (with `plain`,
    the TP's three steps on the whole network, without the active-pixel shortcut)."""
    small_batch = mnist_ffnn_batched.SMALL_BATCH
    mnist_ffnn_batched.SMALL_BATCH = 0 if plain else small_batch
    seconds = []
    for repeat in range(repeats):
        weights = mnist_ffnn.init_weights(np.random.default_rng(repeat), dtype)
        history = mnist_ffnn_batched.train(*data, weights, epochs=1, lr=1e-3,
                                           batch_size=batch_size,
                                           rng=np.random.default_rng(0), log=lambda s: None)
        seconds.append(history[0]["seconds"])
    mnist_ffnn_batched.SMALL_BATCH = small_batch
    return summary(seconds)


def time_torch_epoch(torch, data, batch_size, repeats, threads, dtype=np.float32):
    """Seconds of the same epoch in PyTorch with `threads` threads."""
    torch.set_num_threads(threads)
    x = torch.from_numpy(data[0].astype(dtype))
    labels = torch.from_numpy(np.argmax(data[1], axis=1))
    seconds = []
    for repeat in range(repeats):
        network = torch.nn.Sequential(
            torch.nn.Linear(784, 128, bias=False), torch.nn.Sigmoid(),
            torch.nn.Linear(128, 64, bias=False), torch.nn.Sigmoid(),
            torch.nn.Linear(64, 10, bias=False)).to(x.dtype)
        weights = mnist_ffnn.init_weights(np.random.default_rng(repeat), dtype)
        with torch.no_grad():              # the same initial weights (Linear stores w^T)
            for layer, w in zip(network[::2], weights):
                layer.weight.copy_(torch.from_numpy(w.T))
        optimizer = torch.optim.SGD(network.parameters(), lr=1e-3)
        generator = torch.Generator().manual_seed(0)
        start = time.perf_counter()
        order = torch.randperm(len(x), generator=generator)
        for first in range(0, len(x), batch_size):
            batch = order[first:first + batch_size] if batch_size < len(x) else slice(None)
            loss = torch.nn.functional.cross_entropy(network(x[batch]), labels[batch],
                                                     reduction="sum")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    return summary(seconds)


def peak_memory_of_default_run():
    """Peak resident memory (MiB) of `python mnist_ffnn_batched.py --epochs 2`."""
    subprocess.run([sys.executable, str(ROOT / "mnist_ffnn_batched.py"), "--epochs", "2"],
                   check=True, stdout=subprocess.DEVNULL)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024   # KiB -> MiB


def profile_epoch(data, batch_size):
    """Microseconds per batch of each step of one batched epoch (float32, the threads
    that train uses): gathering the batch, forward_pass, backpropagation,
    update_weights, and the two products with the 784 input rows, z1 = a0 . w1 and
    dw1 = a0^T . e1, timed again on their own. These are the TP's three steps on the
    whole network: train's path for batches of up to SMALL_BATCH (the active pixels'
    rows of w1) is not what this profiles."""
    x_train, y_train = data[0], data[1]
    weights = mnist_ffnn.init_weights(np.random.default_rng(0))
    order = np.random.default_rng(0).permutation(len(x_train))
    steps = dict.fromkeys(["gather", "forward_pass", "backpropagation", "update_weights",
                           "z1 = a0 . w1", "dw1 = a0^T . e1"], 0.0)
    clock = time.perf_counter
    with mnist_ffnn_batched.blas_threads(
            1 if batch_size < mnist_ffnn_batched.ONE_THREAD_BELOW else None):
        for first in range(0, len(x_train), batch_size):       # the loop over batches
            t0 = clock()
            batch = order[first:first + batch_size]
            a0, y = x_train[batch], y_train[batch]
            t1 = clock()
            activations, zs = mnist_ffnn.forward_pass(a0, weights)
            t2 = clock()
            deltas = mnist_ffnn_batched.backpropagation(activations, zs, y, weights)
            t3 = clock()
            mnist_ffnn.update_weights(weights, deltas, 1e-3)
            t4 = clock()
            a0 @ weights[0]
            t5 = clock()
            a0.T @ activations[1]                  # the shape of a0^T . e1
            t6 = clock()
            for name, seconds in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4,
                                             t6 - t5)):
                steps[name] += seconds
    batches = -(-len(x_train) // batch_size)
    return {name: 1e6 * seconds / batches for name, seconds in steps.items()}


def forced_threads(count):
    """A replacement for mnist_ffnn_batched.blas_threads that gives --threads threads,
    whatever train asks for (needs threadpoolctl)."""
    from threadpoolctl import threadpool_limits
    return lambda asked: threadpool_limits(limits=count, user_api="blas")


def blas_description():
    """Which BLAS NumPy uses, as threadpoolctl reports it (if installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown BLAS (threadpoolctl not installed)"
    blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)"
            for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(blas) or "no BLAS found"


def load(dtype):
    """The shipped MNIST, preprocessed in `dtype`."""
    return mnist_ffnn.preprocess(*mnist_ffnn.load_mnist(), dtype=np.dtype(dtype))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3,
                        help="timings per case (default: %(default)s)")
    parser.add_argument("--profile", type=int, metavar="B", default=None,
                        help="only print the time of each step of one epoch at batch size B")
    parser.add_argument("--update-report", action="store_true",
                        help="write figures/benchmark.json (what report.md quotes) and "
                             "rewrite report.md's tables, instead of runs/benchmark.json")
    parser.add_argument("--no-torch", action="store_true",
                        help="do not time PyTorch even if it can be imported")
    parser.add_argument("--float64", action="store_true",
                        help="also time the batched epochs in float64")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=BATCH_SIZES,
                        metavar="B", help="the batch sizes to time (default: 1 10 100 1000 "
                                          "60000)")
    parser.add_argument("--threads", type=int, default=None,
                        help="run the batched epochs with this many BLAS threads instead "
                             "of the number train chooses (1 below ONE_THREAD_BELOW = 128 "
                             "examples, else all)")
    args = parser.parse_args()
    if args.profile is not None:
        profile = profile_epoch(load("float32"), args.profile)
        print(f"one epoch at batch size {args.profile}, float32, µs per batch:")
        for name, micros in profile.items():
            print(f"  {name:<18} {micros:8.1f}")
        return
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            pass
    out = ROOT / ("figures" if args.update_report else "runs") / "benchmark.json"
    table = {"numpy": np.__version__, "blas": blas_description(), "cores": os.cpu_count(),
             "threads": args.threads or "chosen by train", "machine": platform.machine(),
             "python": platform.python_version(), "torch": torch and torch.__version__,
             "repeats": args.repeats, "small_batch": mnist_ffnn_batched.SMALL_BATCH,
             "batched": []}
    print(f"numpy {np.__version__}, {table['blas']}, {platform.machine()}, "
          f"{os.cpu_count()} cores; PyTorch {table['torch'] or 'not timed'}")
    table["default_run_peak_rss_mib"] = peak_memory_of_default_run()
    print(f"peak resident memory of `python mnist_ffnn_batched.py --epochs 2`: "
          f"{table['default_run_peak_rss_mib']:.0f} MiB")

    data = load("float32")
    n = len(data[0])
    with mnist_ffnn_batched.blas_threads(1):
        table["per_example"] = {"dtype": "float32", "examples": n,
                                **time_per_example_epoch(data, args.repeats)}
    print(f"\nper-example script, float32, one epoch of {n} examples: median "
          f"{table['per_example']['median']:.2f} s (min {table['per_example']['min']:.2f}, "
          f"max {table['per_example']['max']:.2f})", flush=True)
    if args.threads is not None:                  # from here on: the batched epochs
        mnist_ffnn_batched.blas_threads = forced_threads(args.threads)
    print(f"\nOne epoch of the batched script (steps: 'shortcut' is train's path up to "
          f"B = {mnist_ffnn_batched.SMALL_BATCH}, active_pixel_step; 'plain' the TP's "
          f"three steps on the whole network), median of {args.repeats}:")
    print(f"{'batch':>6} {'dtype':>8} {'steps':>9} {'ours, s':>8} {'min-max':>13}"
          + (f" {'PyTorch, s':>11} {'threads':>7} {'ours/PyTorch':>12}" if torch else ""))
    torch_runs = {}
    for name in ("float32", "float64") if args.float64 else ("float32",):
        data = data if name == "float32" else load(name)
        for batch_size in args.batch_sizes:
            shortcut = batch_size <= mnist_ffnn_batched.SMALL_BATCH
            for plain in (False, True) if shortcut else (False,):
                ours = time_batched_epoch(data, np.dtype(name), batch_size, args.repeats,
                                          plain)
                steps = "plain" if plain or not shortcut else "shortcut"
                row = {"batch_size": batch_size, "dtype": name, "steps": steps, **ours}
                line = (f"{batch_size:>6} {name:>8} {steps:>9} {ours['median']:>8.3f} "
                        f"{ours['min']:>6.3f}-{ours['max']:<6.3f}")
                if torch and name == "float32":
                    if batch_size not in torch_runs:
                        runs = {threads: time_torch_epoch(torch, data, batch_size,
                                                          args.repeats, threads)
                                for threads in (1, 2)}
                        threads = min(runs, key=lambda t: runs[t]["median"])
                        torch_runs[batch_size] = {
                            "threads": threads, **runs[threads],
                            "other_threads_median": runs[3 - threads]["median"]}
                    row["torch"] = torch_runs[batch_size]
                    row["ratio"] = ours["median"] / row["torch"]["median"]
                    line += (f" {row['torch']['median']:>11.3f} {row['torch']['threads']:>7} "
                             f"{row['ratio']:>12.2f}")
                table["batched"].append(row)
                print(line, flush=True)
    if torch and 1 in torch_runs:
        table["per_example"]["ratio_to_torch_batch_1"] = (
            table["per_example"]["median"] / torch_runs[1]["median"])
        print(f"\nper-example script / PyTorch at batch size 1: "
              f"{table['per_example']['ratio_to_torch_batch_1']:.2f}")
    out.parent.mkdir(exist_ok=True)
    mnist_ffnn_batched.write_json(out, table)
    print(f"table written to {out.relative_to(ROOT)}")
    if args.update_report:
        sys.path.insert(0, str(Path(__file__).parent))
        import report_experiments
        report_experiments.refresh_report_tables()


if __name__ == "__main__":
    main()
