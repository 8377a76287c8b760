"""What every benchmark shares: quiet TensorFlow, the sample photos, timing, and the JSON.

Each script imports this module before Keras (`import common`, first), which keeps TensorFlow's
start-up chatter off the report and puts this folder on sys.path, so `run_all.py` imports the
scripts as modules whichever directory it is started from.

The figures the scripts measure are in docs/performance.md, "Performance", generated from
`benchmarks/figures.json`; nothing here or in the scripts repeats them.
"""

import collections
import contextlib
import json
import os
import pathlib
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

DATA_DIR = HERE.parent / "data"
PORTRAIT = DATA_DIR / "portrait" / "astronaut.jpg"  # Version 1's photo
COFFEE = DATA_DIR / "train" / "coffee.jpg"  # a real photo to blow up to 12 megapixels


# ---------------------------------------------------------------------------------------------
# The sample photos


def photo_paths(*folders):
    """The sample JPEGs: those of data/<folder> for each folder given, each folder sorted, in
    the order given; with no folder, every JPEG under data/, sorted by path."""
    if not folders:
        return sorted(DATA_DIR.rglob("*.jpg"))
    return [path for folder in folders for path in sorted((DATA_DIR / folder).glob("*.jpg"))]


# ---------------------------------------------------------------------------------------------
# Timing


def median_seconds(function, repeats, warmup=1):
    """(median seconds of `repeats` timed calls of function(), the last call's result), after
    `warmup` untimed calls (which trace, compile and fill caches)."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


@contextlib.contextmanager
def timed(seconds, piece):
    """Add the seconds the block takes to seconds[piece] (a dict of floats)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds[piece] = seconds.get(piece, 0.0) + time.perf_counter() - started


class SideBySide:
    """Seconds of several pipelines, measured in alternation: one round runs each once, so on a
    shared machine all see the same load and their ratio is fair even when the load changes.
    The first `warmup` rounds (tracing, compiling) are kept apart from the measured ones.
    """

    def __init__(self, warmup=0):
        self.warmup = warmup
        self.seconds = collections.defaultdict(list)  # {name: [seconds of each round]}

    def time(self, name, function):
        """Run function(), add its seconds to `name`'s rounds; returns its result."""
        started = time.perf_counter()
        result = function()
        self.add(name, time.perf_counter() - started)
        return result

    def add(self, name, seconds):
        """Record seconds measured elsewhere (e.g. in a Keras callback) as `name`'s next round."""
        self.seconds[name].append(seconds)

    def first(self, name):
        return self.seconds[name][0]

    def measured(self, name):
        """`name`'s seconds after the warm-up rounds."""
        return self.seconds[name][self.warmup :]

    def median(self, name):
        return statistics.median(self.measured(name))

    def total(self, name):
        return sum(self.measured(name))

    def paired_ratios(self, numerator, denominator):
        """numerator's seconds over denominator's, round by round (measured rounds only)."""
        return [
            theirs / ours
            for theirs, ours in zip(self.measured(numerator), self.measured(denominator))
        ]


def listed(seconds):
    """"1.23 1.30 1.25": seconds to two decimals, for a report line."""
    return " ".join(f"{value:.2f}" for value in seconds)


# ---------------------------------------------------------------------------------------------
# The machine and the JSON


def machine_description():
    """"AMD EPYC, 2 CPUs, tensorflow": the CPU's model name (Linux), its count, the backend."""
    import keras

    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            name = next(
                line.split(":", 1)[1].strip() for line in cpuinfo
                if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    return f"{name}, {os.cpu_count()} CPUs, {keras.backend.backend()}"


def rounded(value):
    """Floats to 4 significant digits, for reading; dicts and lists rounded throughout."""
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


def print_json(figures, out=None):
    """Print the figures as one JSON object (floats rounded) on standard output, and write the
    same text to `out` (atomically) when it is given."""
    from colornet import _util

    text = json.dumps(rounded(figures), indent=2)
    print(text)
    if out:
        _util.write_bytes_atomically(out, lambda file: file.write((text + "\n").encode()))
