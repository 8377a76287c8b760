"""Start-up: `colornet --help` against a bare `import tensorflow`, side by side.

The command line imports no TensorFlow until a command runs, so asking for help costs a
fraction of TensorFlow's import. Each round starts both in fresh interpreters, one after the
other, so they see the same load on a shared machine; prints the medians and their ratio as
JSON. Goal: the help in under a quarter of the import.

    python benchmarks/startup.py [--rounds 5]
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "colornet_help": [sys.executable, "-m", "colornet.cli", "--help"],
    "colornet_train_help": [sys.executable, "-m", "colornet.cli", "train", "--help"],
    "import_tensorflow": [sys.executable, "-c", "import tensorflow"],
}


def seconds_of(command):
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    return time.perf_counter() - started


def run(args):
    """Time every command `args.rounds` times, interleaved; returns the figures as a dict."""
    for command in COMMANDS.values():  # warm the file cache, so no round pays for the disk
        seconds_of(command)
    times = {name: [] for name in COMMANDS}
    for _ in range(args.rounds):
        for name, command in COMMANDS.items():
            times[name].append(seconds_of(command))
    medians = {name: statistics.median(values) for name, values in times.items()}
    figures = {f"{name}_seconds": value for name, value in medians.items()}
    figures["help_over_import_tensorflow"] = (
        medians["colornet_help"] / medians["import_tensorflow"]
    )
    figures["train_help_over_import_tensorflow"] = (
        medians["colornet_train_help"] / medians["import_tensorflow"]
    )
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    print(json.dumps(run(parser.parse_args(argv)), indent=2))


if __name__ == "__main__":
    main()
