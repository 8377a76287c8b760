"""Mixed precision: which precisions there are, what "auto" means here, and who may use what.

Every colornet model keeps its weights, optimizer and loss in float32. "bfloat16" and "float16"
are Keras's mixed-precision policies: each layer computes in 16 bits from float32 weights, and
the layers that produce a model's output stay float32: a backbone's softmax, and a colour
network's last convolution and every layer after it (found by the network's structure, not
by names: `colornet.nets.models`), and the model's described output
(`colornet.nets.contract.ColourOutput`). How far colours and gradients move, and what it gains, is
measured in tests/test_precision.py and docs/performance.md, "Performance".

    precision name → Keras dtype policy (`POLICIES`)
    "auto"         → the fastest precision this machine computes natively (`native`)

The rules in one place:
- training may use "auto", "float32" or "bfloat16" (`TRAINING_CHOICES`): float16 training
  stalled at the mean colour in our tests, so "auto" resolving to float16 (a Volta or Turing
  GPU) trains in float32 (`for_training`);
- Version 1's 32,202-parameter net has too little arithmetic to gain, so "auto" keeps it
  float32 (`for_model`).

This module imports Keras only to ask the backend about its devices, so the command line can
read the choices without starting TensorFlow.
"""

import functools
import os

from colornet.errors import SettingError

POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
CHOICES = ("auto", *POLICIES)
TRAINING_CHOICES = ("auto", "float32", "bfloat16")


def validate(precision, choices=CHOICES, name="precision"):
    """`precision` if it is one of `choices`; ValueError naming them otherwise."""
    if precision not in choices:
        raise SettingError(f"{name} must be one of {', '.join(choices)}, got {precision!r}")
    return precision


def resolve(precision):
    """"auto" → `native()`; "float32", "bfloat16" and "float16" are returned as they are."""
    validate(precision)
    return native() if precision == "auto" else precision


def policy(precision):
    """The Keras dtype policy of a precision: "float32", "mixed_bfloat16" or "mixed_float16"."""
    return POLICIES[resolve(precision)]


def for_training(precision):
    """The precision a colour network trains in: `resolve`, but float16 becomes float32."""
    validate(precision, TRAINING_CHOICES, "the training precision")
    resolved = resolve(precision)
    return "float32" if resolved == "float16" else resolved


# Per variant (`colornet.nets.contract.VARIANTS`): what "auto" means for Version 1, and the
# pretrained U-Net, which keeps the float32 it is built in.
_AUTO_FOR_VARIANT = {"version_1": "float32"}
_KEEPS_ITS_PRECISION = ("lite_unet",)


def for_model(description, precision):
    """The precision a loaded model runs in, from its description
    (`colornet.nets.contract.describe`), or None to keep what its file says."""
    if precision is None or description.variant in _KEEPS_ITS_PRECISION:
        return None
    if precision == "auto" and description.variant in _AUTO_FOR_VARIANT:
        return _AUTO_FOR_VARIANT[description.variant]
    return resolve(precision)


@functools.cache
def native():
    """The fastest precision Keras's backend computes natively here: "bfloat16", "float16"
    or "float32" (where 16-bit arithmetic would be emulated, and slower).

    GPUs: bfloat16 from compute capability 8.0 (Ampere) on, float16 on 7.x (Volta, Turing).
    CPUs: only TensorFlow's oneDNN kernels have been measured to gain, so bfloat16 on
    TensorFlow with AVX512_BF16 or AMX-BF16 (unless ONEDNN_MAX_CPU_ISA caps oneDNN below
    them), else float32.
    """
    import keras

    backend = keras.backend.backend()
    capability = None
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            capability = tuple(details.get("compute_capability", (0, 0)))
        elif cpu_flags() & {"avx512_bf16", "amx_bf16"} and _onednn_may_use_bfloat16():
            return "bfloat16"
    elif backend == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform == "gpu":
            capability = tuple(int(part) for part in str(device.compute_capability).split("."))
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            capability = torch.cuda.get_device_capability()
    return "float32" if capability is None else gpu_precision(capability)


def gpu_precision(capability):
    """The fastest native precision of an NVIDIA GPU of this compute capability."""
    if capability >= (8, 0):  # Ampere, Ada, Hopper, Blackwell: bfloat16 tensor cores
        return "bfloat16"
    return "float16" if capability >= (7, 0) else "float32"  # Volta, Turing: float16 only


# oneDNN's instruction-set levels below AVX512_CORE_BF16, its first with bfloat16 arithmetic.
_ONEDNN_LEVELS_WITHOUT_BFLOAT16 = frozenset(
    {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"}
)


def _onednn_may_use_bfloat16():
    """False when ONEDNN_MAX_CPU_ISA (or its old name DNNL_MAX_CPU_ISA) caps TensorFlow's
    oneDNN below bfloat16: it then computes as on a CPU without it, and 16 bits are slower."""
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "ALL"
    return cap.strip().upper() not in _ONEDNN_LEVELS_WITHOUT_BFLOAT16


def cpu_flags():
    """The CPU's feature flags from /proc/cpuinfo (Linux); empty elsewhere."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()
