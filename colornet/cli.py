"""The `colornet` command line: one subcommand per job.

    colornet single IMAGE -o OUTPUT.png     train Version 1 on one photo and colorize it
    colornet prepare RAW_DIR DATA_DIR       clean a folder of photos into train/ and test/
    colornet train DATA_DIR --out RUN_DIR   train the final version (resumes RUN_DIR)
    colornet colorize INPUT... -o OUT_DIR --model MODEL   colorize photos with a saved model
    colornet video INPUT OUTPUT --model MODEL   colorize a video, smoothing colour over time
    colornet evaluate --model MODEL DATA_DIR    score a model against baselines on colour photos
    colornet lab IMAGE -o OUTPUT.png        picture of a photo's L, a and b channels

Errors a user can fix (a missing or broken image, a grey photo, a bad option) print one line
and exit with status 1; `--help` on any subcommand explains every option.
"""

import argparse
import pathlib
import sys


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    from colornet import images

    try:
        return args.run(args) or 0
    except (images.ImageError, ValueError, OSError, RuntimeError) as error:
        print(f"colornet {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"colornet {args.command}: interrupted", file=sys.stderr)
        return 130


def build_parser():
    parser = argparse.ArgumentParser(
        prog="colornet", description="Colorize black-and-white photographs with deep learning."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_single(commands)
    _add_prepare(commands)
    _add_train(commands)
    _add_colorize(commands)
    _add_video(commands)
    _add_evaluate(commands)
    _add_lab(commands)
    return parser


def _add_single(commands):
    from colornet.single_image import SingleImageConfig

    defaults = SingleImageConfig()
    command = commands.add_parser(
        "single",
        help="train Version 1 on one photo and colorize it",
        description=(
            "Train the write-up's Version 1 net (32,202 parameters) on one colour photo, then "
            "colorize the photo from its lightness alone. Writes the colorized photo at full "
            "resolution and a grey | colorized | original figure, and prints PSNR and SSIM "
            "against the original next to the grey baseline. About a minute on a laptop CPU."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    command.add_argument("image", type=pathlib.Path, help="a colour photo (JPEG, PNG, TIFF, WebP, ...)")
    command.add_argument("-o", "--output", type=pathlib.Path, required=True,
                         help="where to write the colorized photo (.png or .jpg)")
    command.add_argument("--size", type=int, default=defaults.image_size,
                         help="longest side the net trains at; larger is slower")
    command.add_argument("--steps", type=int, default=defaults.steps,
                         help="training steps (one step = one pass over the photo)")
    command.add_argument("--learning-rate", type=float, default=defaults.learning_rate,
                         help="Adam's initial learning rate (cosine-decayed to 1%%)")
    command.add_argument("--seed", type=int, default=defaults.seed, help="weight initialisation seed")
    command.add_argument("--figure", type=pathlib.Path, default=None,
                         help="where to write the comparison figure (default: OUTPUT_comparison.png)")
    command.add_argument("--save-model", type=pathlib.Path, default=None, metavar="MODEL.keras",
                         help="also save the trained net, to colorize other photos with it later")
    command.add_argument("--quiet", action="store_true", help="no progress bar")
    command.set_defaults(run=_run_single)


def _run_single(args):
    from colornet import evaluation, images, plotting, single_image

    if args.save_model is not None and args.save_model.suffix != ".keras":
        raise ValueError(f"--save-model must end in .keras, got {args.save_model}")
    config = single_image.SingleImageConfig(
        image_size=args.size, steps=args.steps, learning_rate=args.learning_rate, seed=args.seed
    )
    original = images.load_rgb(args.image)
    _refuse_overwriting(args.image, args.output, args.figure, args.save_model)
    run = single_image.train_single_image(
        original, config, progress=not args.quiet, name=f"'{args.image}'"
    )
    colorized = run.colorize(original)
    grey = evaluation.grey_baseline(original)
    scores = evaluation.scores(original, colorized)
    grey_scores = evaluation.scores(original, grey)

    images.save_image(args.output, colorized, protected=[args.image])
    figure_path = args.figure or args.output.with_name(f"{args.output.stem}_comparison.png")
    plotting.save_figure(
        plotting.before_after(grey, colorized, original, scores=scores, grey_scores=grey_scores),
        figure_path,
    )
    if args.save_model is not None:
        args.save_model.parent.mkdir(parents=True, exist_ok=True)
        run.model.save(args.save_model)
    print(
        f"trained {len(run.losses)} steps in {run.seconds:.0f} s (final loss {run.losses[-1]:.2e})\n"
        f"colorized: PSNR {scores['psnr']:.2f} dB, SSIM {scores['ssim']:.3f}   "
        f"(grey baseline: PSNR {grey_scores['psnr']:.2f} dB, SSIM {grey_scores['ssim']:.3f})\n"
        f"wrote {args.output} and {figure_path}"
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
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    command.add_argument("raw_dir", type=pathlib.Path, help="folder of photos, searched recursively")
    command.add_argument("data_dir", type=pathlib.Path, help="where to write train/ and test/")
    command.add_argument("--image-size", type=int, default=256,
                         help="shorter side of the written photos (never enlarged)")
    command.add_argument("--test-fraction", type=float, default=0.1, help="share held out for testing")
    command.add_argument("--min-side", type=int, default=64, help="drop photos with a shorter side below this")
    command.add_argument("--seed", type=int, default=0, help="seed of the train/test split")
    command.add_argument("--overwrite", action="store_true", help="replace an earlier prepare's output")
    command.add_argument("--quiet", action="store_true", help="no progress bar")
    command.set_defaults(run=_run_prepare)


def _run_prepare(args):
    from colornet import data

    report = data.prepare_folder(
        args.raw_dir, args.data_dir, image_size=args.image_size,
        test_fraction=args.test_fraction, min_side=args.min_side, seed=args.seed,
        progress=not args.quiet, overwrite=args.overwrite,
    )
    print(report.summary())
    if not report.train and not report.test:
        dropped = sum(len(items) for items in report.dropped.values())
        raise ValueError(f"kept none of the {dropped} photos in {args.raw_dir}; see the report above")


def _add_train(commands):
    from colornet import backbones
    from colornet.training import DISTRIBUTIONS, TRAINING_PRECISIONS, TrainingConfig

    defaults = TrainingConfig(data_dir="")
    command = commands.add_parser(
        "train",
        help="train the final version on a folder of photos",
        description=(
            "Train the final version (encoder, fusion with a frozen classifier's embedding, "
            "decoder) on a folder of colour photos. RUN_DIR receives the config, a checkpoint "
            "every epoch, the best model by validation loss (best.keras: all that colorizing "
            "needs), a CSV log and TensorBoard logs. Run the same command again to resume "
            "after an interruption; options left out then keep the run's saved values."
        ),
    )
    command.add_argument("data_dir", type=pathlib.Path, help="folder of colour photos (any sizes, formats)")
    command.add_argument("--out", type=pathlib.Path, required=True, metavar="RUN_DIR",
                         help="run folder to create or resume")
    command.add_argument("--epochs", type=int, help=f"total epochs (default {defaults.epochs})")
    command.add_argument("--batch-size", type=int, help=f"photos per step (default {defaults.batch_size})")
    command.add_argument("--image-size", type=int,
                         help=f"side the photos are cropped and resized to, a multiple of 8 (default {defaults.image_size})")
    command.add_argument("--learning-rate", type=float, help=f"Adam's learning rate (default {defaults.learning_rate})")
    command.add_argument("--backbone", choices=sorted(backbones.BACKBONES),
                         help=f"classifier whose embedding is fused in (default {defaults.backbone})")
    command.add_argument("--backbone-weights", metavar="WEIGHTS",
                         help="'imagenet' (Keras cache, downloaded once when online), a weights "
                              "file, or 'none' for random weights (default imagenet)")
    command.add_argument("--backbone-precision", choices=("auto", *backbones.PRECISIONS),
                         help="how the frozen backbone computes: bfloat16 is 1.5x faster on CPUs "
                              "with AVX512_BF16 or AMX and on Ampere or later GPUs, float16 on "
                              "older GPUs; auto picks what the hardware has (default auto)")
    command.add_argument("--fusion-precision", choices=TRAINING_PRECISIONS,
                         help="how the trained colorizer computes: bfloat16 (mixed precision, "
                              "float32 weights) is 1.7x faster on such hardware, its gradient "
                              "within 0.3%% of float32's; auto as above (default auto)")
    command.add_argument("--augment", action=argparse.BooleanOptionalAction,
                         help="shear, zoom, rotation and flip, as the write-up (default on)")
    command.add_argument("--cache-embeddings", action=argparse.BooleanOptionalAction,
                         help="embed each photo once (un-augmented) and reuse it every epoch: "
                              "much faster, since the backbone dominates a step (default off)")
    command.add_argument("--validation-fraction", type=float,
                         help=f"share of photos held out to pick the best epoch (default {defaults.validation_fraction})")
    command.add_argument("--distribution", choices=DISTRIBUTIONS,
                         help="tf.distribute strategy: 'mirrored' for all GPUs of this machine "
                              "(default none); 'multi_worker' waits on a Keras 3 fix "
                              "(keras-team/keras#20585)")
    command.add_argument("--seed", type=int, help=f"seed of split, shuffling and weights (default {defaults.seed})")
    command.add_argument("--quiet", action="store_true", help="no progress bars")
    command.set_defaults(run=_run_train)


def _run_train(args):
    import dataclasses

    from colornet import training

    saved_path = args.out / "config.json"
    base = (
        training.TrainingConfig.load(saved_path)
        if saved_path.is_file()
        else training.TrainingConfig(data_dir=str(args.data_dir))
    )
    given = {
        "data_dir": str(args.data_dir.resolve()),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "image_size": args.image_size,
        "learning_rate": args.learning_rate,
        "backbone": args.backbone,
        "backbone_precision": args.backbone_precision,
        "fusion_precision": args.fusion_precision,
        "augment": args.augment,
        "cache_embeddings": args.cache_embeddings,
        "validation_fraction": args.validation_fraction,
        "distribution": args.distribution,
        "seed": args.seed,
    }
    overrides = {name: value for name, value in given.items() if value is not None}
    if args.backbone_weights is not None:
        weights = args.backbone_weights
        overrides["backbone_weights"] = None if weights.lower() == "none" else weights
    config = dataclasses.replace(base, **overrides)
    result = training.train(config, args.out, progress=not args.quiet)
    losses = result.history.get("val_loss") or result.history.get("loss") or []
    if losses:
        print(f"best model: {result.best_model_path} (last epoch's loss {losses[-1]:.4f})")


def _add_colorize(commands):
    from colornet.colorize import DEFAULT_TILE

    command = commands.add_parser(
        "colorize",
        help="colorize photos with a saved model",
        description=(
            "Colorize photos, folders (searched recursively) and glob patterns with a saved "
            "model: a .keras file (Version 1 from `colornet single --save-model`, or a final "
            "colorizer) or a training run folder (its best model). Each output keeps its "
            "input's name, size, orientation and, as PNG, its transparency; the colour comes "
            "from the model and the detail from the photo's own full-resolution lightness. "
            "Photos that fail are reported and skipped, and the exit status is then 1."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    command.add_argument("inputs", nargs="+", metavar="INPUT", help="photo, folder or glob ('scans/*.tif')")
    command.add_argument("-o", "--output", type=pathlib.Path, required=True, metavar="OUT_DIR",
                         help="folder for the colorized photos (created if needed)")
    _add_model_argument(command)
    command.add_argument("--batch-size", type=int, default=8, help="photos per forward pass")
    command.add_argument("--format", choices=("png", "jpg"), default=None,
                         help="output format (default: the input's own if PNG or JPEG, else PNG)")
    command.add_argument("--tile", type=int, default=DEFAULT_TILE,
                         help="Version 1 colorizes photos larger than this in overlapping tiles")
    _add_precision_argument(command, default="auto")
    command.add_argument("--quiet", action="store_true", help="no progress bar")
    command.set_defaults(run=_run_colorize)


def _run_colorize(args):
    from colornet import colorize

    model = colorize.load_model(args.model, precision=args.precision)
    report = colorize.colorize_files(
        model, args.inputs, args.output, batch_size=args.batch_size,
        image_format=args.format, tile=args.tile, progress=not args.quiet,
    )
    print(report.summary())
    print(f"wrote to {args.output}")
    return 1 if report.failed else 0


def _add_model_argument(command):
    command.add_argument("--model", type=pathlib.Path, required=True, help="a .keras model or a run folder")


def _add_precision_argument(command, default):
    from colornet import backbones

    command.add_argument(
        "--precision", choices=("auto", *backbones.PRECISIONS), default=default,
        help="how a final colorizer computes: bfloat16 (float32 weights) colorizes 1.3-1.6x "
             "faster on CPUs with AVX512_BF16 or AMX and on Ampere or later GPUs, float16 on "
             "older GPUs, colours within one ab unit of float32's; auto picks what the "
             "hardware has (default %(default)s)",
    )


def _add_video(commands):
    from colornet import video

    command = commands.add_parser(
        "video",
        help="colorize a video, smoothing colour over time",
        description=(
            "Colorize a video frame by frame in batches, keeping its frame rate, size and "
            "audio track. Predicted colour is smoothed over time against flicker (reset at "
            "scene cuts, and where things move); the report gives flicker, the mean ab change "
            "between frames, before and after smoothing."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    command.add_argument("input", type=pathlib.Path, help="a video (MP4, MOV, MKV, AVI, ...)")
    command.add_argument("output", type=pathlib.Path, help="the colorized video (.mp4, .m4v, .mov or .mkv)")
    _add_model_argument(command)
    command.add_argument("--batch-size", type=int, default=16, help="frames per forward pass")
    command.add_argument("--smoothing", type=float, default=video.DEFAULT_SMOOTHING,
                         help="weight of the past in the temporal average of colour, 0 (off) to <1")
    command.add_argument("--working-size", type=int, default=None,
                         help="longest side Version 1 runs at (default 256); the final colorizer uses its own")
    _add_precision_argument(command, default="auto")
    command.add_argument("--quiet", action="store_true", help="no progress bar")
    command.set_defaults(run=_run_video)


def _run_video(args):
    from colornet import colorize, video

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
        help="score a model against baselines on colour photos",
        description=(
            "Colorize held-out colour photos from their lightness and score the result against "
            "the originals: PSNR and SSIM, mean ab error, Hasler-Süsstrunk colourfulness and "
            "the area under the ab-accuracy curve (thresholds 0-150, Zhang et al. 2016), next "
            "to two baselines on the same photos: grey (ab = 0) and the training set's mean "
            "ab. Writes scores.csv, scores.json and a comparison grid to OUT_DIR."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    command.add_argument("data_dir", type=pathlib.Path, help="folder of held-out colour photos")
    _add_model_argument(command)
    command.add_argument("-o", "--output", type=pathlib.Path, default=None, metavar="OUT_DIR",
                         help="where to write the scores (default: RUN/evaluation, or MODEL_evaluation)")
    baseline = command.add_mutually_exclusive_group()
    baseline.add_argument("--train-dir", type=pathlib.Path, default=None,
                          help="training photos for the mean-ab baseline (default: a run folder's own)")
    baseline.add_argument("--mean-ab", type=float, nargs=2, metavar=("A", "B"), default=None,
                          help="the mean-ab baseline's a and b, when the training photos are not at hand")
    command.add_argument("--grid", type=int, default=8, help="photos shown in the comparison grid")
    _add_precision_argument(command, default="float32")
    command.add_argument("--quiet", action="store_true", help="no progress bar")
    command.set_defaults(run=_run_evaluate)


def _run_evaluate(args):
    import json

    from colornet import colorize, evaluation

    train_dir = args.train_dir
    if train_dir is None and args.mean_ab is None and (args.model / "config.json").is_file():
        train_dir = pathlib.Path(json.loads((args.model / "config.json").read_text())["data_dir"])
    output = args.output
    if output is None:
        output = args.model / "evaluation" if args.model.is_dir() else args.model.with_name(
            f"{args.model.stem}_evaluation"
        )
    report = evaluation.evaluate_folder(
        colorize.load_model(args.model, precision=args.precision), args.data_dir, output, mean_ab=args.mean_ab,
        train_dir=train_dir, max_grid_images=args.grid, progress=not args.quiet,
    )
    print(report.summary())


def _add_lab(commands):
    command = commands.add_parser(
        "lab",
        help="picture of a photo's L, a and b channels",
        description="Convert a photo to CIE L*a*b* and draw its lightness and colour channels.",
    )
    command.add_argument("image", type=pathlib.Path, help="a photo")
    command.add_argument("-o", "--output", type=pathlib.Path, required=True, help="figure to write (.png)")
    command.set_defaults(run=_run_lab)


def _run_lab(args):
    from colornet import images, plotting

    rgb = images.load_rgb(args.image)
    _refuse_overwriting(args.image, args.output)
    plotting.save_figure(plotting.lab_channels(rgb), args.output)
    print(f"wrote {args.output}")


def _refuse_overwriting(source, *outputs):
    """Fail before any work when an output would replace the input photo."""
    for output in outputs:
        if output is not None and output.exists() and output.resolve() == source.resolve():
            raise ValueError(f"output {output} is the input photo; choose another path")


if __name__ == "__main__":
    sys.exit(main())
