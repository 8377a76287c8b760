"""The package's shape: no import cycles, and a command line that starts without TensorFlow."""

import ast
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "colornet"


def package_modules(package=PACKAGE):
    """{dotted name: path} of every module of the package, subpackages included."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def colornet_imports(path, known):
    """The colornet modules a module imports anywhere, at the top or inside a function, by
    dotted name: `from colornet.io import decode` and `from colornet.io.decode import load_rgb`
    both import colornet.io.decode; `from colornet import __version__` imports colornet."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and (
            node.module == "colornet" or node.module.startswith("colornet.")
        ):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                imported.add(submodule if submodule in known else node.module)
        elif isinstance(node, ast.Import):
            imported |= {
                alias.name for alias in node.names
                if alias.name == "colornet" or alias.name.startswith("colornet.")
            }
    return imported


def import_graph(package=PACKAGE):
    known = package_modules(package)
    return {name: colornet_imports(path, known) - {name} for name, path in known.items()}


def find_cycle(graph):
    state, path = {}, []

    def visit(module):
        state[module] = "open"
        path.append(module)
        for other in sorted(graph.get(module, ())):
            if state.get(other) == "open":
                return path[path.index(other):] + [other]
            if other not in state and (cycle := visit(other)):
                return cycle
        state[module] = "done"
        path.pop()
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_no_module_of_the_package_imports_itself_through_another():
    graph = import_graph()
    assert graph["colornet.nets.models"] and graph["colornet.corpus.build"], (
        "the import scan found nothing"
    )
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def run_python(code):
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    ).stdout


def test_import_colornet_and_the_command_lines_help_do_not_start_tensorflow_or_keras():
    out = run_python(
        "import sys, contextlib, io\n"
        "import colornet\n"
        "from colornet import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()) as help_text:\n"
        "    for argv in ([], ['train', '--help'], ['colorize', '--help']):\n"
        "        try:\n"
        "            cli.main(argv)\n"
        "        except SystemExit:\n"
        "            pass\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules)\n"
        "print(len(help_text.getvalue()), heavy)\n"
    )
    characters, heavy = out.split(" ", 1)
    assert int(characters) > 1000, "the help printed nothing"
    assert heavy.strip() == "[]", heavy


def test_the_lazy_package_still_gives_its_submodules_and_functions():
    out = run_python(
        "import colornet\n"
        "print(colornet.rgb_to_lab.__module__, colornet.nets.__name__, 'nets' in dir(colornet))"
    )
    assert out.split() == ["colornet.color", "colornet.nets", "True"]
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        import colornet

        colornet.nothing  # noqa: B018


# "About 60 lines": a function longer than this, its docstring aside, mixes steps that want
# names of their own.
LONGEST_FUNCTION = 60


def code_lines(function):
    """Lines of a function definition, its docstring left out."""
    first = function.body[0]
    has_docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and (
        isinstance(first.value.value, str)
    )
    start = first.end_lineno + 1 if has_docstring else function.lineno
    return function.end_lineno - start + 1 + (1 if has_docstring else 0)


def long_functions(package=PACKAGE):
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if code_lines(node) > LONGEST_FUNCTION:
                    name = path.relative_to(package).as_posix()
                    yield f"{name}:{node.lineno} {node.name} ({code_lines(node)} lines)"


def test_no_function_in_the_package_is_longer_than_about_60_lines():
    assert list(long_functions()) == []


def test_the_length_check_counts_code_and_not_the_docstring(tmp_path):
    body = "\n".join(f"    x{index} = {index}" for index in range(LONGEST_FUNCTION))
    docstring = '    """' + "\n" * 30 + '    """\n'
    (tmp_path / "long.py").write_text(f"def long():\n{body}\n")
    (tmp_path / "documented.py").write_text(f"def documented():\n{docstring}    return 1\n")
    assert [line.split()[1] for line in long_functions(tmp_path)] == ["long"]
