"""The `colornet` command line: one subcommand per job.

    colornet single IMAGE -o OUTPUT.png     train Version 1 on one photo and colorize it
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
    # Imported after parsing so `--help` answers at once, without loading TensorFlow.
    from colornet import images

    try:
        return args.run(args) or 0
    except (images.ImageError, ValueError, OSError) as error:
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
