"""What `colornet colorize`, `video` and `serve` refuse, each in one line and before any slow
work: options out of range, inputs that are not there, outputs that would lose a file."""

import pytest

from colornet import cli


def _one_line(captured):
    return captured.err.count("\n") == 1 and "Traceback" not in captured.err


@pytest.mark.parametrize("port", ["99999", "65536", "-1"])
def test_serve_on_a_port_no_machine_has_is_one_line_naming_port(port, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve", "--port", port])
    captured = capsys.readouterr()
    assert exit_.value.code == 2 and _one_line(captured), captured.err
    assert "--port" in captured.err and port in captured.err
