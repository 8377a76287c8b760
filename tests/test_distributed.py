"""Training as one job of several processes on 127.0.0.1 (distribution='data_parallel', JAX).

Every process is a fresh Python on KERAS_BACKEND=jax with one CPU device, started the way the
docs/training.md, "Training on several machines", starts them; ports come from the operating system,
every wait is bounded, and every process is stopped at the end, passed or failed.
"""

import contextlib
import csv
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

from colornet.train import distributed
from colornet.train.runs import RunFolder
from tests.factories import write_photos

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
WORKER = REPO_ROOT / "tests" / "_distributed_worker.py"
# Room for a busy 2-core machine: two processes compile and train there side by side.
RUN_TIMEOUT = 900
# Joining, and noticing a dead process, gives up after this many seconds (see distributed).
JOIN_TIMEOUT = 120
# The settings of every run here: tiny photos, a small random backbone embedded once.
CONFIG = dict(
    image_size=32, batch_size=8, backbone="mobilenet_v3_small", backbone_weights=None,
    backbone_precision="float32", fusion_precision="float32", cache_embeddings=True,
    augment=False, validation_fraction=0.25, seed=0, distribution="data_parallel",
)
CLI_OPTIONS = [
    "--image-size", "32", "--batch-size", "8", "--backbone", "mobilenet_v3_small",
    "--backbone-weights", "none", "--backbone-precision", "float32", "--fusion-precision",
    "float32", "--cache-embeddings", "--no-augment", "--validation-fraction", "0.25",
    "--distribution", "data_parallel", "--quiet",
]


def free_port():
    """A port nothing listens on at 127.0.0.1 (the OS picks it, so tests never collide)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def job_environment(process_id, num_processes, port):
    return {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "COLORNET_COORDINATOR": f"127.0.0.1:{port}",
        "COLORNET_NUM_PROCESSES": str(num_processes),
        "COLORNET_PROCESS_ID": str(process_id),
        "COLORNET_DISTRIBUTED_TIMEOUT": str(JOIN_TIMEOUT),
    }


@contextlib.contextmanager
def processes():
    """Start processes with `start(arguments, environment)`; all are killed at the end."""
    started = []

    def start(arguments, environment):
        process = subprocess.Popen(
            arguments, env=environment, cwd=REPO_ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # its own session: it and its children
            process.communicate(timeout=60)


def finish(process, timeout=RUN_TIMEOUT):
    """(exit status, stdout, stderr) of a process, waiting at most `timeout` seconds."""
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout, stderr


def launch_job(start, tmp_path, name, spec, num_processes):
    """Start the worker as a job of `num_processes` processes; returns the processes."""
    spec_path = tmp_path / f"{name}.json"
    spec_path.write_text(json.dumps(spec))
    port = free_port()
    environments = [job_environment(index, num_processes, port) for index in range(num_processes)]
    if num_processes == 1:  # one process, no job to join: data_parallel over its devices
        environments = [{**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}]
    return [
        start([sys.executable, str(WORKER), str(spec_path)], environment)
        for environment in environments
    ]


def train_command(data_dir, run_dir, epochs):
    return [sys.executable, "-m", "colornet.cli", "train", str(data_dir), "--out", str(run_dir),
            "--epochs", str(epochs), *CLI_OPTIONS]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return write_photos(tmp_path_factory.mktemp("photos") / "train", 40, seed=0)


@pytest.mark.slow
def test_two_processes_train_one_run_with_the_weights_of_one_process(photos, tmp_path):
    """Same global batch of 8: 4 photos on each of two processes, or 8 on one."""
    config = {**CONFIG, "data_dir": str(photos), "epochs": 2}
    with processes() as start:  # the job and the one-process reference, side by side
        launched = [
            launch_job(start, tmp_path, name, {
                "config": config, "run": str(tmp_path / name),
                "weights": str(tmp_path / f"{name}-{{process}}.npy"),
            }, num_processes=count)
            for name, count in (("two", 2), ("one", 1))
        ]
        two, one = ([finish(worker) for worker in workers] for workers in launched)
        for status, _, stderr in two + one:
            assert status == 0, stderr[-3000:]

    histories = [json.loads(stdout.splitlines()[-1]) for _, stdout, _ in two]
    assert histories[0]["loss"] == histories[1]["loss"]  # one loss: of the global batch
    assert histories[0]["loss"][-1] < histories[0]["loss"][0]
    first, second = (np.load(tmp_path / f"two-{index}.npy") for index in (0, 1))
    np.testing.assert_array_equal(first, second)  # replicas of one model, bit for bit
    # One process sums the batch in another order: float32 rounding, nothing more.
    np.testing.assert_allclose(first, np.load(tmp_path / "one-0.npy"), rtol=0, atol=1e-5)

    run = tmp_path / "two"
    assert RunFolder(run).completed_epochs() == 2
    logged = list(csv.DictReader((run / "log.csv").open()))
    # 7 validation photos, global batches of 8: validated whole, not dropped as a remainder.
    assert len(logged) == 2 and all(np.isfinite(float(row["val_loss"])) for row in logged)
    assert histories[0]["val_loss"] == histories[1]["val_loss"]
    assert any((run / "tensorboard").rglob("events.out.tfevents.*"))
    assert (run / "best.keras").is_file() and not list(run.rglob(".*.tmp*"))


@pytest.mark.slow
def test_a_process_killed_mid_epoch_and_both_restarted_resume_the_run(photos, tmp_path):
    run = tmp_path / "run"
    config = {**CONFIG, "data_dir": str(photos), "epochs": 3}
    with processes() as start:
        spec = {"config": config, "run": str(run), "kill_at": [1, 1], "kill_process": 1}
        spec_path = tmp_path / "spec.json"
        spec_path.write_text(json.dumps(spec))
        port = free_port()
        workers = [
            start([sys.executable, str(WORKER), str(spec_path)], job_environment(index, 2, port))
            for index in (0, 1)
        ]
        status, _, stderr = finish(workers[1])
        assert status == -signal.SIGKILL, stderr[-3000:]
        os.killpg(workers[0].pid, signal.SIGKILL)  # the survivor would wait for its peer
        finish(workers[0], timeout=60)
        assert RunFolder(run).completed_epochs() == 1

        # Both started again with the same command (docs/training.md's), on a fresh port.
        port = free_port()
        restarted = [
            start(train_command(photos, run, 3), job_environment(index, 2, port))
            for index in (0, 1)
        ]
        outputs = [finish(process) for process in restarted]
        for status, _, stderr in outputs:
            assert status == 0, stderr[-3000:]
    logged = list(csv.DictReader((run / "log.csv").open()))
    assert [row["epoch"] for row in logged] == ["0", "1", "2"]  # epoch 2 (index 1) again
    # Process 0 names the best epoch from the whole log; the others, which might read it
    # before its last row, say nothing.
    best = min(logged, key=lambda row: float(row["val_loss"]))
    assert f"(epoch {int(best['epoch']) + 1}, validation loss" in outputs[0][1]
    assert "best model" not in outputs[1][1]
    assert RunFolder(run).completed_epochs() == 3


@pytest.mark.slow
def test_a_run_resumed_on_1_then_2_then_1_processes_continues_from_each_state(photos, tmp_path):
    """One state file, whatever the number of processes that wrote it: each session starts
    from the weights the one before ended with, never from an older checkpoint."""
    run = tmp_path / "run"
    phases = [(1, 1), (2, 2), (1, 3)]  # (processes, epochs in all)
    with processes() as start:
        for phase, (count, epochs) in enumerate(phases):
            spec = {
                "config": {**CONFIG, "data_dir": str(photos), "epochs": epochs},
                "run": str(run),
                "weights": str(tmp_path / f"end-{phase}-{{process}}.npy"),
                "start_weights": str(tmp_path / f"start-{phase}-{{process}}.npy"),
            }
            workers = launch_job(start, tmp_path, f"phase-{phase}", spec, num_processes=count)
            for status, _, stderr in [finish(worker) for worker in workers]:
                assert status == 0, stderr[-3000:]
            header = json.loads(str(np.load(RunFolder(run).checkpoint_path)["header"]))
            assert (header["epochs"], header["processes"]) == (epochs, count)
            if phase:
                ended = np.load(tmp_path / f"end-{phase - 1}-0.npy")
                for process in range(count):  # every process resumed from the last state
                    started = np.load(tmp_path / f"start-{phase}-{process}.npy")
                    np.testing.assert_array_equal(started, ended)
    assert sorted(path.name for path in (run / "checkpoints").iterdir()) == ["state.npz"]
    logged = list(csv.DictReader((run / "log.csv").open()))
    assert [row["epoch"] for row in logged] == ["0", "1", "2"]
    losses = [float(row["loss"]) for row in logged]
    assert losses[2] < losses[0], losses  # the curve goes on falling: no restart


@pytest.mark.slow
def test_processes_with_other_settings_refuse_to_start_naming_the_difference(photos, tmp_path):
    port = free_port()
    with processes() as start:
        commands = [train_command(photos, tmp_path / "run", 2) for _ in range(2)]
        commands[1] += ["--learning-rate", "0.01"]
        workers = [
            start(command, job_environment(index, 2, port))
            for index, command in enumerate(commands)
        ]
        results = [finish(worker) for worker in workers]
    for status, _, stderr in results:
        assert status == 1
        last = stderr.strip().splitlines()[-1]
        assert last.startswith("colornet train: error: the processes disagree on learning_rate")
        assert "process 0: 0.001, process 1: 0.01" in last
    assert not (tmp_path / "run").exists()  # refused before anything was written


@pytest.mark.slow
def test_an_unreachable_coordinator_fails_in_one_line_within_the_timeout(photos, tmp_path):
    environment = {**job_environment(1, 2, free_port()), "COLORNET_DISTRIBUTED_TIMEOUT": "3"}
    completed = subprocess.run(
        train_command(photos, tmp_path / "run", 1), env=environment, cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 1
    lines = completed.stderr.strip().splitlines()
    assert lines[-1].startswith(
        "colornet train: error: process 1 of 2 cannot reach the coordinator 127.0.0.1:"
    ), completed.stderr[-2000:]
    assert "within 3 s" in lines[-1]


@pytest.mark.parametrize(
    "values, message",
    [
        ({"coordinator": "here:1", "num_processes": 2, "process_id": 2},
         "process id 2 is outside 0 to 1 for 2 processes"),
        ({"coordinator": "nowhere", "num_processes": 2, "process_id": 0}, "HOST:PORT"),
        ({"coordinator": "here:1", "num_processes": 2}, "--process-id"),
        ({"num_processes": "two", "coordinator": "here:1", "process_id": 0}, "integer"),
    ],
)
def test_a_wrong_process_id_or_address_is_refused_before_joining(values, message):
    with pytest.raises(ValueError, match=message):
        distributed.cluster_from(**values, environ={})


def test_the_job_is_read_from_the_environment_when_flags_are_left_out():
    environ = {
        "COLORNET_COORDINATOR": "node01:12355", "COLORNET_NUM_PROCESSES": "4",
        "COLORNET_PROCESS_ID": "3",
    }
    assert distributed.cluster_from(environ=environ) == distributed.Cluster("node01:12355", 4, 3)
    assert distributed.cluster_from(process_id=0, environ=environ).process_id == 0  # flag wins
    assert distributed.cluster_from(environ={}) is None  # no job: one process
