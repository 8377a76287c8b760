"""Figures: Lab channels, before/after comparisons, and loss curves (matplotlib).

Every function returns a `matplotlib.figure.Figure` without showing it: scripts save it with
`save_figure`; a notebook shows it inline when it is a cell's last value (with the inline
backend on: `%matplotlib inline`). Images are float RGB in [0, 1], (H, W, 3).
"""

import pathlib

# Figures are built without pyplot: no global state, no display needed in scripts or CI, and
# Jupyter still shows a returned Figure inline.
import matplotlib.figure
import numpy as np

from colornet import _util, color


def lab_channels(rgb):
    """The photo and its L, a and b channels side by side, each on its own scale.

    Shows why the network predicts only a and b: L carries the detail, the colour channels are
    smooth.
    """
    lab = color.rgb_to_lab(rgb)
    figure = matplotlib.figure.Figure(figsize=(13, 3.6), layout="constrained")
    axes = figure.subplots(1, 4)
    axes[0].imshow(np.clip(rgb, 0, 1))
    axes[0].set_title("RGB")
    panels = [
        ("L (lightness, 0 to 100)", lab[..., 0], "gray", 0, color.L_MAX),
        ("a (green to red, ±128)", lab[..., 1], "RdYlGn_r", -color.AB_SCALE, color.AB_SCALE),
        ("b (blue to yellow, ±128)", lab[..., 2], "YlGnBu_r", -color.AB_SCALE, color.AB_SCALE),
    ]
    for axis, (title, channel, colormap, low, high) in zip(axes[1:], panels):
        shown = axis.imshow(channel, cmap=colormap, vmin=low, vmax=high)
        axis.set_title(title)
        figure.colorbar(shown, ax=axis, shrink=0.8)
    _hide_ticks(axes)
    return figure


def comparison(panels, titles=None, row_labels=None):
    """Images in a grid: one row per photo, e.g. grey | colorized | original.

    Args:
        panels: a list of rows, each a list of RGB images (or one row as a flat list).
        titles: a title per column, or a list of lists of titles per panel.
        row_labels: an optional label per row, shown left of it.
    """
    if panels and isinstance(panels[0], np.ndarray) and panels[0].ndim == 3:
        panels = [panels]
    rows, columns = len(panels), max(len(row) for row in panels)
    figure = matplotlib.figure.Figure(figsize=(4 * columns, 4 * rows), layout="constrained")
    axes = np.asarray(figure.subplots(rows, columns, squeeze=False))
    for row_index, row in enumerate(panels):
        for column_index, image in enumerate(row):
            axis = axes[row_index, column_index]
            axis.imshow(np.clip(image, 0, 1))
            title = _title_for(titles, row_index, column_index)
            if title:
                axis.set_title(title)
        if row_labels:
            axes[row_index, 0].set_ylabel(row_labels[row_index])
    _hide_ticks(axes.ravel())
    return figure


def before_after(grey, colorized, original=None, scores=None, grey_scores=None):
    """grey | colorized | original, with PSNR/SSIM under the images when given."""
    panels = [grey, colorized] + ([original] if original is not None else [])
    titles = ["grey input", "colorized"] + (["original"] if original is not None else [])
    if grey_scores:
        titles[0] += "\n" + format_scores(grey_scores)
    if scores:
        titles[1] += "\n" + format_scores(scores)
    return comparison([panels], titles=titles)


def loss_curve(losses, validation_losses=None, title="training loss", log_scale=True,
               baselines=None):
    """Loss per step or epoch, optionally with validation loss, on a log scale by default.

    Args:
        losses, validation_losses: one value per step (or, with validation, per epoch).
        baselines: optional {label: loss} drawn as dashed lines, e.g. the loss of predicting
            no colour at all (`comparison.no_colour_loss`).
    """
    figure = matplotlib.figure.Figure(figsize=(7, 4), layout="constrained")
    axis = figure.subplots()
    axis.plot(np.arange(1, len(losses) + 1), losses, label="training")
    if validation_losses is not None:
        axis.plot(np.arange(1, len(validation_losses) + 1), validation_losses, label="validation")
        axis.xaxis.get_major_locator().set_params(integer=True)  # whole epochs
    for index, (label, value) in enumerate((baselines or {}).items()):
        axis.axhline(value, color=f"C{index}", linestyle="--", label=label)
    if baselines:
        figure.set_size_inches(10, 4)
        axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    elif validation_losses is not None:
        axis.legend()
    if log_scale:
        axis.set_yscale("log")
    axis.set_xlabel("step" if validation_losses is None else "epoch")
    axis.set_ylabel("mean squared error of ab / 128")
    axis.set_title(title)
    axis.grid(True, alpha=0.3)
    return figure


def save_figure(figure, path, dpi=100):
    """Write a figure to PNG (or any format matplotlib knows by suffix) atomically."""
    path = pathlib.Path(path)
    with _util.atomic_output(path) as temporary:
        figure.savefig(temporary, dpi=dpi)
    return path


def format_scores(scores):
    return f"PSNR {scores['psnr']:.1f} dB, SSIM {scores['ssim']:.3f}"


def _title_for(titles, row_index, column_index):
    if not titles:
        return None
    if isinstance(titles[0], (list, tuple)):
        row_titles = titles[row_index] if row_index < len(titles) else []
        return row_titles[column_index] if column_index < len(row_titles) else None
    return titles[column_index] if row_index == 0 and column_index < len(titles) else None


def _hide_ticks(axes):
    for axis in axes:
        axis.set_xticks([])
        axis.set_yticks([])
