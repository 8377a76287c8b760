"""Does the recipe's streaming input keep up with its training step? Crops a second, side by side.

On synthetic 800 × 600 JPEGs (`pretrain_memory.write_photos`), three rates of the shipped
network's recipe (`colornet pretrain`'s defaults: 16 crops of 128² a batch):

- the pipeline alone (`colornet.train.pipeline.crop_batches`: decode, crop, Lab, on every
  core), iterated without training;
- the training step alone: `fit` on one batch held in memory, repeated;
- `fit` fed by the pipeline, which shares the CPU with the step: on a CPU this is the figure a
  run gets; with a GPU, the step leaves the cores to the pipeline;
- `fit` fed as before streaming: the same crops cut in Keras's loop from photos held in memory
  (a `keras.utils.PyDataset` over `crops.batch_crops`).

The first `--warmup` batches or steps of each are left out (tracing, compiling, filling the
prefetch buffer).

    python benchmarks/streaming_pipeline.py [--photos 200] [--batches 20]

Prints one JSON object: the machine, the settings and each rate in crops a second.
"""

import argparse
import tempfile
import time

import common  # first: quiets TensorFlow before Keras loads it
import keras
import pretrain_memory
import tensorflow as tf

from colornet.nets import lite_unet, zhang
from colornet.train import crops, pipeline


def crops_per_second(function, batches, warmup, batch_size):
    for _ in range(warmup):
        function()
    started = time.perf_counter()
    for _ in range(batches):
        function()
    return batches * batch_size / (time.perf_counter() - started)


class StepTimes(keras.callbacks.Callback):
    """Seconds of each training batch, for `fit`'s rate without its first steps."""

    def __init__(self):
        super().__init__()
        self.ends = []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())


class InMemoryCrops(keras.utils.PyDataset):
    """The recipe's input before streaming: batches cut from photos held in memory."""

    def __init__(self, photos, args):
        super().__init__()
        self.photos, self.args = photos, args

    def __len__(self):
        return 1000

    def __getitem__(self, index):
        rgb = crops.batch_crops(self.photos.__getitem__, len(self.photos), self.args.batch_size,
                                self.args.crop_size, seed=0, epoch=0, index=index)
        return crops.lightness_and_ab_target(rgb)


def fit_rate(model, dataset, args):
    """Crops a second `fit` trains from `dataset`, its first `warmup` steps left out."""
    times = StepTimes()
    model.fit(dataset, steps_per_epoch=args.batches + args.warmup, epochs=1, verbose=0,
              shuffle=False, callbacks=[times])
    timed = times.ends[args.warmup - 1:]
    return (len(timed) - 1) * args.batch_size / (timed[-1] - timed[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--batches", type=int, default=20, help="timed batches of each")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--crop-size", type=int, default=128)
    parser.add_argument("--out", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="streaming-pipeline-") as folder:
        pretrain_memory.write_photos(folder, args.photos)
        source = pipeline.PhotoSource(pipeline.list_photos(f"{folder}/train", progress=False))

        def batches():
            return pipeline.crop_batches(source, args.crop_size, args.batch_size,
                                         steps_per_epoch=1000)

        stream = iter(batches())
        pipeline_rate = crops_per_second(lambda: next(stream), args.batches, args.warmup,
                                         args.batch_size)

        model = lite_unet.trunk(lite_unet.DEFAULT_VARIANT, "imagenet", "classification",
                                args.crop_size)
        model.compile(optimizer=keras.optimizers.Adam(3e-4), loss=zhang.ClassificationLoss())
        held = tf.data.Dataset.from_tensors(next(iter(batches()))).repeat()
        step_rate = fit_rate(model, held, args)
        streamed_rate = fit_rate(model, batches(), args)
        in_memory_rate = fit_rate(model, InMemoryCrops(crops.load_photos(source.paths,
                                                                         progress=False), args),
                                  args)

    common.print_json({
        "machine": common.machine_description(),
        "date": time.strftime("%Y-%m-%d"),
        "settings": {"photos": args.photos, "photo_size": "800x600",
                     "batch_size": args.batch_size, "crop_size": args.crop_size,
                     "batches": args.batches},
        "crops_per_second": {"pipeline alone": pipeline_rate,
                             "fit on one batch held in memory": step_rate,
                             "fit fed by the pipeline": streamed_rate,
                             "fit fed from photos in memory": in_memory_rate},
        "pipeline_over_step": pipeline_rate / step_rate,
    }, args.out)


if __name__ == "__main__":
    main()
