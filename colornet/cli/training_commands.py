"""The commands that train: `colornet single` (Version 1 on one photo), `colornet pretrain`
(the shipped colorizer's recipe) and `colornet train` (the final version on a folder).

Each `add_*` defines a command's options, its `_run_*` does the work, importing what it needs
only then, so `colornet --help` starts without TensorFlow.
"""

import argparse
import dataclasses
import pathlib

from colornet import constants
from colornet.cli import support
from colornet.errors import SettingError
from colornet.nets import precision
from colornet.train import settings

# weight_files.WeightsError's advice in each command's options.
_TRAIN_ADVICE = {
    "file": "pass --backbone-weights {path}",
    "choices": "give --backbone-weights imagenet, none, or the path",
}


def add_single(commands):
    defaults = settings.SingleImageConfig()
    command = commands.add_parser(
        "single",
        help="train Version 1 on one photo and colorize it",
        description=(
            "Train the write-up's Version 1 net (32,202 parameters) on one colour photo, then "
            "colorize the photo from its lightness alone. Writes the colorized photo at full "
            "resolution and a grey | colorized | original figure, and prints PSNR and SSIM "
            "against the original next to the grey baseline."
        ),
        formatter_class=support.HelpFormatter,
    )
    command.add_argument("image", type=pathlib.Path,
                         help="a colour photo (JPEG, PNG, TIFF, WebP, ...)")
    command.add_argument("-o", "--output", type=pathlib.Path, required=True,
                         help="where to write the colorized photo (.png or .jpg)")
    command.add_argument("--size", type=support.whole_number(8), default=defaults.image_size,
                         help="longest side the net trains at; larger is slower")
    command.add_argument("--steps", type=support.positive_int, default=defaults.steps,
                         help="training steps (one step = one pass over the photo)")
    command.add_argument("--learning-rate", type=support.positive_number,
                         default=defaults.learning_rate,
                         help="Adam's initial learning rate (cosine-decayed to 1%%)")
    command.add_argument("--seed", type=support.seed, default=defaults.seed,
                         help="weight initialisation seed")
    command.add_argument("--figure", type=pathlib.Path, default=None,
                         help="where to write the comparison figure (default: "
                              "OUTPUT_comparison.png)")
    command.add_argument("--save-model", type=pathlib.Path, default=None, metavar="MODEL.keras",
                         help="also save the trained net, to colorize other photos with it later")
    support.add_quiet(command)
    command.set_defaults(run=_run_single, on_interrupt=lambda args: "nothing was written")


def _run_single(args):
    from colornet.apps import single_job
    from colornet.io import save

    if args.save_model is not None and args.save_model.suffix != ".keras":
        raise SettingError(f"--save-model must end in .keras, got {args.save_model}")
    single_config = settings.SingleImageConfig(
        image_size=args.size, steps=args.steps, learning_rate=args.learning_rate, seed=args.seed
    )
    support.refuse_overwriting(args.image, args.output, args.figure, args.save_model)
    figure_path = args.figure or args.output.with_name(f"{args.output.stem}_comparison.png")
    # Every output checked before the minute of training, not after it.
    support.check_writable(args.output, tuple(save.SAVE_FORMATS), "the colorized photo")
    support.check_writable(figure_path, None, "the figure")
    if args.save_model is not None:
        support.check_writable(args.save_model, (".keras",), "the model")
    report = single_job.train_and_colorize(
        args.image, args.output, figure=figure_path, save_model=args.save_model,
        config=single_config, progress=not args.quiet,
    )
    print(report.summary())


def add_pretrain(commands):
    from colornet.pretrained.settings import RecipeConfig

    defaults = RecipeConfig()
    command = commands.add_parser(
        "pretrain",
        help="train the pretrained colorizer on a corpus (resumes)",
        description=(
            "Train the colorizer that ships with colornet (a U-Net on frozen EfficientNet-Lite "
            "features) on the train split of a corpus built by `colornet corpus`, from random "
            "crops, one resumable epoch at a time: killed at any moment, the same command "
            "resumes from the last complete epoch, and a larger --epochs trains on. Each "
            "epoch is scored on the validation split's whole photos in RUN_DIR/log.csv. "
            "--export writes an epoch as the files colornet ships, with its held-out scores."
        ),
        formatter_class=support.HelpFormatter,
    )
    command.add_argument("corpus_dir", type=pathlib.Path, metavar="CORPUS",
                         help="a folder built by colornet corpus")
    command.add_argument("--out", type=pathlib.Path, required=True, metavar="RUN_DIR",
                         help="the run folder (resumed when it holds a run)")
    command.add_argument("--epochs", type=support.positive_int, default=defaults.epochs,
                         help="epochs in all, counting those already done")
    command.add_argument("--until", type=support.positive_int, default=None, metavar="EPOCH",
                         help="stop after this epoch: a chunk of the run, resumed later")
    command.add_argument("--steps-per-epoch", type=support.positive_int,
                         default=defaults.steps_per_epoch, help="batches per epoch")
    command.add_argument("--batch-size", type=support.positive_int,
                         default=defaults.batch_size, help="crops per batch")
    command.add_argument("--crop-size", type=support.whole_number(32, 32),
                         default=defaults.crop_size, help="side of the training crops")
    command.add_argument("--head", choices=("classification", "regression"),
                         default=defaults.head,
                         help="colour bins with Zhang et al.'s loss, or the write-up's MSE")
    _add_pretrain_network_options(command, defaults)
    command.add_argument("--export", metavar="EPOCH|last", default=None,
                         help="instead of training, write this epoch as the shipped model")
    command.add_argument("--export-to", type=pathlib.Path, default=None, metavar="FOLDER",
                         help="where --export writes (default: colornet's own pretrained/ folder)")
    support.add_quiet(command)
    command.set_defaults(
        run=_run_pretrain,
        on_interrupt=lambda args: (
            f"the checkpoint of the last complete epoch is kept in {args.out}; run the same "
            "command to resume from it"
        ),
    )


def _add_pretrain_network_options(command, defaults):
    """How the recipe's network learns, and on how many devices."""
    command.add_argument("--learning-rate", type=support.positive_number,
                         default=defaults.learning_rate,
                         help="Adam's initial learning rate (cosine-decayed to 1%%)")
    command.add_argument("--precision", choices=precision.TRAINING_CHOICES,
                         default=defaults.precision,
                         help="bfloat16: mixed precision with float32 weights, for GPUs and "
                              "CPUs that compute it; auto: bfloat16 where native")
    command.add_argument("--hints", action="store_true",
                         help="train the hint-aware network: point hints and a reference "
                              "photo simulated from each crop's own colours")
    command.add_argument("--hints-only", action="store_true",
                         help="with --hints and --start-from: train the hint layers alone, so "
                              "the colours without hints stay the starting model's")
    command.add_argument("--start-from", metavar="shipped|EPOCH.npz", default=None,
                         help="a new run's first decoder weights: the shipped model's, or an "
                              "epoch file of another run (default: random)")
    command.add_argument("--distribution", choices=("data_parallel",), default=None,
                         help="all devices of all processes (and machines) of a job, on "
                              "KERAS_BACKEND=jax; --batch-size is then the global batch")
    _add_job_options(command, "CORPUS")


def _run_pretrain(args):
    from colornet.train import distributed

    # Before any JAX work: the job's processes must join first.
    cluster = distributed.cluster_from(args.coordinator, args.num_processes, args.process_id)
    if cluster is not None:
        distributed.initialize(cluster)
    from colornet.pretrained import recipe, settings

    if args.export is not None:
        epoch = None if args.export == "last" else support.positive_int(args.export)
        report = recipe.export(args.out, args.corpus_dir, epoch, folder=args.export_to,
                               progress=not args.quiet)
        print(f"exported epoch {report['epoch']} (annealed-mean temperature "
              f"{report['temperature']}) to {report['path']}")
        for split, values in report["scores"].items():
            print(f"{split}: " + ", ".join(f"{k} {v:.3f}" for k, v in values.items()))
        return 0
    config = settings.RecipeConfig(
        epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, batch_size=args.batch_size,
        crop_size=args.crop_size, head=args.head, learning_rate=args.learning_rate,
        precision=args.precision, hints=args.hints, start_from=args.start_from,
        hints_only=args.hints_only,
    )
    rows = recipe.train(args.corpus_dir, args.out, config, progress=not args.quiet,
                        until=args.until, distribution=args.distribution)
    if rows and distributed.is_chief():
        print(f"{len(rows)} epochs done in {args.out}; last: " + ", ".join(
            f"{key} {value:.3f}" for key, value in rows[-1].items() if key != "epoch"))
    return 0


_BACKBONE_HELP = (
    f"classifier whose embedding is fused in: {constants.DEFAULT_BACKBONE} (the write-up's), "
    "efficientnet_lite0, efficientnet_lite2, efficientnet_v2_b0, mobilenet_v3_small, or "
    f"{constants.AUTO_BACKBONE} (default: the write-up's where its weights are cached, else "
    f"{constants.DEFAULT_CLASSIFY_BACKBONE}, which works offline)"
)
_BATCH_SIZE_HELP = (
    f"photos per step (default {constants.WRITE_UP_BATCH_SIZE}; {constants.SMALL_IMAGE_BATCH_SIZE} "
    f"for a smaller --image-size than {constants.DEFAULT_IMAGE_SIZE})"
)


def add_train(commands):
    defaults = settings.TrainingConfig(data_dir="")
    command = commands.add_parser(
        "train",
        help="train the final version on a folder of photos",
        formatter_class=support.HelpFormatter,
        description=(
            "Train the final version (encoder, fusion with a frozen classifier's embedding, "
            "decoder) on a folder of colour photos. RUN_DIR receives the config, a checkpoint "
            "every epoch, the best model by validation loss (best.keras: all that colorizing "
            "needs), a CSV log and TensorBoard logs. Run the same command again to resume "
            "after an interruption; options left out then keep the run's saved values."
        ),
    )
    command.add_argument("data_dir", type=pathlib.Path,
                         help="folder of colour photos (any sizes, formats)")
    command.add_argument("--out", type=pathlib.Path, required=True, metavar="RUN_DIR",
                         help="run folder to create or resume")
    command.add_argument("--epochs", type=support.positive_int,
                         help=f"total epochs (default {defaults.epochs})")
    command.add_argument("--batch-size", type=support.positive_int,
                         help=_BATCH_SIZE_HELP)
    command.add_argument("--image-size", type=support.whole_number(8, 8),
                         help=f"side the photos are cropped and resized to, a multiple of 8 "
                              f"(default {defaults.image_size})")
    command.add_argument("--learning-rate", type=support.positive_number,
                         help=f"Adam's learning rate (default {defaults.learning_rate})")
    command.add_argument("--backbone", help=_BACKBONE_HELP)
    command.add_argument("--backbone-weights", metavar="WEIGHTS",
                         help="'imagenet' (Keras cache, downloaded once when online), a weights "
                              "file, or 'none' for random weights (default imagenet)")
    command.add_argument("--backbone-precision", choices=precision.CHOICES,
                         help="how the frozen backbone computes: bfloat16 or float16 where the "
                              "hardware computes it natively; auto picks what it has "
                              "(default auto; speed-ups: docs/performance.md, 'Performance')")
    command.add_argument("--fusion-precision", choices=precision.TRAINING_CHOICES,
                         help="how the trained colorizer computes: bfloat16 is mixed precision "
                              "with float32 weights; auto as above (default auto)")
    _add_views_and_head(command)
    command.add_argument("--validation-fraction", type=support.fraction,
                         help=f"share of photos held out to pick the best epoch (default "
                              f"{defaults.validation_fraction})")
    command.add_argument("--distribution", choices=constants.DISTRIBUTIONS,
                         help="'mirrored': all GPUs of this machine, on TensorFlow; "
                              "'data_parallel': all devices of all processes (and machines) "
                              "of a job, on KERAS_BACKEND=jax; --batch-size is then the "
                              "global batch (default none)")
    _add_job_options(command)
    command.add_argument("--seed", type=support.seed,
                         help=f"seed of split, shuffling and weights (default {defaults.seed})")
    support.add_quiet(command, "no progress bars")
    command.set_defaults(run=_run_train, on_interrupt=_train_kept, weights_advice=_TRAIN_ADVICE)



def _add_views_and_head(command):
    """What the final version sees of each photo, and how it answers."""
    command.add_argument("--augment", action=argparse.BooleanOptionalAction,
                         help="shear, zoom, rotation and flip, as the write-up (default on)")
    command.add_argument("--cache-embeddings", action=argparse.BooleanOptionalAction,
                         help="embed each photo once (un-augmented) and reuse it every epoch: "
                              "much faster, since the backbone dominates a step (default off)")
    command.add_argument("--crops-per-photo", type=support.whole_number(0),
                         help="random crops of each photo per epoch, at 20-100 %% of its shorter "
                              "side, instead of its centre square: many views of few photos "
                              "(default 0: the write-up's centre square)")
    command.add_argument("--head", choices=constants.HEADS,
                         help="'regression': the write-up's tanh ab and mean squared error; "
                              "'classification': Zhang et al.'s colour bins and rebalanced loss "
                              "(docs/real_photos.md compares them; default regression)")


def _add_job_options(command, data="DATA_DIR"):
    """The options that join one process to a data_parallel job of several."""
    job = command.add_argument_group(
        "several processes (data_parallel)",
        "Start the same command once per process, each with its own --process-id; values "
        "left out are read from COLORNET_COORDINATOR, COLORNET_NUM_PROCESSES and "
        f"COLORNET_PROCESS_ID. RUN_DIR and {data} must be the same shared folders on every "
        "machine. See docs/training.md, 'Training on several machines', for SLURM.",
    )
    job.add_argument("--coordinator", metavar="HOST:PORT",
                     help="address of process 0, where it listens and the others connect")
    job.add_argument("--num-processes", type=support.positive_int, metavar="N",
                     help="processes in the job")
    job.add_argument("--process-id", type=support.seed, metavar="I",
                     help="this process, 0 to N-1")


def _run_train(args):
    from colornet.train import distributed

    # Before any JAX work: the job's processes must join first.
    cluster = distributed.cluster_from(args.coordinator, args.num_processes, args.process_id)
    if cluster is not None:
        distributed.initialize(cluster)
    from colornet.train import loop
    from colornet.train.runs import RunFolder

    run = RunFolder(args.out)
    base = run.load_config() if run.has_config() else settings.TrainingConfig(data_dir="")
    # Every option named like a config field overrides the saved or default value when given.
    given = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(settings.TrainingConfig)
        if getattr(args, field.name, None) is not None
    }
    given["data_dir"] = str(args.data_dir.resolve())
    if args.backbone_weights is not None:
        weights = args.backbone_weights
        given["backbone_weights"] = None if weights.lower() == "none" else weights
    result = loop.train(dataclasses.replace(base, **given), args.out, progress=not args.quiet)
    # Process 0 alone: it writes log.csv, and the others could read it before its last row.
    best = run.best_epoch() if distributed.is_chief() else None
    if best is not None:
        epoch, monitor, value = best
        print(f"best model: {result.best_model_path} (epoch {epoch}, {monitor} {value:.4f})")


def _train_kept(args):
    from colornet.train.runs import RunFolder

    epochs = RunFolder(args.out).completed_epochs()
    if not epochs:
        return "no epoch was complete, so no checkpoint was kept; the same command starts again"
    return (
        f"the checkpoint after epoch {epochs} is kept in {args.out}; "
        "run the same command to resume from it"
    )
