"""Scaling of data-parallel training: two processes of one core each against one process of one.

Both jobs run `loop.train` with distribution="data_parallel" on KERAS_BACKEND=jax, on the
same generated photos with cached embeddings (the fusion colorizer alone trains, as with
`--cache-embeddings`), at the same batch per process: the job of two has twice the global
batch. Each process is pinned to its own core (sched_setaffinity, before anything starts a
thread, so that every thread of XLA and of tf.data shares that core), with TensorFlow's
thread pools at one thread. The two processes
talk through JAX's gloo collectives over 127.0.0.1, as machines would over their network.

Throughput counts the training steps after the first epoch (which compiles), each step timed
from its start until its loss is known, so checkpoints and compiling are left out:
images per second = global batch * steps / seconds of the slowest process. Prints one JSON
object. Issue goal: the two processes >= 1.8x the one.

    python benchmarks/distributed_scaling.py [--image-size 128] [--batch-size 8] [--steps 6]
"""

import argparse
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
GOAL = 1.8

WORKER = """
import json, os, sys, time
os.sched_setaffinity(0, {CORE})
from colornet.train import distributed
cluster = distributed.cluster_from()
if cluster is not None:
    distributed.initialize(cluster)
import keras, tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
from colornet.train import loop, settings

class StepTimes(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
    def on_train_batch_begin(self, batch, logs=None):
        self.started = time.perf_counter()
    def on_train_batch_end(self, batch, logs=None):
        float(logs["loss"])  # waits for the step to finish
        if self.epoch > 0:
            self.seconds.append(time.perf_counter() - self.started)

times = StepTimes()
loop.train(settings.TrainingConfig(**json.loads(sys.argv[1])), sys.argv[2], progress=False,
               callbacks=[times])
print(json.dumps({"process": distributed.process_index(), "seconds": times.seconds}))
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_job(processes, config, run_dir, cores):
    """Per-process lists of step seconds of one job of `processes` processes."""
    port = free_port()
    base = {
        **os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3",
        "OMP_NUM_THREADS": "1",
    }
    workers = []
    for index in range(processes):
        environment = dict(base)
        if processes > 1:
            environment.update({
                "COLORNET_COORDINATOR": f"127.0.0.1:{port}",
                "COLORNET_NUM_PROCESSES": str(processes), "COLORNET_PROCESS_ID": str(index),
            })
        workers.append(subprocess.Popen(
            [sys.executable, "-c", WORKER.replace("{CORE}", f"{{{cores[index]}}}"),
             json.dumps(config), str(run_dir)],
            env=environment, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True,
        ))
    try:
        results = [worker.communicate(timeout=1800) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
    for worker, (_, stderr) in zip(workers, results):
        if worker.returncode != 0:
            raise RuntimeError(f"a benchmark process failed: {stderr[-2000:]}")
    return [json.loads(stdout.strip().splitlines()[-1])["seconds"] for stdout, _ in results]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8, help="photos per process per step")
    parser.add_argument("--steps", type=int, default=6, help="timed steps per job")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO_ROOT))
    from tests.factories import write_photos  # the tests' content-coloured photos

    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        raise SystemExit("needs two cores")
    figures = {"image_size": args.image_size, "batch_per_process": args.batch_size,
               "cores": cores[:2], "goal": GOAL}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        for processes in (1, 2):
            global_batch = args.batch_size * processes
            # Two epochs: the first compiles, the second (steps photos) is timed.
            photos = write_photos(scratch / f"photos{processes}", global_batch * args.steps, seed=0)
            config = {
                "data_dir": str(photos), "epochs": 2, "image_size": args.image_size,
                "batch_size": global_batch, "backbone": "mobilenet_v3_small",
                "backbone_weights": None, "backbone_precision": "float32",
                "fusion_precision": "float32", "cache_embeddings": True, "augment": False,
                "validation_fraction": 0.0, "distribution": "data_parallel",
            }
            started = time.perf_counter()
            seconds = run_job(processes, config, scratch / f"run{processes}", cores[:processes])
            slowest = max(sum(times) for times in seconds)
            steps = len(seconds[0])
            figures[f"{processes}_process_images_per_second"] = round(
                global_batch * steps / slowest, 2
            )
            figures[f"{processes}_process_seconds_per_step"] = round(slowest / steps, 3)
            figures[f"{processes}_process_wall_seconds"] = round(time.perf_counter() - started, 1)
            print(f"{processes} process(es): {figures[f'{processes}_process_images_per_second']} "
                  "img/s", file=sys.stderr)
    figures["speed_up"] = round(
        figures["2_process_images_per_second"] / figures["1_process_images_per_second"], 2
    )
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
