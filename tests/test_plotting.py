"""Figures have the panels and titles a reader needs, and save atomically."""

import numpy as np

from colornet.apps import plotting


def test_lab_channels_shows_the_photo_and_three_channels():
    figure = plotting.lab_channels(np.random.default_rng(0).random((16, 16, 3)))
    titles = [axis.get_title() for axis in figure.axes if axis.get_title()]
    assert titles[0] == "RGB" and titles[1].startswith("L") and titles[2].startswith("a")


def test_before_after_puts_scores_under_the_right_panels():
    image = np.zeros((8, 8, 3))
    figure = plotting.before_after(image, image, image, scores={"psnr": 30.0, "ssim": 0.9},
                                   grey_scores={"psnr": 18.0, "ssim": 0.8})
    titles = [axis.get_title() for axis in figure.axes]
    assert titles == [
        "grey input\nPSNR 18.0 dB, SSIM 0.800",
        "colorized\nPSNR 30.0 dB, SSIM 0.900",
        "original",
    ]


def test_comparison_grid_has_one_row_per_photo():
    image = np.zeros((8, 8, 3))
    figure = plotting.comparison(
        [[image] * 3, [image] * 3], titles=["grey", "colorized", "original"],
    )
    assert len(figure.axes) == 6


def test_loss_curve_plots_every_value():
    figure = plotting.loss_curve([1.0, 0.5, 0.25], validation_losses=[1.1, 0.6, 0.3])
    lines = figure.axes[0].get_lines()
    assert [len(line.get_ydata()) for line in lines] == [3, 3]


def test_save_figure_writes_png_and_leaves_no_temporary_file(tmp_path):
    path = plotting.save_figure(plotting.loss_curve([1.0, 0.5]), tmp_path / "sub" / "loss.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == ["loss.png"]
