"""The networks: the nets layer, above colornet.io and below training and the applications.

It owns the write-up's two networks and their loading (`models`), the frozen ImageNet
classifiers whose scores are the colorizer's embedding (`backbones`, with EfficientNet-Lite and
its weight reader in `efficientnet_lite/`), the pretrained colorizer's U-Net (`lite_unet`) and
Zhang et al.'s colour classes (`zhang`), how a network computes (`precision`) and Keras helpers
(`keras_utils`, `profiling`); `colornet.pretrained`'s `load` belongs to it too. It may import
the core and colornet.io, and nothing above: no training, no application.
"""
