"""A corpus of real colour photos gathered from Debian and PyPI packages, for training.

`sources` lists the photos, package by package, with their licences; `build` gathers them
into a folder with a MANIFEST and a split by scene into train / validation / held_out
(`colornet corpus DIR` on the command line). Nothing here imports Keras.
"""

from colornet.corpus.build import (
    MANIFEST,
    SPLITS,
    CorpusError,
    CorpusReport,
    build,
    manifest_hash,
    read_manifest,
    split_of,
    split_paths,
)

__all__ = ["MANIFEST", "SPLITS", "CorpusError", "CorpusReport", "build", "manifest_hash",
           "read_manifest", "split_of", "split_paths"]
