"""Colorizing a colour photo with point hints simulated from its own colours, under one fixed
protocol: how `evaluate_folder(hint_points=...)` and benchmarks/hint_curve.py measure what
hints are worth (issue 30).

The protocol (Zhang et al.'s test sweep in their official code, colorization-pytorch's
test.py, at our working size):

- the photo's lightness goes to the model's working shape as in `colorize.colorize`, and its
  ab is resized to that shape the same way;
- N points are drawn by `hints.simulate_points` with N fixed: each a square patch of 1×1 to
  9×9 working pixels (side uniform), its top-left corner Gaussian around the centre, sigma a
  quarter of the room, each patch given the photo's mean ab over it;
- the random generator is `numpy.random.default_rng([seed, index])`, the photo's index in
  the sorted list: a photo's first k points are the same whatever N is (the draws come point
  by point), so the hints of a longer sweep contain those of a shorter one;
- the result's ab is resized back and laid over the full-resolution lightness, and scored
  against the original with `metrics.all_scores`, as `colornet evaluate` scores.

Imports the core, colornet.io, colornet.nets and `colorize`.
"""

import numpy as np

from colornet import color
from colornet.apps import colorize
from colornet.constants import DEFAULT_WORKING_SIZE
from colornet.errors import SettingError
from colornet.io import geometry
from colornet.nets import hints as hint_maps

# The protocol's seed: change it only to measure how much the figures move with it.
SEED = 0
# The counts of the sweep: the issue's, a subset of Zhang et al.'s (0 to 500, log-spaced).
POINT_COUNTS = (0, 1, 2, 5, 10, 20, 50, 100)


def simulated_hint_input(original_ab, working_shape, points, rng):
    """The hint input (h, w, 3) of `points` simulated hints for a photo (the protocol above).

    Args:
        original_ab: (H, W, 2) float a and b of the original, Lab units.
        working_shape: (h, w) the model sees the photo at.
        points: how many points (0: the zeros of no hint).
        rng: a `numpy.random.Generator` (`rng_for`).
    """
    small_ab = geometry.resize_channels(np.asarray(original_ab, np.float32), working_shape)
    return hint_maps.join(*hint_maps.simulate_hints(small_ab, rng, points=points))


def rng_for(index, seed=SEED):
    """The protocol's generator for the photo at `index` of a sorted list."""
    return np.random.default_rng([seed, index])


def colorize_with_simulated_hints(model, original, points, index, *, seed=SEED, reference=None,
                                  working_size=DEFAULT_WORKING_SIZE):
    """A colour photo colorized from its lightness and `points` hints simulated from it.

    Args:
        model: a colornet model; one trained without hints takes only points=0 and no
            reference (`colorize.check_takes`).
        original: float RGB (H, W, 3) in [0, 1], the colour photo.
        points: how many simulated point hints.
        index: the photo's index in its sorted list (which hints it gets, `rng_for`).
        reference: a colour photo (RGB or path) or reference vector steering the result.

    Returns:
        float32 RGB (H, W, 3) in [0, 1].
    """
    if points < 0:
        raise SettingError(f"points must be 0 or more, got {points}")
    colorize.check_takes(model, [None] * points, reference)
    lightness = color.rgb_to_lightness(original)  # (H, W)
    shape = colorize.working_shape(model, lightness.shape, working_size)
    small = geometry.resize_channels(lightness, shape)[None]  # (1, h, w)
    hint_input = None
    if points:
        original_ab = color.rgb_to_lab(original)[..., 1:]
        hint_input = simulated_hint_input(original_ab, shape, points, rng_for(index, seed))[None]
    ab = colorize.predict_at_working_shape(model, small, hint_input,
                                           colorize.reference_vector(reference))[0]
    return color.combine(lightness, geometry.resize_channels(ab, lightness.shape))
