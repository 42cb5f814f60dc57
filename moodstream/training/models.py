"""Model builders (Keras 3, any backend), as in the research prototypes.

Every builder takes ``input_shape`` (H, W, 1: grayscale in [0, 1]) and the
number of classes and returns an uncompiled ``keras.Model`` ending in a
softmax. Transfer models convert gray to RGB and resize inside the model, so
the classifier always feeds the same small gray crops.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
from keras import layers

from moodstream.classifier.layers import ChannelPool, ClassBoost
from moodstream.streams.schemas import EMOTIONS

N_CLASSES = len(EMOTIONS)
HARD_CLASSES = ("disgust", "fear", "sad")


def _conv_bn(x: Any, filters: int, kernel: int = 3, strides: int = 1, name: str | None = None) -> Any:
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation("relu")(x)


def baseline_cnn(input_shape: tuple[int, int, int] = (48, 48, 1), classes: int = N_CLASSES) -> keras.Model:
    """The research baseline: 3 stages of two 3x3 convs (64/128/256), BatchNorm, dropout 0.25 -> 0.45, GAP, dense 128."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for filters, drop in ((64, 0.25), (128, 0.35), (256, 0.45)):
        x = _conv_bn(x, filters)
        x = _conv_bn(x, filters)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(drop)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.45)(x)
    outputs = layers.Dense(classes, activation="softmax", name="probs", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="baseline_cnn")


def vgg_fer(
    input_shape: tuple[int, int, int] = (48, 48, 1),
    classes: int = N_CLASSES,
    widths: tuple[int, ...] = (64, 128, 256, 512),
    dense: tuple[int, ...] = (1024, 1024),
    dropout: float = 0.5,
) -> keras.Model:
    """A VGG-style FER network (Khaireddin & Chen, 2021: 73 % on FER2013 as one model): a teacher, not a student.

    Four stages of two 3x3 conv-BN-ReLU and a max-pool keep the face's layout down to 3x3 (flattened,
    not averaged: where a feature is matters for expressions), then dense layers with dropout. Too
    costly for the CPU pipeline; its soft targets train the small networks that run there.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for filters in widths:
        x = _conv_bn(x, filters)
        x = _conv_bn(x, filters)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    for units in dense:
        x = layers.Dropout(dropout)(x)
        x = layers.Dense(units, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(classes, activation="softmax", name="probs", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="vgg_fer")


def _squeeze_excite(x: Any, ratio: int = 16) -> Any:
    channels = x.shape[-1]
    s = layers.GlobalAveragePooling2D(keepdims=True)(x)
    s = layers.Dense(max(4, channels // ratio), activation="relu")(s)
    s = layers.Dense(channels, activation="sigmoid")(s)
    return layers.Multiply()([x, s])


def _residual(x: Any, filters: int, strides: int = 1) -> Any:
    shortcut = x
    y = _conv_bn(x, filters, strides=strides)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    if strides != 1 or shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False)(shortcut)
        shortcut = layers.BatchNormalization()(shortcut)
    return layers.Activation("relu")(layers.Add()([y, shortcut]))


def resemotenet(
    input_shape: tuple[int, int, int] = (48, 48, 1), classes: int = N_CLASSES, width: int = 64
) -> keras.Model:
    """ResEmoteNet: conv stem, squeeze-excitation, three residual blocks, dense 1024/512/256 with dropout 0.5."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv_bn(inputs, width)
    x = _conv_bn(x, width * 2)
    x = layers.MaxPooling2D()(x)
    x = _squeeze_excite(x)
    x = _residual(x, width * 4, strides=2)
    x = _residual(x, width * 8, strides=2)
    x = _residual(x, width * 16, strides=2)
    x = layers.GlobalAveragePooling2D()(x)
    for units in (1024, 512, 256):
        x = layers.Dense(units, activation="relu")(x)
        x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(classes, activation="softmax", name="probs", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="resemotenet")


def mini_xception(
    input_shape: tuple[int, int, int] = (48, 48, 1),
    classes: int = N_CLASSES,
    widths: tuple[int, ...] = (16, 32, 64, 128),
    l2: float = 0.01,
    input_scaling: str = "zero_1",
) -> keras.Model:
    """mini-Xception (Arriaga et al.): depthwise-separable residual modules, no dense layers, ~60k parameters.

    ``input_scaling="minus1_1"`` maps the pipeline's [0, 1] pixels to [-1, 1] inside the graph, so weights
    trained that way (the borrowed FER model's) can be fine-tuned and exported without changing how the
    classifier feeds the model.
    """
    if input_scaling not in ("zero_1", "minus1_1"):
        raise ValueError(f"input_scaling must be zero_1 or minus1_1, not {input_scaling!r}")
    reg = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    if input_scaling == "minus1_1":
        x = layers.Rescaling(2.0, offset=-1.0, name="to_minus1_1")(x)
    for _ in range(2):
        x = layers.Conv2D(8, 3, use_bias=False, kernel_regularizer=reg)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
    for filters in widths:
        shortcut = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False)(x)
        shortcut = layers.BatchNormalization()(shortcut)
        y = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, depthwise_regularizer=reg)(x)
        y = layers.BatchNormalization()(y)
        y = layers.Activation("relu")(y)
        y = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, depthwise_regularizer=reg)(y)
        y = layers.BatchNormalization()(y)
        y = layers.MaxPooling2D(3, strides=2, padding="same")(y)
        x = layers.Add()([y, shortcut])
    x = layers.Conv2D(classes, 3, padding="same")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Activation("softmax", name="probs", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="mini_xception")


def _rgb(x: Any, size: int) -> Any:
    """Gray [0, 1] -> RGB at ``size``, in the 0-255 range ImageNet backbones were trained on."""
    x = layers.Resizing(size, size, name="resize")(x)
    x = layers.Concatenate(name="gray_to_rgb")([x, x, x])
    return layers.Rescaling(255.0)(x)


def _backbone(variant: str, size: int, weights: str | None) -> keras.Model:
    apps = keras.applications
    if variant == "v1":
        base, prep = apps.ResNet50, apps.resnet.preprocess_input
    elif variant == "v2":
        base, prep = apps.ResNet50V2, apps.resnet_v2.preprocess_input
    else:
        raise ValueError(f"unknown ResNet50 variant {variant!r}")
    if weights is not None and not Path(weights).is_file():
        raise FileNotFoundError(f"ImageNet weights must be a local file (nothing is downloaded): {weights}")
    # weights=None always: Keras would otherwise try to download them.
    model = base(include_top=False, weights=None, input_shape=(size, size, 3))
    if weights:
        model.load_weights(weights)
    model._moodstream_preprocess = prep  # noqa: SLF001 - remembered for the wrapper below
    return model


def resnet50_transfer(
    input_shape: tuple[int, int, int] = (48, 48, 1),
    classes: int = N_CLASSES,
    variant: str = "v1",
    size: int = 96,
    weights: str | None = None,
) -> keras.Model:
    """ResNet50 / ResNet50V2 transfer: gray->RGB, resize, backbone (frozen in phase 1), GAP, dropout, softmax."""
    backbone = _backbone(variant, size, weights)
    backbone.trainable = False
    inputs = keras.Input(shape=input_shape, name="image")
    x = backbone._moodstream_preprocess(_rgb(inputs, size))  # noqa: SLF001
    x = backbone(x, training=False)  # BatchNorm stays in inference mode, also when unfrozen
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(classes, activation="softmax", name="probs", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=f"resnet50{'' if variant == 'v1' else 'v2'}_transfer")


def _cbam(x: Any, ratio: int = 16) -> Any:
    """Channel then spatial attention (CBAM)."""
    channels = x.shape[-1]
    mlp1 = layers.Dense(max(8, channels // ratio), activation="relu")
    mlp2 = layers.Dense(channels)
    avg = mlp2(mlp1(layers.GlobalAveragePooling2D(keepdims=True)(x)))
    mx = mlp2(mlp1(layers.GlobalMaxPooling2D(keepdims=True)(x)))
    x = layers.Multiply()([x, layers.Activation("sigmoid")(layers.Add()([avg, mx]))])
    pooled = layers.Concatenate()([ChannelPool("mean")(x), ChannelPool("max")(x)])
    spatial = layers.Conv2D(1, 7, padding="same", activation="sigmoid")(pooled)
    return layers.Multiply()([x, spatial])


def _transformer(tokens: Any, heads: int = 4, dim: int = 256) -> Any:
    x = layers.Dense(dim)(tokens)
    attn = layers.MultiHeadAttention(num_heads=heads, key_dim=dim // heads, dropout=0.1)(x, x)
    x = layers.LayerNormalization()(layers.Add()([x, attn]))
    ff = layers.Dense(dim * 2, activation="gelu")(x)
    ff = layers.Dense(dim)(ff)
    return layers.LayerNormalization()(layers.Add()([x, ff]))


def hybrid(
    input_shape: tuple[int, int, int] = (48, 48, 1),
    classes: int = N_CLASSES,
    size: int = 96,
    weights: str | None = None,
) -> keras.Model:
    """ResNet50 + channel/spatial attention + a transformer block + class-specific branches for the hard classes."""
    backbone = _backbone("v1", size, weights)
    backbone.trainable = False
    inputs = keras.Input(shape=input_shape, name="image")
    x = backbone._moodstream_preprocess(_rgb(inputs, size))  # noqa: SLF001
    x = backbone(x, training=False)
    x = _cbam(x)
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    tokens = layers.Reshape((h * w, c))(x)
    tokens = _transformer(tokens)
    features = layers.GlobalAveragePooling1D()(tokens)
    features = layers.Dropout(0.3)(features)
    logits = layers.Dense(classes, name="general")(features)
    # Each hard class gets a branch of its own that adds to its logit.
    boosts = []
    for i, name in enumerate(EMOTIONS[:classes]):
        if name in HARD_CLASSES:
            b = layers.Dense(64, activation="relu", name=f"branch_{name}")(features)
            b = layers.Dense(1, name=f"branch_{name}_logit")(b)
            boosts.append(ClassBoost(i, classes, name=f"branch_{name}_boost")(b))
    if boosts:
        logits = layers.Add()([logits, *boosts])
    outputs = layers.Activation("softmax", name="probs", dtype="float32")(logits)
    return keras.Model(inputs, outputs, name="hybrid")


BUILDERS: dict[str, Callable[..., keras.Model]] = {
    "vgg_fer": vgg_fer,
    "baseline_cnn": baseline_cnn,
    "resemotenet": resemotenet,
    "mini_xception": mini_xception,
    "resnet50": lambda **kw: resnet50_transfer(variant="v1", **kw),
    "resnet50v2": lambda **kw: resnet50_transfer(variant="v2", **kw),
    "hybrid": hybrid,
}
TRANSFER = {"resnet50", "resnet50v2", "hybrid"}


def build(name: str, input_size: int = 48, classes: int = N_CLASSES, **options: Any) -> keras.Model:
    if name not in BUILDERS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(BUILDERS)}")
    return BUILDERS[name](input_shape=(input_size, input_size, 1), classes=classes, **options)


def backbone_of(model: keras.Model) -> keras.Model | None:
    for layer in model.layers:
        if isinstance(layer, keras.Model) and layer.name.startswith("resnet50"):
            return layer
    return None


def freeze_batchnorm(model: keras.Model) -> int:
    """Keep every BatchNorm layer's statistics and scale as they are (they then run in inference mode), so
    fine-tuning a trained network on small batches cannot drift them; returns how many were frozen."""
    count = 0
    for layer in model._flatten_layers(include_self=False):  # noqa: SLF001 - nested models included
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
            count += 1
    return count


def unfreeze(model: keras.Model, fraction: float) -> int:
    """Make the top ``fraction`` of the backbone trainable, BatchNorm layers excepted; returns how many."""
    backbone = backbone_of(model)
    if backbone is None:
        return 0
    backbone.trainable = True
    n = len(backbone.layers)
    first = int(n * (1.0 - fraction))
    count = 0
    for i, layer in enumerate(backbone.layers):
        trainable = i >= first and not isinstance(layer, layers.BatchNormalization)
        layer.trainable = trainable
        count += int(trainable)
    return count
