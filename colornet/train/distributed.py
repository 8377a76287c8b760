"""Training on several processes and machines: Keras's distribution API on JAX.

Every process runs the same `colornet train ... --distribution data_parallel` command on
KERAS_BACKEND=jax and says where it stands in the job:

    --coordinator HOST:PORT   or COLORNET_COORDINATOR    process 0's address, reachable by all
    --num-processes N         or COLORNET_NUM_PROCESSES  how many processes the job has
    --process-id I            or COLORNET_PROCESS_ID     this process, 0 to N - 1

Under SLURM (one task per machine) these are SLURM_NTASKS, SLURM_PROCID and the first host of
SLURM_JOB_NODELIST with a free port: `COLORNET_COORDINATOR=$(scontrol show hostnames
"$SLURM_JOB_NODELIST" | head -n 1):12355`, `COLORNET_NUM_PROCESSES=$SLURM_NTASKS`,
`COLORNET_PROCESS_ID=$SLURM_PROCID` (docs/training.md, "Training on several machines").

`initialize` joins the job before any JAX work; all devices of all processes then form one
data-parallel mesh (`data_parallel`). Each process streams only its own share of every global
batch (`data.image_dataset(shard=...)`), so no process decodes another's photos. Process 0 (the
chief) writes the run folder's files; saving a model is collective under JAX, so the others
save too, to a scratch file they throw away.
"""

import contextlib
import dataclasses
import os
import socket
import tempfile
import time

import numpy as np

from colornet import _util
from colornet.errors import ColornetError

ENVIRONMENT = {
    "coordinator": "COLORNET_COORDINATOR",
    "num_processes": "COLORNET_NUM_PROCESSES",
    "process_id": "COLORNET_PROCESS_ID",
}
# Seconds to reach the coordinator and for every process to join, and after which a process
# that stopped answering is declared dead. Room for slow starts of large jobs; the tests
# shorten it through the environment.
TIMEOUT_ENVIRONMENT = "COLORNET_DISTRIBUTED_TIMEOUT"
DEFAULT_TIMEOUT = 300


class DistributedError(ColornetError, RuntimeError):
    """The processes of a job cannot work together: the message says which and why."""


@dataclasses.dataclass(frozen=True)
class Cluster:
    """Where this process stands in a job of `num_processes` processes."""

    coordinator: str  # "HOST:PORT" of process 0, where it listens and every process connects
    num_processes: int
    process_id: int

    def __post_init__(self):
        host, _, port = self.coordinator.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"coordinator must be HOST:PORT, got {self.coordinator!r}")
        if self.num_processes < 1:
            raise ValueError(f"num_processes must be at least 1, got {self.num_processes}")
        if not 0 <= self.process_id < self.num_processes:
            raise ValueError(
                f"process id {self.process_id} is outside 0 to {self.num_processes - 1} "
                f"for {self.num_processes} processes"
            )

    @property
    def host(self):
        return self.coordinator.rpartition(":")[0].strip("[]")

    @property
    def port(self):
        return int(self.coordinator.rpartition(":")[2])


def cluster_from(coordinator=None, num_processes=None, process_id=None, environ=None):
    """The `Cluster` the given values (command-line flags) or the environment describe.

    Each value not given is read from COLORNET_COORDINATOR, COLORNET_NUM_PROCESSES and
    COLORNET_PROCESS_ID. Returns None when none of the three is set anywhere (one process,
    nothing to join); raises ValueError when only some are.
    """
    environ = os.environ if environ is None else environ
    values = {"coordinator": coordinator, "num_processes": num_processes, "process_id": process_id}
    for name, variable in ENVIRONMENT.items():
        if values[name] is None and environ.get(variable, "") != "":
            values[name] = environ[variable]
    if all(value is None for value in values.values()):
        return None
    missing = [name for name, value in values.items() if value is None]
    if missing:
        flags = ", ".join(
            f"--{name.replace('_', '-')} (or {ENVIRONMENT[name]})" for name in missing
        )
        raise ValueError(f"a distributed run also needs {flags}")
    for name in ("num_processes", "process_id"):
        try:
            values[name] = int(values[name])
        except ValueError:
            raise ValueError(f"{name} must be an integer, got {values[name]!r}") from None
    return Cluster(str(values["coordinator"]), values["num_processes"], values["process_id"])


def timeout_seconds(environ=None):
    environ = os.environ if environ is None else environ
    value = environ.get(TIMEOUT_ENVIRONMENT, "")
    if value == "":
        return DEFAULT_TIMEOUT
    try:
        seconds = int(value)
    except ValueError:
        seconds = 0
    if seconds < 1:
        raise ValueError(
            f"{TIMEOUT_ENVIRONMENT} must be a positive number of seconds, got {value!r}"
        )
    return seconds


def initialize(cluster, timeout=None):
    """Join the job: call before any JAX computation, on every process, with KERAS_BACKEND=jax.

    Process 0 starts the coordination service at `cluster.coordinator`; every process connects
    to it. Fails with `DistributedError` within about `timeout` seconds (default
    COLORNET_DISTRIBUTED_TIMEOUT, else 300) when the coordinator cannot be reached, its port is
    taken, or not every process joins (a wrong process id or count), instead of waiting forever.
    """
    import keras

    if keras.backend.backend() != "jax":
        raise ValueError(
            "training on several processes uses Keras's distribution API on JAX: set "
            f"KERAS_BACKEND=jax (it is {keras.backend.backend()})"
        )
    import jax

    timeout = timeout_seconds() if timeout is None else timeout
    where = f"process {cluster.process_id} of {cluster.num_processes}"
    if cluster.process_id == 0:
        _check_port_is_free(cluster)
    else:
        _wait_for_coordinator(cluster, timeout, where)
    try:
        # keras.distribution.initialize(job_addresses, num_processes, process_id) makes this
        # same call, but without a timeout: a process that never joins would hang the others.
        jax.distributed.initialize(
            coordinator_address=cluster.coordinator,
            num_processes=cluster.num_processes,
            process_id=cluster.process_id,
            initialization_timeout=timeout,
            heartbeat_timeout_seconds=timeout,
            shutdown_timeout_seconds=timeout,
        )
    except Exception as error:  # XLA's errors are RuntimeErrors or bare XlaRuntimeErrors
        raise DistributedError(
            f"{where} could not join the job at {cluster.coordinator} within {timeout} s "
            f"(are all {cluster.num_processes} processes started, each with its own process id "
            f"from 0 to {cluster.num_processes - 1}?): {_util.first_line(error)}"
        ) from None


def _check_port_is_free(cluster):
    with socket.socket(socket.AF_INET6 if ":" in cluster.host else socket.AF_INET) as probe:
        # As the coordinator's own server does: connections of a killed run that linger in
        # TIME_WAIT must not stop a restart on the same port; only a live listener does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("", cluster.port))
        except OSError as error:
            raise DistributedError(
                f"process 0 cannot listen on port {cluster.port} for the coordinator "
                f"{cluster.coordinator}: {error.strerror}; is another job (or a second "
                "process 0) using it?"
            ) from None


def _wait_for_coordinator(cluster, timeout, where):
    """Probe process 0's port until it answers; it may well start after us."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((cluster.host, cluster.port), timeout=5):
                return
        except OSError as error:
            if time.monotonic() >= deadline:
                raise DistributedError(
                    f"{where} cannot reach the coordinator {cluster.coordinator} within "
                    f"{timeout} s ({error.strerror or error}): is process 0 started, and is "
                    "that address right and reachable from here?"
                ) from None
            time.sleep(0.5)


# ---------------------------------------------------------------------------------------------
# The mesh and the processes


def process_index():
    """This process's id in the job; 0 when there is no job or the backend is not JAX."""
    import keras

    if keras.backend.backend() != "jax":
        return 0
    import jax

    return jax.process_index()


def process_count():
    import keras

    if keras.backend.backend() != "jax":
        return 1
    import jax

    return jax.process_count()


def is_chief():
    """Whether this process writes the run folder's files (process 0)."""
    return process_index() == 0


def data_parallel(instead=""):
    """Set and return Keras's DataParallel over every device of every process.

    Each process feeds its own share of every global batch (auto_shard_dataset=False): Keras's
    own sharding would split at the end of the pipeline, after every process had decoded
    every photo. `instead`: what the caller offers on other backends, ending the error.
    """
    import keras

    if keras.backend.backend() != "jax":
        raise ValueError(
            "distribution='data_parallel' uses Keras's distribution API on JAX: set "
            f"KERAS_BACKEND=jax (it is {keras.backend.backend()}){instead}"
        )
    distribution = keras.distribution.DataParallel(
        devices=keras.distribution.list_devices(), auto_shard_dataset=False
    )
    keras.distribution.set_distribution(distribution)
    return distribution


@contextlib.contextmanager
def local_variables():
    """Variables created inside belong to this process alone, not to the job's mesh.

    For state that differs between processes by design, such as the seed of each process's
    augmentation: under DataParallel every variable is replicated, and must be equal.
    """
    import keras

    distribution = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(distribution)


def device_counts():
    """(devices of this process, devices of the whole job)."""
    import jax

    return jax.local_device_count(), jax.device_count()


def barrier(name):
    """Wait until every process gets here (nothing to do in a single process)."""
    if process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def gather(array):
    """Every process's `array` (same shape and dtype everywhere), stacked: (processes, ...)."""
    array = np.asarray(array)
    if process_count() == 1:
        return array[None]
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(array, tiled=False))


@contextlib.contextmanager
def chief_output(path):
    """Yield where this process should save a file that every process must save.

    Process 0 gets a temporary name beside `path`, renamed into place at the end (see
    `_util.atomic_output`); any other process a scratch file that is removed at the end.
    Under JAX, saving a model gathers its variables from every process, so every process
    has to take part even though only one copy is kept.
    """
    if is_chief():
        with _util.atomic_output(path) as temporary:
            yield temporary
        return
    with tempfile.TemporaryDirectory(prefix="colornet-scratch-") as scratch:
        yield os.path.join(scratch, os.path.basename(path))
