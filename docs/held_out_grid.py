"""Draw docs/pretrained_held_out.png: the shipped colorizer on the corpus's held-out photos,
grey | colornet | original, each with its PSNR and SSIM, and print the table.

    python docs/held_out_grid.py CORPUS [OUTPUT.png]
"""

import pathlib
import sys
import tempfile

from colornet import corpus, pretrained
from colornet.apps import comparison, plotting

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent
# One photo of each held-out scene (the second frame of a stereo pair adds nothing to see).
SCENES_SHOWN = 8


def main(corpus_dir, output=REPOSITORY / "docs" / "pretrained_held_out.png"):
    rows = [row for row in corpus.read_manifest(corpus_dir) if row["split"] == "held_out"]
    one_per_scene = {row["scene"]: pathlib.Path(corpus_dir) / row["file"] for row in rows[::-1]}
    scenes = sorted(one_per_scene, key=lambda scene: one_per_scene[scene])[:SCENES_SHOWN]
    with tempfile.TemporaryDirectory() as folder:  # titled by scene, not by long file names
        paths = []
        for scene in scenes:
            paths.append(pathlib.Path(folder) / f"{scene}{one_per_scene[scene].suffix}")
            paths[-1].symlink_to(one_per_scene[scene].resolve())
        shown = comparison.held_out_comparison(pretrained.load(), paths)
    print(shown.table)
    shown.figure.set_size_inches(7.5, 2.0 * len(paths))  # a small file for the README
    plotting.save_figure(shown.figure, output)
    print(f"wrote {output}")


if __name__ == "__main__":
    main(*sys.argv[1:])
