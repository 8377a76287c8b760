"""Rules the suite itself keeps: it passes on a busy machine, so no test asserts on time."""

import ast

import pytest

from tests.conftest import REPO_ROOT

CLOCKS = {"time", "perf_counter", "monotonic", "process_time", "time_ns", "perf_counter_ns"}


def clock_reads(node):
    """Calls such as time.perf_counter() or perf_counter() inside `node`."""
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            function = call.func
            attribute = isinstance(function, ast.Attribute)
            name = function.attr if attribute else getattr(function, "id", "")
            if name in CLOCKS:
                yield call


def timed_names(tree):
    """Names assigned from a clock read (start = time.perf_counter())."""
    return {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and any(clock_reads(node.value))
        for target in node.targets
        if isinstance(target, ast.Name)
    }


TEST_FILES = sorted((REPO_ROOT / "tests").glob("test_*.py"))


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda path: path.name)
def test_no_test_asserts_on_wall_clock_time(path):
    tree = ast.parse(path.read_text())
    timed = timed_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            names = {name.id for name in ast.walk(node.test) if isinstance(name, ast.Name)}
            assert not any(clock_reads(node.test)) and not names & timed, (
                f"{path.name}:{node.lineno} asserts on elapsed time, which fails on a busy machine"
            )
