"""The README's Python example runs as written, from the repository's root."""

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


def python_example():
    readme = (REPO_ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    assert blocks, "the README has no Python example"
    return blocks[0]


def test_the_python_example_names_only_files_that_exist():
    example = python_example()
    for path in re.findall(r'"((?:data|results)/[^"]+)"', example):
        written = f'save_image("{path}"' in example or f'save("{path}"' in example
        assert written or (REPO_ROOT / path).is_file(), f"the example reads {path}: missing"


@pytest.mark.slow
def test_the_python_example_runs_as_written():
    result = subprocess.run(
        [sys.executable, "-c", python_example()], cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=1200, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (REPO_ROOT / "results" / "astronaut.png").is_file()


# A time: "22 s", "47 minutes", "about 30 s", "under a minute". Measured times drift with the
# machine and the code; they live in docs/, generated from benchmarks/figures.json.
TIMING = re.compile(
    r"\b\d[\d,.]*\s?(?:ms|s|sec|seconds?|min|minutes?|h|hours?)\b"
    r"|\bunder an? (?:second|minute|hour)\b"
)


def test_the_readme_types_no_timings_and_leaves_them_to_the_docs():
    readme = (REPO_ROOT / "README.md").read_text()
    assert TIMING.findall(readme) == []
