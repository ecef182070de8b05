"""Speed of both scripts on the shipped MNIST: one training epoch, timed (not a test:
run it by hand, on a quiet machine).

    python tests/manual/benchmark.py                     # about 6 minutes on 2 cores
    python tests/manual/benchmark.py --repeats 3 --batch-sizes 10 100

Times one epoch of mnist_ffnn.train (one example at a time) and of
mnist_ffnn_batched.train at each batch size, evaluation excluded, with one BLAS thread
(as `python mnist_ffnn_batched.py` runs) and with two, and at B = 10 also while another
process keeps one core busy. Each case runs in a process of
its own, its BLAS threads set before NumPy starts, which trains two epochs and times the
second: the first also pays for memory the process has not touched yet. The cases take
turns, `--repeats` times, so that a ratio compares runs made side by side. Prints the
median, minimum and maximum of each case and writes them to runs/benchmark.json
(figures/benchmark.json with --update-report, the file report.md quotes).

Then, in a process of one BLAS thread, two experiments that say where the time goes:
- a profile of train's step at B = 1 (mnist_ffnn.py's 1-D arrays and the batched
  script's (1, 784)), 10, 100 and the whole set: the step written out as forward_pass,
  backpropagation and update_weights compute it (checked against them), each part
  timed; and the same step for a network of 4-4-4-4 neurons, whose arrays are too small
  to cost anything, so that its time is the fixed cost of the step's NumPy calls;
- one weight change dw1 = a0^T . e1 for one example, (784,) and (128,): np.outer, np.dot
  of a column and a row, and @ of the same column and row.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def one_epoch(batch_size):
    """Seconds of the second epoch at `batch_size` (0: mnist_ffnn.py, one example at a
    time), in this process, with the BLAS threads its environment gives."""
    import contextlib
    import io

    import numpy as np
    sys.path.insert(0, str(ROOT))
    import mnist_ffnn
    import mnist_ffnn_batched
    x_train, y_train, x_test, y_test = mnist_ffnn.load_mnist()
    x, y = mnist_ffnn.preprocess_inputs(x_train), mnist_ffnn.preprocess_outputs(y_train)
    x_test, y_test = x[:1], y[:1]               # the evaluation is not what is timed
    weights = mnist_ffnn.init_weights(np.random.default_rng(0))
    with contextlib.redirect_stdout(io.StringIO()):           # the epoch's line
        if batch_size == 0:
            history = mnist_ffnn.train(x, y, x_test, y_test, weights, epochs=2, lr=0.001)
        else:
            history = mnist_ffnn_batched.train(x, y, x_test, y_test, weights, epochs=2,
                                               lr=0.001, batch_size=batch_size,
                                               rng=np.random.default_rng(0))
    return history[1]["seconds"]


def profile(batch_size, steps, sizes=(784, 128, 64, 10)):
    """Microseconds per step of each part of train's step at `batch_size` (0: one
    example as a 1-D array, as mnist_ffnn.train), averaged over `steps` steps of a
    network of layers `sizes` on random inputs; "step" is the whole step's time."""
    import numpy as np
    sys.path.insert(0, str(ROOT))
    import mnist_ffnn as ffnn
    rng = np.random.default_rng(0)
    n = max(60000, batch_size)
    x = rng.random((n, sizes[0]), np.float32)
    y = ffnn.preprocess_outputs(rng.integers(0, sizes[-1], n) % 10)[:, :sizes[-1]]
    weights = [ffnn.layer_weights(m, k, rng) for m, k in zip(sizes, sizes[1:])]
    check = [w.copy() for w in weights]
    w1, w2, w3 = weights
    order, lr, S, S_prime = rng.permutation(n), 1e-6, ffnn.sigmoid, ffnn.sigmoid_prime
    names = ("select the batch", "products a.w and e.w^T", "S, S', softmax, e3, (.)",
             "weight changes a^T.e", "update w -= lr dw")
    parts, clock, total = np.zeros(5), time.perf_counter, 0.0
    for k in range(steps):                        # the step of train, part by part
        t0 = clock()
        first = k * max(batch_size, 1) % n
        if batch_size == 0:                       # mnist_ffnn.py: one example
            batch = order[first]
        elif batch_size < n:                      # shuffled: a copy of the batch's rows
            batch = order[first:first + batch_size]
        else:                                     # one batch: train does not shuffle it
            batch = slice(None)
        a0, yb = x[batch], y[batch]
        t1 = clock()
        z1 = a0 @ w1
        t2 = clock()
        a1 = S(z1)
        t3 = clock()
        z2 = a1 @ w2
        t4 = clock()
        a2 = S(z2)
        t5 = clock()
        z3 = a2 @ w3
        t6 = clock()
        a3 = ffnn.softmax(z3)
        e3 = a3 - yb
        t7 = clock()
        e2 = e3 @ w3.T
        t8 = clock()
        e2 = e2 * S_prime(z2)
        t9 = clock()
        e1 = e2 @ w2.T
        t10 = clock()
        e1 = e1 * S_prime(z1)
        t11 = clock()
        if a0.ndim == 1:
            a0, a1, a2, e1, e2, e3 = (v[np.newaxis] for v in (a0, a1, a2, e1, e2, e3))
        deltas = [np.dot(a0.T, e1), np.dot(a1.T, e2), np.dot(a2.T, e3)]
        t12 = clock()
        for w, dw in zip(weights, deltas):
            w -= lr * dw
        t13 = clock()
        total += t13 - t0                         # the step, not the check below
        parts += (t1 - t0, (t2 - t1) + (t4 - t3) + (t6 - t5) + (t8 - t7) + (t10 - t9),
                  (t3 - t2) + (t5 - t4) + (t7 - t6) + (t9 - t8) + (t11 - t10),
                  t12 - t11, t13 - t12)
        if k == 0:                                # the same as the project's functions
            activations, zs = ffnn.forward_pass(x[batch], check)
            expected = ffnn.backpropagation(activations, zs, y[batch], check)
            ffnn.update_weights(check, expected, lr)
            assert all(np.allclose(w, v, atol=1e-7) for w, v in zip(weights, check))
    row = {name: float(1e6 * part / steps) for name, part in zip(names, parts)}
    return {**row, "step": 1e6 * total / steps}


def outer_products(repeats=2000):
    """Microseconds of one dw1 = a0^T . e1 for one example, three ways: {name: us}."""
    import numpy as np
    rng = np.random.default_rng(0)
    a, e = rng.random(784, np.float32), rng.random(128, np.float32)
    column, row = a[:, None], e[None, :]
    ways = {"np.outer(a0, e1)": lambda: np.outer(a, e),
            "np.dot(column, row)": lambda: np.dot(column, row),
            "column @ row": lambda: column @ row}
    out = {}
    for name, way in ways.items():
        times = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(repeats):
                way()
            times.append((time.perf_counter() - start) / repeats)
        out[name] = 1e6 * min(times)
    return out


def experiments():
    """The profiles and the outer products, in this process (run with one thread)."""
    cases = [(0, 60000), (1, 60000), (10, 6000), (100, 600), (60000, 5)]
    rows = [{"batch_size": b, "network": "784-128-64-10", **profile(b, steps)}
            for b, steps in cases]
    rows += [{"batch_size": b, "network": "4-4-4-4", **profile(b, 60000, (4, 4, 4, 4))}
             for b in (0, 1)]
    return {"profile": rows, "outer_products": outer_products()}


def timed(batch_size, threads, busy=False):
    """Seconds of one epoch, run in a new process with `threads` BLAS threads; with
    `busy`, while another process keeps one core busy, as on a shared machine."""
    other = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        result = subprocess.run([sys.executable, __file__, "--one", str(batch_size)],
                                capture_output=True, text=True, check=True,
                                env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    finally:
        if other is not None:
            other.kill()
            other.wait()
    return float(result.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timings per case (5)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", metavar="B",
                        default=[1, 10, 100, 1000, 60000],
                        help="batch sizes (default: 1 10 100 1000 60000)")
    parser.add_argument("--update-report", action="store_true",
                        help="write figures/benchmark.json instead of runs/benchmark.json")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)   # a child process
    parser.add_argument("--experiments", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(one_epoch(args.one))
        return
    if args.experiments:
        print(json.dumps(experiments()))
        return
    cases = ([(0, 1, False)] + [(b, t, False) for b in args.batch_sizes for t in (1, 2)]
             + [(10, t, True) for t in (1, 2)])                  # and on a busy machine
    seconds = {case: [] for case in cases}
    start = time.perf_counter()
    for repeat in range(args.repeats):                        # the cases take turns
        for case in cases:
            seconds[case].append(timed(*case))
        print(f"repeat {repeat + 1}/{args.repeats} done", flush=True)
    import numpy as np
    rows = [{"batch_size": b, "threads": t, "busy": busy, "median": float(np.median(s)),
             "min": min(s), "max": max(s), "runs": s} for (b, t, busy), s in seconds.items()]
    print(f"\nOne epoch of 60000 examples, median (min-max) of {args.repeats}, seconds:")
    for row in rows:
        name = "mnist_ffnn.py" if row["batch_size"] == 0 else f"B = {row['batch_size']}"
        print(f"  {name:<14} {row['threads']} thread{'s' if row['threads'] > 1 else ' '}"
              f"  {row['median']:6.2f}  ({row['min']:.2f}-{row['max']:.2f})"
              f"{'  one core busy' if row['busy'] else ''}")
    found = json.loads(subprocess.run([sys.executable, __file__, "--experiments"],
                                      capture_output=True, text=True, check=True,
                                      env={**os.environ, "OMP_NUM_THREADS": "1"}).stdout)
    print("\nMicroseconds per step, by part:")
    for row in found["profile"]:
        parts = "  ".join(f"{value:8.1f}" for key, value in row.items()
                          if key not in ("batch_size", "network"))
        print(f"  B = {row['batch_size']:<6} {row['network']:<14} {parts}")
    print("One dw1 for one example, microseconds:", found["outer_products"])
    table = {"machine": f"{platform.machine()}, {os.cpu_count()} cores",
             "python": platform.python_version(), "numpy": np.__version__,
             "repeats": args.repeats, "minutes": (time.perf_counter() - start) / 60,
             "rows": rows, **found}
    out = ROOT / ("figures" if args.update_report else "runs") / "benchmark.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(table, indent=1) + "\n")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
