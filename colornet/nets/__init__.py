"""Networks beyond the write-up's two (`colornet.models`): the pretrained colorizer's U-Net on
EfficientNet-Lite features (`lite_unet`), and Zhang et al.'s colour classification
(`zhang`). Both use keras.ops only, so they run on TensorFlow, JAX and PyTorch."""
