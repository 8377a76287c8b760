"""Training images per second of the shipped colorizer's network, on whatever machine runs it.

The network `colornet pretrain` trains (`lite_unet.trunk`: a U-Net decoder on a frozen
EfficientNet-Lite, Zhang et al.'s bins, Adam) takes `--steps` training steps on one batch of
`--crop-size`² crops held in memory, so the figure is the step's own rate, not the input
pipeline's: what a data set's epoch costs on the machine when decoding keeps up. The first
steps, which trace and compile, are timed apart. With `--distribution data_parallel` (JAX)
the batch, the global one, is split across every local device through Keras's distribution
API, as `colornet train --distribution data_parallel` does.

    python benchmarks/pretrain_throughput.py                                 # 256², batch 16
    KERAS_BACKEND=jax python benchmarks/pretrain_throughput.py --crop-size 256 --batch-size 64 \
        --precision bfloat16 --steps 50                                      # one GPU

Prints one JSON object: the machine, the settings, seconds per step and images per second.
"""

import argparse
import time

import common  # first: quiets TensorFlow before Keras loads it
import keras
import numpy as np

from colornet.nets import lite_unet, zhang
from colornet.nets import precision as precisions
from colornet.train import crops


def synthetic_batch(batch_size, crop_size, seed=0):
    """One batch as the recipe feeds it: L* (B, S, S, 1) and block-mean ab (B, S/4, S/4, 2),
    from smooth random colour photos (the speed does not depend on what they show)."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 1, (batch_size, crop_size // 16, crop_size // 16, 3))
    photos = np.repeat(np.repeat(coarse, 16, axis=1), 16, axis=2).astype(np.float32)
    return crops.lightness_and_ab_target(photos)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crop-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16, help="the global batch")
    parser.add_argument("--steps", type=int, default=5, help="timed steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed first steps")
    parser.add_argument("--precision", default="float32", choices=precisions.TRAINING_CHOICES)
    parser.add_argument("--distribution", default=None, choices=("data_parallel",))
    parser.add_argument("--variant", default=lite_unet.DEFAULT_VARIANT)
    parser.add_argument("--out", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()

    if args.distribution:
        devices = keras.distribution.list_devices()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    precision = precisions.for_training(args.precision)
    keras.config.set_dtype_policy(precisions.POLICIES[precision])
    model = lite_unet.trunk(args.variant, "imagenet", "classification", args.crop_size)
    model.compile(optimizer=keras.optimizers.Adam(3e-4), loss=zhang.ClassificationLoss(),
                  jit_compile="auto")
    lightness, target = synthetic_batch(args.batch_size, args.crop_size)

    started = time.perf_counter()
    for _ in range(args.warmup):
        model.train_on_batch(lightness, target)
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(args.steps):
        loss = model.train_on_batch(lightness, target)
    keras.ops.convert_to_numpy(loss)  # wait for the last step on asynchronous backends
    seconds = (time.perf_counter() - started) / args.steps
    common.print_json({
        "machine": common.machine_description(),
        "devices": [str(device) for device in keras.distribution.list_devices()],
        "date": time.strftime("%Y-%m-%d"),
        "settings": {"crop_size": args.crop_size, "batch_size": args.batch_size,
                     "precision": precision, "distribution": args.distribution,
                     "variant": args.variant, "steps": args.steps},
        "warmup_seconds": first_seconds,
        "seconds_per_step": seconds,
        "images_per_second": args.batch_size / seconds,
    }, args.out)


if __name__ == "__main__":
    main()
