"""The package's shape: layers that import only downwards, no import cycles, modules short
enough to read in one sitting, and a command line that starts without TensorFlow."""

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


# The layers, lowest first: a module may import its own layer and those below it, never one
# above, not even inside a function. Each subpackage's docstring says the same in words.
LAYERS = ("core", "io", "nets", "train", "apps", "cli")
# Every module of these packages is of the package's layer...
PACKAGE_LAYERS = {
    "colornet.io": "io",
    "colornet.corpus": "io",
    "colornet.nets": "nets",
    "colornet.train": "train",
    "colornet.apps": "apps",
    "colornet.cli": "cli",
}
# ...and these modules are of their own: the core at the root, and the pretrained colorizer's
# three parts, which load (nets), configure (train) and train and write it (apps).
MODULE_LAYERS = {
    "colornet": "core",
    "colornet._util": "core",
    "colornet.color": "core",
    "colornet.constants": "core",
    "colornet.errors": "core",
    "colornet.leftovers": "core",
    "colornet.metrics": "core",
    "colornet.progress": "core",
    "colornet.pretrained": "nets",
    "colornet.pretrained.settings": "train",
    "colornet.pretrained.recipe": "apps",
    "colornet.pretrained.run_files": "apps",
    "colornet.pretrained.scoring": "apps",
}


def layer_of(module):
    """The layer of a dotted module name, or None for a module the tables leave out."""
    if module in MODULE_LAYERS:
        return MODULE_LAYERS[module]
    for package, layer in PACKAGE_LAYERS.items():
        if module == package or module.startswith(package + "."):
            return layer
    return None


def unplaced_modules(package=PACKAGE):
    return sorted(module for module in package_modules(package) if layer_of(module) is None)


def upward_imports(package=PACKAGE):
    """One line for each import of a higher layer, naming both modules and both layers."""
    for module, imported in sorted(import_graph(package).items()):
        for other in sorted(imported):
            low, high = layer_of(other), layer_of(module)
            if low is not None and high is not None and LAYERS.index(low) > LAYERS.index(high):
                yield f"{module} imports {other}: {high} may not import {low}"


def test_every_module_of_the_package_has_a_layer():
    assert unplaced_modules() == [], "add them to PACKAGE_LAYERS or MODULE_LAYERS"


def test_no_module_imports_a_higher_layer():
    assert layer_of("colornet.train.loop") == "train" and len(package_modules()) > 60
    assert list(upward_imports()) == []


def write_modules(root, sources):
    for name, source in sources.items():
        path = root.joinpath(*name.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root / "colornet"


def test_the_layer_check_names_an_upward_import_even_inside_a_function(tmp_path):
    package = write_modules(tmp_path, {
        "colornet.__init__": "",
        "colornet.color": "",
        "colornet.train.__init__": "",
        "colornet.train.loop": (
            "from colornet import color\n\n\ndef best_model():\n"
            "    from colornet.apps import colorize\n"
        ),
        "colornet.apps.__init__": "",
        "colornet.apps.colorize": "from colornet.train import loop\n",
    })
    assert list(upward_imports(package)) == [
        "colornet.train.loop imports colornet.apps.colorize: train may not import apps"
    ]


def test_the_layer_check_finds_a_module_the_tables_leave_out(tmp_path):
    package = write_modules(tmp_path, {"colornet.__init__": "", "colornet.stray": ""})
    assert unplaced_modules(package) == ["colornet.stray"]


# "About 400 lines": a module longer than this mixes jobs that want modules of their own.
LONGEST_MODULE = 400


def test_no_module_of_the_package_is_longer_than_about_400_lines():
    long = {
        path.relative_to(PACKAGE).as_posix(): length
        for path in sorted(PACKAGE.rglob("*.py"))
        if (length := len(path.read_text().splitlines())) > LONGEST_MODULE
    }
    assert long == {}


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


def test_the_public_api_is_the_short_list_each_name_resolves_and_the_docstring_shows_it():
    import colornet

    public = sorted(set(colornet.__all__) - {"__version__"})
    assert len(public) <= 14, public  # "about ten names"
    out = run_python(
        "import colornet, inspect\n"
        f"for name in {public!r}:\n"
        "    value = getattr(colornet, name)\n"
        "    print(name, inspect.ismodule(value) or callable(value))\n"
    )
    assert out.split() == [word for name in public for word in (name, "True")]
    for name in public:  # the module docstring's example uses every public name
        assert f"colornet.{name}" in colornet.__doc__, name
    assert colornet.train_colorizer.__module__ == "colornet.train.loop"
    assert colornet.rgb_to_lab.__module__ == "colornet.color"
    assert sorted(dir(colornet)) == sorted(colornet.__all__)


def test_internal_subpackages_stay_reachable_and_unknown_names_fail_clearly():
    out = run_python("import colornet\nprint(colornet.nets.__name__, colornet.apps.__name__)")
    assert out.split() == ["colornet.nets", "colornet.apps"]
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
