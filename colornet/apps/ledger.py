"""What `colornet colorize` wrote in an output folder, and the rule that keeps a user's files:
a file there is replaced only when colornet wrote it from the same input, or when asked to.

The record is one JSON line per event in OUT/.colornet-colorized.jsonl:

- a claim, {"output", "input"}, appended before an output is written: a kill between the
  write and its completion line still leaves the name known as colornet's;
- a completion, appended once the output is in place: its name, size and time, its input's
  path, size and time, and the fingerprint of the model and settings it was made with.

A kill loses at most the line being written, which is then ignored. A run that takes one shard
of the inputs (`--shard K/N`) keeps its own file, .colornet-colorized.shard-K-of-N.jsonl, so
that processes writing into one folder never rewrite each other's lines; every run reads them
all.
"""

import json
import os
import pathlib

from colornet import _util

RECORD = ".colornet-colorized.jsonl"
_ALL_RECORDS = ".colornet-colorized*.jsonl"


class OutputTaken(ValueError):
    """An output's name is taken by a file that this run may not replace."""


def record_name(shard=None):
    """The record's file name for a run of all the inputs (None) or of shard (K, N)."""
    if shard is None:
        return RECORD
    index, count = shard
    return f".colornet-colorized.shard-{index}-of-{count}.jsonl"


class Ledger:
    """The records of an output folder (every run's), and this run's own to append to.

    Args:
        out_dir: the output folder.
        made_by: the fingerprint of this run's model and settings (None: a run that keeps no
            record, which still reads the others to know which files are colornet's).
        keep: append this run's claims and completions.
        shard: (K, N) for a run of one shard, whose record is a file of its own.
    """

    def __init__(self, out_dir, made_by=None, *, keep=True, shard=None):
        self.out_dir, self.made_by, self.keep = pathlib.Path(out_dir), made_by, keep
        self.path = self.out_dir / record_name(shard)
        # output name → completions from every record; and the claims that are the last word
        # on their output in their record (a write whose completion a kill cut off).
        self.completed, self.claimed = {}, {}
        for path in sorted(self.out_dir.glob(_ALL_RECORDS)):
            self._read(path)

    def _read(self, path):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return
        lines, last = text.splitlines(), {}
        for line in lines:
            try:
                entry = json.loads(line)
                last[str(entry["output"])] = entry
                str(entry["input"])
            except (ValueError, TypeError, KeyError):
                continue  # a line a kill cut short, or not ours
        for output, entry in last.items():
            if "output_size" in entry:
                self.completed.setdefault(output, []).append(entry)
            else:
                self.claimed.setdefault(output, set()).add(entry["input"])
        # Outputs written again, or a line a kill cut short (the next would join it): compact
        # this run's own record, never another's.
        if path == self.path and self.keep and (
            len(lines) > len(last) or text and not text.endswith("\n")
        ):
            _util.write_bytes_atomically(path, lambda file: file.write(b"".join(
                (json.dumps(entry) + "\n").encode() for entry in last.values()
            )))

    def _name(self, target):
        return pathlib.Path(target).relative_to(self.out_dir).as_posix()

    def _completion(self, source, target):
        source_stat, target_stat = os.stat(source), os.stat(target)
        return {
            "output": self._name(target),
            "input": str(pathlib.Path(source).resolve()),
            "input_size": source_stat.st_size,
            "input_mtime_ns": source_stat.st_mtime_ns,
            "output_size": target_stat.st_size,
            "output_mtime_ns": target_stat.st_mtime_ns,
            "made_by": self.made_by,
        }

    def _as_written(self, target):
        """The completion that describes `target` as it is now, or None: absent, or changed
        since (replaced by hand, or by another program)."""
        try:
            stat = os.stat(target)
        except OSError:
            return None
        for entry in self.completed.get(self._name(target), ()):
            if (entry.get("output_size"), entry.get("output_mtime_ns")) == (
                stat.st_size, stat.st_mtime_ns
            ):
                return entry
        return None

    def is_complete(self, source, target):
        """True when `target` is what an earlier run made from `source` as this one would."""
        try:
            return self._as_written(target) == self._completion(source, target)
        except OSError:
            return False  # the output (or the input) is gone

    def check_replaceable(self, source, target, overwrite=False):
        """OutputTaken (one line naming the file and --overwrite) when `target` exists and
        colornet did not write it from `source`: a user's own file, one changed since colornet
        wrote it, or the result of another photo of the same name."""
        target = pathlib.Path(target)
        if overwrite or not os.path.lexists(target):
            return
        source_name = str(pathlib.Path(source).resolve())
        written = self._as_written(target)
        if written is not None and written["input"] == source_name:
            return
        if written is None and source_name in self.claimed.get(self._name(target), ()):
            return  # colornet's own write from this photo, its completion cut off by a kill
        whose = (f"colornet colorized it from another photo, {written['input']}"
                 if written is not None else "colornet did not write it")
        raise OutputTaken(
            f"{target} is already there and {whose}: --overwrite replaces it, or choose "
            "another -o"
        )

    def claim(self, source, target):
        """Record, before writing `target`, that this run writes it from `source`."""
        self._append({"output": self._name(target), "input": str(pathlib.Path(source).resolve())})

    def add(self, source, target):
        """Record `target`, now in place, as complete."""
        self._append(self._completion(source, target))

    def _append(self, entry):
        if self.keep:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as file:
                file.write(json.dumps(entry) + "\n")
