"""The research notebooks run top to bottom with shrunken parameters, and stay thin clients.

Each notebook is executed by papermill in its own folder (as a reader runs it), with the values
of its `parameters` cell replaced by small ones so that it finishes in seconds.
"""

import ast
import pathlib

import nbformat
import papermill
import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
VERSION_1 = REPO_ROOT / "Version_1" / "version_1.ipynb"


def run_notebook(path, parameters, tmp_path):
    """Execute the notebook at `path` with `parameters` in its folder; return the executed copy.

    Raises papermill's PapermillExecutionError, naming the cell and the error, if any cell fails.
    """
    path = pathlib.Path(path)
    executed_path = tmp_path / f"{path.stem}_executed.ipynb"
    papermill.execute_notebook(
        str(path),
        str(executed_path),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(path.parent),
        progress_bar=False,
    )
    return nbformat.read(executed_path, as_version=4)


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def output_texts(notebook):
    """Every printed or displayed text of the notebook's code cells."""
    texts = []
    for cell in code_cells(notebook):
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                texts.append(output.text)
            elif "text/plain" in output.get("data", {}):
                texts.append(output.data["text/plain"])
    return texts


def image_outputs(notebook):
    return [
        output
        for cell in code_cells(notebook)
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]


# A thin client's cell calls the library and shows what it returns: a few lines, no loops or
# definitions (analysis written in a notebook belongs in colornet, where it is tested).
LONGEST_CELL = 15
_LIBRARY_CODE = (ast.For, ast.While, ast.With, ast.FunctionDef, ast.ClassDef, ast.Lambda)


def library_code_in(source):
    """What a code cell holds that belongs in the library: loops, definitions, or too many
    lines. IPython magics (%matplotlib) are left out."""
    python = "\n".join(line for line in source.splitlines() if not line.startswith(("%", "!")))
    found = sorted({type(node).__name__ for node in ast.walk(ast.parse(python))
                    if isinstance(node, _LIBRARY_CODE)})
    lines = len(python.strip().splitlines())
    return found + ([f"{lines} lines"] if lines > LONGEST_CELL else [])


def assert_thin_client(path):
    """The notebook defines no library code and has exactly one `parameters` cell, first."""
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(code_cells(notebook)):
        found = library_code_in(cell.source)
        assert not found, f"{path.name}, code cell {index + 1}, holds library code: {found}"
    tagged = [
        cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])
    ]
    assert len(tagged) == 1, f"{path.name} has {len(tagged)} cells tagged 'parameters', not 1"
    assert tagged[0] is code_cells(notebook)[0], "the parameters cell must be the first code cell"


def test_the_thin_client_check_finds_loops_definitions_and_long_cells():
    assert library_code_in("%matplotlib inline\nresult = training.train(config, run_dir)") == []
    assert library_code_in("for path in paths:\n    print(path)") == ["For"]
    assert library_code_in("def helper():\n    return 1") == ["FunctionDef"]
    assert library_code_in("\n".join(["x = 1"] * (LONGEST_CELL + 1))) == ["16 lines"]


def test_version_1_notebook_is_a_thin_client_with_one_parameters_cell():
    assert_thin_client(VERSION_1)


@pytest.mark.slow
def test_version_1_notebook_trains_colorizes_and_saves_its_figure(tmp_path):
    figure_path = tmp_path / "comparison.png"
    executed = run_notebook(
        VERSION_1,
        {"image_size": 64, "steps": 30, "figure_path": str(figure_path)},
        tmp_path,
    )

    assert figure_path.stat().st_size > 0  # written where told, not over the committed picture
    printed = "\n".join(output_texts(executed))
    assert "32,202 parameters" in printed
    assert "trained 30 steps on 64×64 pixels" in printed
    assert "colorized:     PSNR" in printed and "grey baseline: PSNR" in printed
    # Lab channels, loss curve and the comparison, each shown inline.
    assert len(image_outputs(executed)) >= 3


FINAL_VERSION = REPO_ROOT / "Final_Version" / "final_version.ipynb"


def test_final_version_notebook_is_a_thin_client_with_one_parameters_cell():
    assert_thin_client(FINAL_VERSION)


# The Final notebook's settings shrunk to seconds: a random backbone, tiny photos and crops.
FINAL_SMALL_PARAMETERS = {
    "image_size": 32,
    "epochs": 2,
    "batch_size": 2,
    "backbone": "mobilenet_v3_small",
    "backbone_weights": None,
    "real_ablation_views": 1,
    "real_ablation_size": 16,
    "real_ablation_epochs": 1,
    "ablation_crops": 2,
    "ablation_size": 16,
    "ablation_epochs": 1,
}


def sample_corpus(folder):
    """A corpus laid out as `colornet corpus` lays it out (split folders, here without a
    MANIFEST), made of the sample photos: data/train as its train split, data/test held out."""
    import shutil

    shutil.copytree(REPO_ROOT / "data" / "train", folder / "train")
    shutil.copytree(REPO_ROOT / "data" / "test", folder / "held_out")
    return folder


def shown_pictures(notebook):
    """Figures shown inline, as PNG or JPEG (the Final notebook shows JPEG: a smaller file)."""
    return [
        output
        for cell in code_cells(notebook)
        for output in cell.get("outputs", [])
        if {"image/png", "image/jpeg"} & set(output.get("data", {}))
    ]


@pytest.mark.slow
@pytest.mark.parametrize("with_corpus", [False, True], ids=["without a corpus", "with a corpus"])
def test_final_version_notebook_trains_in_its_run_folder_and_scores_held_out_photos(
    tmp_path, with_corpus
):
    corpus_dir = sample_corpus(tmp_path / "corpus") if with_corpus else tmp_path / "no_corpus"
    run_dir = tmp_path / "run"
    figure_path = tmp_path / "fig.png"
    executed = run_notebook(
        FINAL_VERSION,
        {
            **FINAL_SMALL_PARAMETERS,
            "corpus_dir": str(corpus_dir),
            "run_dir": str(run_dir),
            "figure_path": str(figure_path),
        },
        tmp_path,
    )

    # Trained where told (not into Final_Version/runs/) and saved the figure where told.
    assert (run_dir / "best.keras").is_file()
    log_lines = (run_dir / "log.csv").read_text().splitlines()
    assert log_lines[0].split(",") == ["epoch", "loss", "val_loss"] and len(log_lines) == 3
    assert figure_path.stat().st_size > 0
    printed = "\n".join(output_texts(executed))
    # A corpus's train split is trained on and its held_out split scored; without one, the
    # notebook says so in one line and takes the sample photos (the same four and two here).
    if with_corpus:
        assert f"training photos from {corpus_dir / 'train'}; 2 held-out photos" in printed
        assert "no corpus at" not in printed
    else:
        assert f"no corpus at {corpus_dir}: the sample photos instead" in printed
        assert "training photos from ../data/train; 2 held-out photos" in printed
    assert "4 colour photos" in printed
    assert "6,541,202 parameters" in printed
    assert "trained 2 epochs in" in printed
    assert "validation: immunohistochemistry.jpg" in printed
    # Two score tables, the notebook's colorizer's then the shipped one's: a header, and grey
    # and colorized scores for each held-out photo; then each one's means with colourfulness.
    assert printed.count("grey colorized") == 2 * 2  # in each table, for PSNR and for SSIM
    rows = [line for line in printed.splitlines()  # the classifier's rows give percentages
            if line.startswith(("chelsea.jpg", "rocket.jpg")) and "%" not in line]
    assert len(rows) == 4 and all(len(row.split()) == 5 for row in rows), rows
    for colorizer in ("colornet", "shipped"):
        assert f"{colorizer}, mean of 2 held-out photos: PSNR" in printed
    assert printed.count("of the originals'") == 2
    # The fusion ablation twice: on real photos (a view of each training photo, the held-out
    # photos' centre squares), then on tinted crops (two of each of four photos, one held out).
    assert "margin" in printed and "(4 training and 2 held-out crops, 1 epochs)" in printed
    assert "(8 training and 4 held-out crops, 1 epochs)" in printed
    # Training photos, augmentation, loss curve, and both colorizers' held-out comparisons.
    assert len(shown_pictures(executed)) >= 5


@pytest.mark.parametrize("path", [VERSION_1, FINAL_VERSION], ids=lambda path: path.name)
def test_running_a_notebook_as_written_changes_no_tracked_file(path):
    """Its default outputs (figure, run folder) land where git ignores them, so a reader's run
    leaves the checkout clean."""
    import re
    import subprocess

    notebook = nbformat.read(path, as_version=4)
    parameters = code_cells(notebook)[0].source
    outputs = re.findall(r'^(?:figure_path|run_dir) = "([^"]+)"', parameters, flags=re.MULTILINE)
    assert outputs, parameters
    for output in outputs:
        target = (path.parent / output).resolve().relative_to(REPO_ROOT)
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", str(target)], cwd=REPO_ROOT, check=False
        )
        assert ignored.returncode == 0, f"{path.name} writes {target}, which git tracks or would"
