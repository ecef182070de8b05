"""Speed benchmark of both scripts on the shipped MNIST (not a test: run it by hand).

    python tests/benchmark.py [--repeats 3] [--json figures/benchmark.json]
    python tests/benchmark.py --profile 100     # where the time of one batch goes

Times one training epoch (evaluation excluded) of the per-example script and of the
batched script for several batch sizes, in float32 and float64, each `--repeats` times,
and prints the median and the spread (min-max). The work of an epoch is counted in
floating-point operations from the TP's equations (see FLOPS_* below), so each batched
case gets a GFLOP/s figure, compared with one large matrix product measured in the same
run: that ratio, not the seconds, is what carries from one machine to another.
First, it runs the default `python mnist_ffnn_batched.py` (2 epochs: memory does not grow
with epochs) in a child process and reports its peak resident memory (measured before
this process loads anything: a forked child starts with its parent's pages).

Like the scripts, it uses one BLAS thread unless OPENBLAS_NUM_THREADS says otherwise.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # what the scripts do (before NumPy)

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import mnist_ffnn  # noqa: E402
import mnist_ffnn_batched  # noqa: E402

# Floating-point operations of one epoch, counted from the TP's equations (a product of
# (p, q) by (q, r) is 2·p·q·r operations; element-wise functions are not counted).
# Per example:
#   forward   z1, z2, z3 = a_{i-1} . w_i               2·(784·128 + 128·64 + 64·10)
#   backward  e2 = e3 . w3^T, e1 = e2 . w2^T           2·(10·64 + 64·128)
#             dw_i = a_{i-1}^T . e_i                    2·(784·128 + 128·64 + 64·10)
# Per batch:
#   update    w_i - λ·dw_i (one multiply, one subtract per weight)  2·(784·128 + 128·64 + 64·10)
WEIGHTS = 784 * 128 + 128 * 64 + 64 * 10
FLOPS_PER_EXAMPLE = 2 * WEIGHTS + 2 * (10 * 64 + 64 * 128) + 2 * WEIGHTS
FLOPS_PER_BATCH = 2 * WEIGHTS


def epoch_flops(n, batch_size):
    """Floating-point operations of one epoch of n examples in batches of batch_size."""
    return n * FLOPS_PER_EXAMPLE + -(-n // batch_size) * FLOPS_PER_BATCH


def summary(seconds):
    """Median, min and max of a list of timings."""
    return {"median": float(np.median(seconds)), "min": min(seconds), "max": max(seconds),
            "runs": seconds}


def time_epoch(train, data, dtype, repeats, **options):
    """Seconds of one training epoch (evaluation excluded), `repeats` times."""
    seconds = []
    for repeat in range(repeats):
        weights = mnist_ffnn.init_weights(np.random.default_rng(repeat), dtype)
        history = train(*data, weights, epochs=1, lr=1e-3, log=lambda line: None, **options)
        seconds.append(history[0]["seconds"])
    return summary(seconds)


def matmul_gflops(dtype, repeats, n=2048):
    """GFLOP/s of an (n, n) . (n, n) product in `dtype` (median of `repeats`)."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n)).astype(dtype), rng.random((n, n)).astype(dtype)
    a @ b
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        seconds.append(time.perf_counter() - start)
    return 2 * n ** 3 / np.median(seconds) / 1e9


def peak_memory_of_default_run():
    """Peak resident memory (MB) of `python mnist_ffnn_batched.py --epochs 2`."""
    subprocess.run([sys.executable, str(ROOT / "mnist_ffnn_batched.py"), "--epochs", "2"],
                   check=True, stdout=subprocess.DEVNULL)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024   # KiB -> MiB


def profile_epoch(data, batch_size):
    """Microseconds per batch of each step of one batched epoch (float32): gathering the
    batch, forward_pass, backpropagation, update_weights, and, inside the first two,
    the two products with the 784 input rows, z1 = a0 . w1 and dw1 = a0^T . e1."""
    x_train, y_train = data[0], data[1]
    weights = mnist_ffnn.init_weights(np.random.default_rng(0))
    order = np.random.default_rng(0).permutation(len(x_train))
    steps = dict.fromkeys(["gather", "forward_pass", "backpropagation", "update_weights",
                           "z1 = a0 . w1", "dw1 = a0^T . e1"], 0.0)
    clock = time.perf_counter
    for first in range(0, len(x_train), batch_size):           # the loop over batches
        t0 = clock()
        batch = order[first:first + batch_size]
        a0, y = x_train[batch], y_train[batch]
        t1 = clock()
        activations, zs = mnist_ffnn_batched.forward_pass(a0, weights)
        t2 = clock()
        deltas = mnist_ffnn_batched.backpropagation(activations, zs, y, weights)
        t3 = clock()
        mnist_ffnn.update_weights(weights, deltas, 1e-3)
        t4 = clock()
        a0 @ weights[0]
        t5 = clock()
        e1 = mnist_ffnn.errors(activations, zs, y, weights)[0]
        t6 = clock()
        a0.T @ e1
        t7 = clock()
        for name, seconds in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t7 - t6)):
            steps[name] += seconds
    batches = -(-len(x_train) // batch_size)
    return {name: 1e6 * seconds / batches for name, seconds in steps.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timings per case")
    parser.add_argument("--json", type=Path, default=ROOT / "figures" / "benchmark.json",
                        help="where to write the table")
    parser.add_argument("--profile", type=int, metavar="B", default=None,
                        help="only print the time of each step of one epoch at batch size B")
    args = parser.parse_args()
    if args.profile is not None:
        data = mnist_ffnn.load_data(mnist_ffnn.DATA_DIR)
        profile = profile_epoch(data, args.profile)
        print(f"one epoch at batch size {args.profile}, float32, µs per batch:")
        for name, micros in profile.items():
            print(f"  {name:<18} {micros:8.1f}")
        return
    print(f"numpy {np.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    table = {"numpy": np.__version__, "threads": os.environ["OPENBLAS_NUM_THREADS"],
             "repeats": args.repeats, "flops_per_example": FLOPS_PER_EXAMPLE,
             "flops_per_batch": FLOPS_PER_BATCH, "matmul_gflops": {}, "per_example": {},
             "batched": []}
    table["default_run_peak_rss_mib"] = peak_memory_of_default_run()
    print(f"peak resident memory of the default run: "
          f"{table['default_run_peak_rss_mib']:.0f} MiB")
    for name in ("float32", "float64"):
        table["matmul_gflops"][name] = matmul_gflops(np.dtype(name), 5)
        print(f"matmul 2048x2048 {name}: {table['matmul_gflops'][name]:.1f} GFLOP/s")

    data = mnist_ffnn.load_data(mnist_ffnn.DATA_DIR, dtype=np.float32)
    n = len(data[0])
    result = time_epoch(mnist_ffnn.train, data, np.float32, args.repeats)
    table["per_example"] = {"dtype": "float32", "examples": n, **result}
    print(f"\nper-example epoch, float32, {n} examples: median {result['median']:.2f} s "
          f"(min {result['min']:.2f}, max {result['max']:.2f})")

    print(f"\n{'batched':>8} {'dtype':>8} {'median s':>9} {'min-max s':>13} "
          f"{'GFLOP/s':>8} {'% of matmul':>12}")
    for name in ("float32", "float64"):
        dtype = np.dtype(name)
        data = mnist_ffnn.load_data(mnist_ffnn.DATA_DIR, dtype=dtype)
        for batch_size in (1, 10, 100, 1000, n):
            result = time_epoch(mnist_ffnn_batched.train, data, dtype, args.repeats,
                                batch_size=batch_size, rng=np.random.default_rng(0))
            gflops = epoch_flops(n, batch_size) / result["median"] / 1e9
            ratio = gflops / table["matmul_gflops"][name]
            table["batched"].append({"batch_size": batch_size, "dtype": name, **result,
                                     "gflops": gflops, "fraction_of_matmul": ratio})
            print(f"{batch_size:>8} {name:>8} {result['median']:>9.3f} "
                  f"{result['min']:>6.3f}-{result['max']:<6.3f} {gflops:>8.1f} "
                  f"{100 * ratio:>11.0f}%", flush=True)
        del data

    args.json.parent.mkdir(parents=True, exist_ok=True)
    mnist_ffnn.write_json(args.json, table)
    print(f"table written to {args.json}")


if __name__ == "__main__":
    main()
