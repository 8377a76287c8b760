"""What every `colornet` command shares: one-line usage errors, checked numeric options, help
that shows only meaningful defaults, and signals that end a command in one line.

Imports only the standard library, so it is in force before TensorFlow starts importing.
"""

import argparse
import contextlib
import math
import os
import pathlib
import re
import signal
import sys
import tempfile
import warnings

from colornet import leftovers
from colornet.errors import SettingError


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line: the command, the problem, and where
    to read more (argparse prints the whole usage block first)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class HelpFormatter(argparse.HelpFormatter):
    """Adds "(default: X)" to an option's help, but not to required options, flags, options
    without a default (None), or help that already states its default."""

    def _get_help_string(self, action):
        help_text = action.help or ""
        shown = (
            "%(default)" not in help_text
            and "default" not in help_text
            and not action.required
            and action.default not in (None, False, argparse.SUPPRESS)
            and action.option_strings
        )
        return f"{help_text} (default: %(default)s)" if shown else help_text


# The largest whole number an option takes: what a 32-bit tensor dimension or seed can hold.
# Beyond it a value is a typo, and TensorFlow would fail on it only after minutes of work.
LARGEST_WHOLE_NUMBER = 2**31 - 1


def whole_number(minimum=1, multiple=1, maximum=LARGEST_WHOLE_NUMBER):
    """argparse type: an int from `minimum` to `maximum` that divides by `multiple`."""
    what = f"a whole number of {minimum} or more" + (
        f", a multiple of {multiple}" if multiple > 1 else ""
    )

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if value < minimum or value % multiple:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        if value > maximum:
            raise argparse.ArgumentTypeError(f"must be {what} up to {maximum:,}, got {text!r}")
        return value

    parse.__name__ = "whole number"
    return parse


def number(low=-math.inf, high=math.inf, *, low_open=False, high_open=False):
    """argparse type: a finite float in the interval from `low` to `high` (open ends as said)."""
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    if low == 0 and high == math.inf and low_open:
        what = "a number above 0"
    else:
        what = f"a number in {left}{low:g}, {high:g}{right}"

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        inside = (
            math.isfinite(value)
            and (value > low if low_open else value >= low)
            and (value < high if high_open else value <= high)
        )
        if not inside:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    parse.__name__ = "number"
    return parse


def shard(text):
    """argparse type: "K/N", whole numbers with 0 <= K < N → (K, N)."""
    index, slash, count = text.partition("/")
    try:
        parsed = int(index), int(count)
    except ValueError:
        parsed = None
    if not slash or parsed is None or not 0 <= parsed[0] < parsed[1]:
        raise argparse.ArgumentTypeError(
            f"must be K/N, whole numbers with 0 <= K < N (this process's share of N), "
            f"got {text!r}"
        )
    return parsed


# The usual shapes of option.
positive_int = whole_number(1)
seed = whole_number(0)
positive_number = number(0, math.inf, low_open=True)
fraction = number(0, 1, high_open=True)  # a share that leaves something: 0 <= f < 1
port = whole_number(1, maximum=65535)  # a TCP port; 0 (any free one) would hide the address


# ---------------------------------------------------------------------------------------------
# Signals

# The exit status a shell gives a command ended by a signal: 128 + the signal's number.
INTERRUPTED_STATUS = 128 + signal.SIGINT
TERMINATED_STATUS = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every `finally` (temporary files) runs."""


def quit_quietly_on_signals(command="colornet"):
    """Until `raise_on_signals`: Ctrl-C or SIGTERM prints one line and exits at once.

    For start-up, while TensorFlow imports: nothing is written yet, and an interrupted import
    otherwise prints a long KeyboardInterrupt traceback.
    """

    def quit_now(signum, frame):
        word = "interrupted" if signum == signal.SIGINT else "terminated"
        # To the terminal even while `native_notices_hidden` holds stderr's descriptor.
        os.write(_terminal_stderr or sys.stderr.fileno(), f"{command}: {word}\n".encode())
        os._exit(INTERRUPTED_STATUS if signum == signal.SIGINT else TERMINATED_STATUS)

    signal.signal(signal.SIGINT, quit_now)
    signal.signal(signal.SIGTERM, quit_now)


def raise_on_signals():
    """Ctrl-C raises KeyboardInterrupt and SIGTERM `Terminated`, so the running command
    unwinds: atomic writes remove their temporary files, checkpoints stay whole."""

    def terminate(signum, frame):
        raise Terminated()

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, terminate)


# ---------------------------------------------------------------------------------------------
# Warnings and notices

# An absl log line's head: severity, date (0000 before absl is initialised), time, thread,
# source. TensorFlow's C++ start-up prints its notices so, to the process's stderr descriptor,
# some (oneDNN's) before reading TF_CPP_MIN_LOG_LEVEL, so no setting silences them.
_LOG_HEAD = re.compile(r"^[IWEF]\d{4} [\d:.]+ +\d+ [^\]]*\] ")
_NOTICES = (
    re.compile(r"^I\d{4} "),  # information: oneDNN is on, which CPU instructions are used
    re.compile(r"^WARNING: All log messages before absl::InitializeLog\(\) is called"),
)
# The descriptor of the real stderr while `native_notices_hidden` redirects descriptor 2.
_terminal_stderr = None


def is_start_up_notice(record):
    """True for a native log record (its head line and any lines continuing it) that only
    informs: TensorFlow's information lines and absl's preamble before them. Warnings and
    errors are not notices."""
    return any(pattern.match(record) for pattern in _NOTICES)


def _records(text):
    """The lines of native log output grouped into records: a head line and the lines after
    it that do not start a record of their own (cpu_feature_guard continues on a second)."""
    records = []
    for line in text.splitlines(keepends=True):
        starts = _LOG_HEAD.match(line) or line.startswith("WARNING: All log messages")
        if records and not starts and is_start_up_notice(records[-1]):
            records[-1] += line
        else:
            records.append(line)
    return records


@contextlib.contextmanager
def native_notices_hidden(verbose=False):
    """Inside: what native code writes to stderr (descriptor 2) is held back, then written
    without TensorFlow's start-up notices. For the import of TensorFlow, which prints them
    whatever TF_CPP_MIN_LOG_LEVEL says. Warnings and errors still show; when the block fails,
    everything held back shows, notices included, since they may explain the failure.
    `verbose`: nothing is held back.
    """
    global _terminal_stderr
    if verbose:
        yield
        return
    sys.stderr.flush()
    terminal = os.dup(2)
    failed = True
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        _terminal_stderr = terminal
        try:
            yield
            failed = False
        finally:
            sys.stderr.flush()
            os.dup2(terminal, 2)
            _terminal_stderr = None
            os.close(terminal)
            held.seek(0)
            text = held.read().decode(errors="replace")
            shown = text if failed else "".join(
                record for record in _records(text) if not is_start_up_notice(record)
            )
            if shown:
                sys.stderr.write(shown)
                sys.stderr.flush()


@contextlib.contextmanager
def warnings_as_lines(command):
    """Inside: a warning prints as one line, "colornet COMMAND: warning: ...", without the
    `file.py:line: UserWarning` and source line Python adds (those are for programmers)."""

    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(f"{command}: warning: {text}", file=file or sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def backend_error_line(error, precision=None):
    """One line for a kernel the backend refused to run (TensorFlow's OpError), or None for
    any other error. TensorFlow's message opens with "Graph execution error:" and a stack of
    Python frames; its reason is the line that says what the kernel received."""
    tensorflow = sys.modules.get("tensorflow")
    if tensorflow is None or not isinstance(error, tensorflow.errors.OpError):
        return None
    lines = [line.strip() for line in str(error.message).splitlines() if line.strip()]
    reason = next(
        (line for line in lines if "exception" in line.lower() or "message:" in line),
        lines[-1] if lines else type(error).__name__,
    )
    reason = reason.split(" Run workload with", 1)[0].split(", in file ", 1)[0]
    line = f"the backend could not run the model ({type(error).__name__}: {reason})"
    if precision in ("bfloat16", "float16"):
        line += f"; {precision} may not be available here: try --precision float32"
    return line


def close_progress_bars():
    """End the line of any open progress bar, so the next message starts a line of its own."""
    if "tqdm" in sys.modules:
        from colornet import progress

        progress.close_all()


def check_port_free(host, port, option="--port"):
    """Fail now, in one line naming `option`, when nothing could listen on host:port (another
    program has it, or the address is not this machine's): before any slow start-up work.
    Bound as web servers bind (SO_REUSEADDR), so a port a closed server left in TIME_WAIT
    counts as free."""
    import socket

    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise SettingError(f"cannot listen on {host}: {error}; choose another --host") from None
    family, kind, protocol, _, address = addresses[0]
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise SettingError(
                f"cannot listen on {host} port {port} ({error.strerror}); "
                f"choose another with {option}"
            ) from None


def check_writable(path, suffixes=None, what="output"):
    """Fail now, in one line, when `path` cannot be written: a suffix not in `suffixes`, a
    folder in its way, or no permission. Leaves the parent folders created."""
    path = pathlib.Path(path)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise SettingError(
            f"cannot write {what} {path}: it must end in {', '.join(suffixes)}"
            + (f", not '{path.suffix}'" if path.suffix else "")
        )
    if path.is_dir():
        raise SettingError(f"cannot write {what} {path}: it is a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = leftovers.temporary_path(path)
        open(probe, "xb").close()
        probe.unlink()
    except OSError as error:
        raise SettingError(f"cannot write {what} {path}: {error.strerror}") from None


def add_quiet(command, help="no progress bar"):
    command.add_argument("--quiet", action="store_true", help=help)


def report_skipped(unreadable):
    """Every command that reads many photos skips the unreadable ones and goes on; this lists
    them, and makes the exit status 1 when there were any."""
    if not unreadable:
        return 0
    print(f"skipped {len(unreadable)} unreadable:")
    for path, reason in unreadable:
        print(f"  {path}: {reason}")
    return 1


def refuse_overwriting(source, *outputs):
    """Fail before any work when an output would replace the input photo."""
    for output in outputs:
        if output is not None and output.exists() and output.resolve() == source.resolve():
            raise SettingError(f"output {output} is the input photo; choose another path")
