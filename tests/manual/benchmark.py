"""Speed of both scripts on the shipped MNIST: one training epoch, timed (not a test:
run it by hand, on a quiet machine).

    python tests/manual/benchmark.py                     # about 11 minutes on 2 cores
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
    args = parser.parse_args()
    if args.one is not None:
        print(one_epoch(args.one))
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
    table = {"machine": f"{platform.machine()}, {os.cpu_count()} cores",
             "python": platform.python_version(), "numpy": np.__version__,
             "repeats": args.repeats, "minutes": (time.perf_counter() - start) / 60,
             "rows": rows}
    out = ROOT / ("figures" if args.update_report else "runs") / "benchmark.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(table, indent=1) + "\n")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
