"""Tests for colornet.io: every format to the right numbers, folders, resizing, saving.

All files are generated inside each test's tmp_path; reference values come from the pixels
written, from Pillow's own EXIF transposition, and from scikit-image's Lab and resize.
"""

import os
import pathlib
import struct
import warnings
import zlib

import numpy as np
import PIL.Image
import PIL.ImageFile
import PIL.ImageOps
import pytest
import skimage.color
import skimage.transform

from colornet.io import decode, folders, geometry, save

# ---------------------------------------------------------------------------------------------
# Helpers that build files


def write_png_16bit(path, samples):
    """Write a 16-bit PNG by hand (Pillow cannot): grey, grey+alpha, RGB or RGBA.

    Rows cycle through all five PNG row filters, so a reader must undo each of them on the
    right byte stride (6 bytes a pixel for RGB, 8 for RGBA) to get the samples back.

    Args:
        samples: uint16 (H, W) grey or (H, W, C) with C = 2, 3 or 4.
    """
    samples = np.asarray(samples, dtype=">u2")
    channels = 1 if samples.ndim == 2 else samples.shape[2]
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    height, width = samples.shape[:2]
    bytes_per_pixel = 2 * channels
    previous = bytes(width * bytes_per_pixel)
    filtered_rows = []
    for row_index in range(height):
        row = samples[row_index].tobytes()
        filter_type = row_index % 5
        filtered = bytearray()
        for index, value in enumerate(row):
            left = row[index - bytes_per_pixel] if index >= bytes_per_pixel else 0
            up = previous[index]
            up_left = previous[index - bytes_per_pixel] if index >= bytes_per_pixel else 0
            predictor = [0, left, up, (left + up) // 2, paeth(left, up, up_left)][filter_type]
            filtered.append((value - predictor) % 256)
        filtered_rows.append(bytes([filter_type]) + bytes(filtered))
        previous = row

    def chunk(tag, data):
        checksum = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", checksum)

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    pathlib.Path(path).write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(filtered_rows)))
        + chunk(b"IEND", b"")
    )
    return path


def paeth(left, up, up_left):
    estimate = left + up - up_left
    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - up_left))
    return (left, up, up_left)[distances.index(min(distances))]


def random_rgb8(rng, height=6, width=8):
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def save_pillow(path, array, **options):
    PIL.Image.fromarray(array).save(path, **options)
    return path


# ---------------------------------------------------------------------------------------------
# load_rgb: formats and values


def test_png_8bit_comes_back_exactly_as_value_over_255(tmp_path, rng):
    pixels = random_rgb8(rng)
    rgb = decode.load_rgb(save_pillow(tmp_path / "photo.png", pixels))
    assert rgb.dtype == np.float32 and rgb.shape == (6, 8, 3)
    np.testing.assert_array_equal(rgb, pixels.astype(np.float32) / 255)


def test_load_rgb_accepts_str_and_path(tmp_path, rng):
    path = save_pillow(tmp_path / "photo.png", random_rgb8(rng))
    np.testing.assert_array_equal(decode.load_rgb(str(path)), decode.load_rgb(path))


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_png_16bit_keeps_full_precision(tmp_path, rng, channels):
    shape = (7, 9) if channels == 1 else (7, 9, channels)
    samples = rng.integers(0, 65536, shape, dtype=np.uint16)
    samples.flat[0] = 1000  # a value 8 bits would round to 771 or 1028
    if channels in (2, 4):
        samples[..., -1] = 65535  # opaque, so the colour comes through untouched
    rgb = decode.load_rgb(write_png_16bit(tmp_path / "deep.png", samples))
    colour = samples if channels == 1 else samples[..., : 3 if channels >= 3 else 1]
    expected = np.broadcast_to(
        (colour.reshape(7, 9, -1) / 65535).astype(np.float32), (7, 9, 3)
    )
    assert rgb.shape == (7, 9, 3)
    np.testing.assert_allclose(rgb, expected, atol=1e-6, rtol=0)
    assert abs(rgb.reshape(-1)[0] - 1000 / 65535) < 1e-6


def test_png_16bit_rgba_composites_onto_white_at_full_precision(tmp_path):
    samples = np.zeros((1, 2, 4), dtype=np.uint16)
    samples[0, 0] = (1000, 2000, 3000, 0)  # fully clear
    samples[0, 1] = (1000, 2000, 3000, 65535)  # fully opaque
    rgb = decode.load_rgb(write_png_16bit(tmp_path / "deep.png", samples))
    np.testing.assert_allclose(rgb[0, 0], [1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(rgb[0, 1], np.array([1000, 2000, 3000]) / 65535, atol=1e-6)


def test_grey_png_becomes_three_equal_channels(tmp_path, rng):
    grey = rng.integers(0, 256, (5, 4), dtype=np.uint8)
    rgb = decode.load_rgb(save_pillow(tmp_path / "grey.png", grey))
    assert rgb.shape == (5, 4, 3)
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel], grey / np.float32(255))


def test_one_bit_image_becomes_black_and_white(tmp_path):
    bits = PIL.Image.new("1", (4, 2), 0)
    bits.putpixel((1, 0), 1)
    bits.save(tmp_path / "bits.png")
    rgb = decode.load_rgb(tmp_path / "bits.png")
    assert rgb[0, 1].tolist() == [1, 1, 1] and rgb[0, 0].tolist() == [0, 0, 0]


def test_rgba_alpha_is_composited_onto_white(tmp_path):
    pixels = np.array(
        [[[200, 10, 30, 0], [200, 10, 30, 255], [200, 10, 30, 51]]], dtype=np.uint8
    )
    rgb = decode.load_rgb(save_pillow(tmp_path / "clear.png", pixels))
    np.testing.assert_array_equal(rgb[0, 0], [1, 1, 1])  # alpha 0: white
    np.testing.assert_allclose(rgb[0, 1], np.array([200, 10, 30]) / 255, atol=1e-7)
    alpha = 51 / 255
    expected = np.array([200, 10, 30]) / 255 * alpha + (1 - alpha)
    np.testing.assert_allclose(rgb[0, 2], expected, atol=1e-6)


def test_grey_with_alpha_is_composited_onto_white(tmp_path):
    pixels = np.array([[[40, 0], [40, 255]]], dtype=np.uint8)
    rgb = decode.load_rgb(save_pillow(tmp_path / "clear.png", pixels))
    np.testing.assert_array_equal(rgb[0, 0], [1, 1, 1])
    np.testing.assert_allclose(rgb[0, 1], [40 / 255] * 3, atol=1e-7)


def test_palette_image_gives_its_palette_colours(tmp_path):
    palette_image = PIL.Image.new("P", (3, 1))
    palette_image.putpalette([255, 0, 0, 0, 128, 0, 0, 0, 255])
    palette_image.putdata([0, 1, 2])
    palette_image.save(tmp_path / "palette.png")
    rgb = decode.load_rgb(tmp_path / "palette.png")
    np.testing.assert_allclose(rgb[0], [[1, 0, 0], [0, 128 / 255, 0], [0, 0, 1]], atol=1e-7)


def test_palette_transparent_index_becomes_white(tmp_path):
    palette_image = PIL.Image.new("P", (2, 1))
    palette_image.putpalette([255, 0, 0, 0, 0, 255])
    palette_image.putdata([0, 1])
    palette_image.save(tmp_path / "palette.png", transparency=0)
    rgb = decode.load_rgb(tmp_path / "palette.png")
    np.testing.assert_array_equal(rgb[0], [[1, 1, 1], [0, 0, 1]])


def test_gif_gives_its_first_frame(tmp_path):
    frames = [PIL.Image.new("RGB", (4, 4), colour) for colour in [(255, 0, 0), (0, 0, 255)]]
    frames[0].save(tmp_path / "animation.gif", save_all=True, append_images=frames[1:])
    rgb = decode.load_rgb(tmp_path / "animation.gif")
    assert rgb.shape == (4, 4, 3)
    np.testing.assert_allclose(rgb[0, 0], [1, 0, 0], atol=1e-7)


def test_cmyk_jpeg_gives_roughly_the_right_colour(tmp_path):
    red_in_cmyk = (0, 255, 255, 0)
    PIL.Image.new("CMYK", (16, 16), red_in_cmyk).save(tmp_path / "print.jpg", quality=95)
    rgb = decode.load_rgb(tmp_path / "print.jpg")
    assert rgb.shape == (16, 16, 3)
    np.testing.assert_allclose(rgb.mean(axis=(0, 1)), [1, 0, 0], atol=0.05)


def test_jpeg_comes_back_close(tmp_path, rng):
    smooth = np.linspace(0, 255, 32 * 32 * 3).reshape(32, 32, 3).astype(np.uint8)
    rgb = decode.load_rgb(save_pillow(tmp_path / "photo.jpg", smooth, quality=95))
    assert np.abs(rgb - smooth / 255).mean() < 0.02


def test_tiff_rgb_is_exact_and_16bit_grey_tiff_keeps_precision(tmp_path, rng):
    pixels = random_rgb8(rng)
    np.testing.assert_array_equal(
        decode.load_rgb(save_pillow(tmp_path / "photo.tif", pixels)), pixels / np.float32(255)
    )
    deep_grey = rng.integers(0, 65536, (5, 6), dtype=np.uint16)
    rgb = decode.load_rgb(save_pillow(tmp_path / "deep.tiff", deep_grey))
    np.testing.assert_allclose(rgb[..., 1], deep_grey / 65535, atol=1e-6)


@pytest.mark.parametrize(
    "layout",
    [
        {},
        {"byteorder": ">"},
        {"compression": "zlib"},
        {"rowsperstrip": 2},
        {"tile": (16, 16)},
    ],
    ids=["little-endian", "big-endian", "deflate", "strips", "tiles"],
)
@pytest.mark.parametrize("channels", [3, 4])
def test_tiff_16bit_colour_keeps_full_precision(tmp_path, rng, layout, channels):
    tifffile = pytest.importorskip("tifffile")
    samples = rng.integers(0, 65536, (20, 18, channels), dtype=np.uint16)
    samples[0, 0, 0] = 1000
    if channels == 4:
        samples[..., 3] = 65535
        layout = {**layout, "extrasamples": ["unassalpha"]}
    tifffile.imwrite(tmp_path / "deep.tif", samples, photometric="rgb", **layout)
    rgb = decode.load_rgb(tmp_path / "deep.tif")
    np.testing.assert_allclose(rgb, samples[..., :3] / 65535, atol=1e-6, rtol=0)


def test_float_grey_tiff_is_read_as_zero_to_one(tmp_path):
    values = np.array([[0.0, 0.25, 1.0, 1.5]], dtype=np.float32)
    rgb = decode.load_rgb(save_pillow(tmp_path / "float.tiff", values))
    np.testing.assert_allclose(rgb[0, :, 0], [0, 0.25, 1, 1])  # 1.5 clipped


def test_webp_lossless_is_exact(tmp_path, rng):
    pixels = random_rgb8(rng)
    rgb = decode.load_rgb(save_pillow(tmp_path / "photo.webp", pixels, lossless=True))
    np.testing.assert_array_equal(rgb, pixels / np.float32(255))


def test_bmp_is_exact(tmp_path, rng):
    pixels = random_rgb8(rng)
    rgb = decode.load_rgb(save_pillow(tmp_path / "photo.bmp", pixels))
    np.testing.assert_array_equal(rgb, pixels / np.float32(255))


def save_with_orientation(path, pixels, orientation):
    exif = PIL.Image.Exif()
    exif[0x0112] = orientation
    PIL.Image.fromarray(pixels).save(path, exif=exif)
    return path


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow_exif_transpose(tmp_path, rng, orientation):
    pixels = random_rgb8(rng, height=3, width=5)
    path = save_with_orientation(tmp_path / "turned.png", pixels, orientation)
    with PIL.Image.open(path) as image:
        expected = np.asarray(PIL.ImageOps.exif_transpose(image)) / np.float32(255)
    np.testing.assert_array_equal(decode.load_rgb(path), expected)


def test_exif_orientation_6_turns_a_landscape_jpeg_portrait(tmp_path, rng):
    pixels = random_rgb8(rng, height=16, width=32)
    path = save_with_orientation(tmp_path / "turned.jpg", pixels, 6)
    assert decode.load_rgb(path).shape == (32, 16, 3)


def test_exif_orientation_applies_to_16bit_png(tmp_path, rng):
    samples = rng.integers(0, 65536, (3, 5, 3), dtype=np.uint16)
    path = write_png_16bit(tmp_path / "deep.png", samples)
    # Re-saving through Pillow would lose the low bytes, so splice an eXIf chunk in by hand.
    exif = PIL.Image.Exif()
    exif[0x0112] = 8
    exif_bytes = exif.tobytes()
    data = path.read_bytes()
    chunk_data = b"eXIf" + exif_bytes
    exif_chunk = (
        struct.pack(">I", len(exif_bytes))
        + chunk_data
        + struct.pack(">I", zlib.crc32(chunk_data) & 0xFFFFFFFF)
    )
    end_of_header = 8 + 25  # signature + IHDR chunk
    path.write_bytes(data[:end_of_header] + exif_chunk + data[end_of_header:])
    rgb = decode.load_rgb(path)
    np.testing.assert_allclose(rgb, np.rot90(samples, k=1) / 65535, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Lightness and grey


def test_load_lightness_matches_skimage_rgb2lab(tmp_path, rng):
    pixels = random_rgb8(rng, height=8, width=8)
    lightness = decode.load_lightness(save_pillow(tmp_path / "photo.png", pixels))
    assert lightness.shape == (8, 8) and lightness.dtype == np.float32
    np.testing.assert_allclose(lightness, skimage.color.rgb2lab(pixels)[..., 0], atol=1e-3)


def test_load_grey_rgb_has_equal_channels_and_the_photos_lightness(tmp_path, rng):
    pixels = random_rgb8(rng, height=8, width=8)
    grey = decode.load_grey_rgb(save_pillow(tmp_path / "photo.png", pixels))
    assert grey.shape == (8, 8, 3) and grey.dtype == np.float32
    np.testing.assert_array_equal(grey[..., 0], grey[..., 1])
    np.testing.assert_array_equal(grey[..., 0], grey[..., 2])
    grey_lab = skimage.color.rgb2lab(grey.astype(np.float64))
    np.testing.assert_allclose(grey_lab[..., 0], skimage.color.rgb2lab(pixels)[..., 0], atol=1e-3)
    # Equal sRGB channels sit a few thousandths off a* = b* = 0 in skimage's D65 matrices.
    np.testing.assert_allclose(grey_lab[..., 1:], 0, atol=0.01)


# ---------------------------------------------------------------------------------------------
# Bad input: always an ImageError naming the file


def make_missing(tmp_path):
    return tmp_path / "missing.png"


def make_folder(tmp_path):
    folder = tmp_path / "folder.png"
    folder.mkdir()
    return folder


def make_empty(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    return path


def make_truncated_jpeg(tmp_path):
    path = save_pillow(tmp_path / "whole.jpg", np.full((64, 64, 3), 90, np.uint8))
    data = path.read_bytes()
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(data[: len(data) // 2])
    return truncated


def make_truncated_png(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = save_pillow(tmp_path / "whole.png", noise).read_bytes()
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(data[: len(data) // 2])
    return truncated


def make_text_named_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("not a photo\n")
    return path


def make_zero_width_png(tmp_path):
    path = write_png_16bit(tmp_path / "zero.png", np.zeros((1, 1), np.uint16))
    data = bytearray(path.read_bytes())
    data[16:20] = struct.pack(">I", 0)  # IHDR width, with the chunk's checksum made valid again
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    "make_path, problem",
    [
        (make_missing, "no such file"),
        (make_folder, "folder"),
        (make_empty, "empty"),
        (make_truncated_jpeg, "truncated"),
        (make_truncated_png, "truncated"),
        (make_text_named_jpg, "not an image"),
        (make_zero_width_png, "not an image"),
    ],
)
def test_bad_file_raises_image_error_naming_the_file(tmp_path, make_path, problem):
    path = make_path(tmp_path)
    with pytest.raises(decode.ImageError) as raised:
        decode.load_rgb(path)
    message = str(raised.value)
    assert path.name in message and problem in message
    assert "\n" not in message


def test_image_with_no_pixels_raises_image_error(tmp_path, rng, monkeypatch):
    # Pillow itself refuses zero-sized files (see the zero-width PNG above); this checks
    # the guard behind it, for a plugin that would not.
    path = save_pillow(tmp_path / "flat.png", random_rgb8(rng))
    real_open = PIL.Image.open

    def open_as_zero_wide(*args, **kwargs):
        image = real_open(*args, **kwargs)
        image._size = (0, image.height)
        return image

    monkeypatch.setattr(PIL.Image, "open", open_as_zero_wide)
    with pytest.raises(decode.ImageError, match="flat.png.*no pixels"):
        decode.load_rgb(path)


def test_truncated_file_error_chains_pillows_exception(tmp_path):
    with pytest.raises(decode.ImageError) as raised:
        decode.load_rgb(make_truncated_png(tmp_path))
    assert isinstance(raised.value.__cause__, OSError)
    assert PIL.ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_image_over_max_pixels_is_refused_before_decoding(tmp_path, rng, monkeypatch):
    path = save_pillow(tmp_path / "big.png", random_rgb8(rng, height=20, width=30))

    def decoding_is_a_failure(*args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(PIL.ImageFile.ImageFile, "load", decoding_is_a_failure)
    with pytest.raises(decode.ImageError, match="big.png.*600 pixels.*max_pixels=599"):
        decode.load_rgb(path, max_pixels=599)


def test_image_at_max_pixels_or_without_a_limit_loads(tmp_path, rng):
    path = save_pillow(tmp_path / "big.png", random_rgb8(rng, height=20, width=30))
    assert decode.load_rgb(path, max_pixels=600).shape == (20, 30, 3)
    assert decode.load_rgb(path, max_pixels=None).shape == (20, 30, 3)


def test_pillows_decompression_bomb_warning_and_error_become_image_errors(
    tmp_path, rng, monkeypatch
):
    path = save_pillow(tmp_path / "bomb.png", random_rgb8(rng, height=20, width=30))
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 400)  # warns above 400, fails above 800
    with pytest.raises(decode.ImageError, match="bomb.png.*decompression bomb") as raised:
        decode.load_rgb(path, max_pixels=400)
    assert isinstance(raised.value.__cause__, PIL.Image.DecompressionBombWarning)
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 200)
    with pytest.raises(decode.ImageError, match="bomb.png.*decompression bomb") as raised:
        decode.load_rgb(path, max_pixels=10_000)
    assert isinstance(raised.value.__cause__, PIL.Image.DecompressionBombError)


def test_raising_max_pixels_above_pillows_warning_threshold_silences_it(
    tmp_path, rng, monkeypatch
):
    path = save_pillow(tmp_path / "big.png", random_rgb8(rng, height=20, width=30))
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 400)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert decode.load_rgb(path, max_pixels=700).shape == (20, 30, 3)


# ---------------------------------------------------------------------------------------------
# Folders


def make_image(path, size=(4, 4), colour=(10, 20, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    # Files without a suffix are still written as PNG, to test that the suffix decides.
    image_format = None if path.suffix else "PNG"
    PIL.Image.new("RGB", (size[1], size[0]), colour).save(path, format=image_format)
    return path


def test_list_images_finds_images_recursively_and_sorted(tmp_path):
    for name in ["b.png", "a.jpg", "sub/c.png", "sub/deeper/a.webp", "A.JPG"]:
        make_image(tmp_path / name)
    found = folders.list_images(tmp_path)
    assert [path.relative_to(tmp_path).as_posix() for path in found] == [
        "A.JPG",
        "a.jpg",
        "b.png",
        "sub/c.png",
        "sub/deeper/a.webp",
    ]
    assert all(isinstance(path, pathlib.Path) for path in found)


def test_list_images_without_recursion_ignores_subfolders(tmp_path):
    make_image(tmp_path / "top.png")
    make_image(tmp_path / "sub" / "inner.png")
    assert folders.list_images(tmp_path, recursive=False) == [tmp_path / "top.png"]


def test_list_images_warns_once_naming_skipped_files_and_ignores_hidden_ones(tmp_path):
    make_image(tmp_path / "photo.png")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "fake.jpg").write_text("not an image")
    (tmp_path / ".DS_Store").write_bytes(b"\0\0")
    (tmp_path / "._photo.png").write_bytes(b"\0\0")
    (tmp_path / "Thumbs.db").write_bytes(b"\0\0")
    make_image(tmp_path / ".hidden" / "cached.png")
    with pytest.warns(UserWarning) as caught:
        found = folders.list_images(tmp_path)
    assert found == [tmp_path / "photo.png"]
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "skipped 2" in message and "fake.jpg" in message and "notes.txt" in message
    assert "DS_Store" not in message and "Thumbs" not in message


def test_list_images_of_a_clean_folder_does_not_warn(tmp_path):
    make_image(tmp_path / "photo.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        folders.list_images(tmp_path)


def test_list_images_of_an_empty_folder_says_what_it_looked_for(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    looked_for = r"no images found in '.*empty' \(looked for .*\.jpg"
    with pytest.raises(decode.ImageError, match=looked_for):
        folders.list_images(empty)


def test_list_images_of_a_folder_with_only_other_files_names_them(tmp_path):
    (tmp_path / "readme.md").write_text("hello")
    with pytest.raises(decode.ImageError, match="no images found.*readme.md"):
        folders.list_images(tmp_path)


def test_list_images_of_a_missing_folder_or_a_file_raises(tmp_path):
    with pytest.raises(decode.ImageError, match="folder not found: '.*nowhere'"):
        folders.list_images(tmp_path / "nowhere")
    photo = make_image(tmp_path / "photo.png")
    with pytest.raises(decode.ImageError, match="photo.png' is a file, not a folder"):
        folders.list_images(photo)


def test_a_folder_holds_every_photo_pillow_reads_as_a_single_file_does(tmp_path):
    # One rule for what is a photo: a .pgm that `colornet colorize photo.pgm` colorizes is
    # no "non-image" in a folder; a file Pillow only names (an HDF5 of weights) is one.
    for name in ("scan.pgm", "scan.ppm", "old.tga", "photo.png"):
        make_image(tmp_path / name)
    (tmp_path / "weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    with pytest.warns(UserWarning, match=r"skipped 1 non-image file\(s\).*weights\.h5"):
        found = folders.list_images(tmp_path)
    assert [path.name for path in found] == ["old.tga", "photo.png", "scan.pgm", "scan.ppm"]
    assert all(decode.load_rgb(path).shape == (4, 4, 3) for path in found)
    assert folders.list_images(tmp_path, check_headers=False) == found


def test_is_image_file_checks_suffix_and_header(tmp_path):
    assert folders.is_image_file(make_image(tmp_path / "photo.PNG"))
    (tmp_path / "fake.png").write_text("text")
    assert not folders.is_image_file(tmp_path / "fake.png")
    assert not folders.is_image_file(tmp_path / "missing.png")
    assert not folders.is_image_file(tmp_path)
    make_image(tmp_path / "no_suffix")
    assert not folders.is_image_file(tmp_path / "no_suffix")


# ---------------------------------------------------------------------------------------------
# load_images


def test_load_images_stacks_in_order(tmp_path):
    paths = [
        make_image(tmp_path / "red.png", colour=(255, 0, 0)),
        make_image(tmp_path / "blue.png", colour=(0, 0, 255)),
    ]
    batch = folders.load_images(paths)
    assert batch.shape == (2, 4, 4, 3) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch[0, 0, 0], [1, 0, 0])
    np.testing.assert_array_equal(batch[1, 0, 0], [0, 0, 1])


def test_load_images_of_mixed_sizes_names_two_files_and_suggests_size(tmp_path):
    paths = [
        make_image(tmp_path / "small.png", size=(4, 6)),
        make_image(tmp_path / "same.png", size=(4, 6)),
        make_image(tmp_path / "large.png", size=(8, 8)),
    ]
    with pytest.raises(decode.ImageError) as raised:
        folders.load_images(paths)
    message = str(raised.value)
    assert "small.png" in message and "(4, 6)" in message
    assert "large.png" in message and "(8, 8)" in message
    assert "size=" in message


def test_load_images_with_size_crops_and_resizes_to_it(tmp_path):
    paths = [
        make_image(tmp_path / "wide.png", size=(10, 30)),
        make_image(tmp_path / "tall.png", size=(40, 12)),
    ]
    assert folders.load_images(paths, size=8).shape == (2, 8, 8, 3)
    assert folders.load_images(paths, size=(6, 9)).shape == (2, 6, 9, 3)


def test_load_images_of_nothing_or_of_a_folder_path_raises(tmp_path):
    with pytest.raises(decode.ImageError, match="empty"):
        folders.load_images([])
    with pytest.raises(decode.ImageError, match="list_images"):
        folders.load_images(tmp_path)


# ---------------------------------------------------------------------------------------------
# resize_and_crop


def three_bands(height, width):
    """(height, width, 3): red left quarter, green middle half, blue right quarter."""
    rgb = np.zeros((height, width, 3), dtype=np.float32)
    rgb[:, : width // 4, 0] = 1
    rgb[:, width // 4 : 3 * width // 4, 1] = 1
    rgb[:, 3 * width // 4 :, 2] = 1
    return rgb


def test_resize_and_crop_keeps_the_centre_of_a_wide_image():
    square = geometry.resize_and_crop(three_bands(100, 200), 50)
    assert square.shape == (50, 50, 3) and square.dtype == np.float32
    np.testing.assert_allclose(square, np.broadcast_to([0, 1, 0], square.shape), atol=1e-6)


def test_resize_and_crop_keeps_the_centre_of_a_tall_image():
    tall = three_bands(100, 200).swapaxes(0, 1)  # red top quarter, green middle, blue bottom
    wide = geometry.resize_and_crop(tall, (20, 40))
    assert wide.shape == (20, 40, 3)
    np.testing.assert_allclose(wide, np.broadcast_to([0, 1, 0], wide.shape), atol=1e-6)


def test_resize_and_crop_at_the_same_size_changes_nothing(rng):
    rgb = rng.random((12, 16, 3)).astype(np.float32)
    np.testing.assert_array_equal(geometry.resize_and_crop(rgb, (12, 16)), rgb)


def test_resize_and_crop_anti_aliases_when_shrinking():
    checkerboard = (np.indices((64, 64)).sum(axis=0) % 2).astype(np.float32)
    rgb = np.repeat(checkerboard[..., None], 3, axis=-1)
    small = geometry.resize_and_crop(rgb, 8)
    np.testing.assert_allclose(small, 0.5, atol=0.01)  # aliasing would give 0s and 1s


def test_resize_and_crop_agrees_with_skimage_on_a_smooth_image():
    rows, columns = np.mgrid[0:60, 0:90] / 90.0
    rgb = np.stack([rows, columns, 0.5 * (rows + columns)], axis=-1).astype(np.float32)
    ours = geometry.resize_and_crop(rgb, (20, 30))
    reference = skimage.transform.resize(rgb, (20, 30), anti_aliasing=True)
    np.testing.assert_allclose(ours, reference, atol=0.02)
    assert ours.min() >= 0 and ours.max() <= 1


def test_resize_and_crop_enlarges_and_accepts_grey_and_uint8():
    grey = np.full((4, 6), 128, dtype=np.uint8)
    enlarged = geometry.resize_and_crop(grey, (8, 8))
    assert enlarged.shape == (8, 8) and enlarged.dtype == np.float32
    np.testing.assert_allclose(enlarged, 128 / 255, atol=1e-6)


@pytest.mark.parametrize("size", [0, -3, (4,), (4, 0), 2.5, "64", True])
def test_resize_and_crop_rejects_bad_sizes(size):
    with pytest.raises(ValueError, match="size"):
        geometry.resize_and_crop(np.zeros((4, 4, 3), np.float32), size)


# ---------------------------------------------------------------------------------------------
# save_image


def test_save_png_round_trips_exactly(tmp_path, rng):
    pixels = random_rgb8(rng)
    path = save.save_image(tmp_path / "out.png", pixels / np.float32(255))
    assert path == tmp_path / "out.png"
    np.testing.assert_array_equal(np.asarray(PIL.Image.open(path)), pixels)
    save.save_image(tmp_path / "out8.png", pixels)
    np.testing.assert_array_equal(np.asarray(PIL.Image.open(tmp_path / "out8.png")), pixels)


def test_save_jpeg_comes_back_close(tmp_path):
    rows, columns = np.mgrid[0:32, 0:32] / 32.0
    rgb = np.stack([rows, columns, 1 - rows], axis=-1)
    path = save.save_image(tmp_path / "out.JPEG", rgb)
    assert np.abs(decode.load_rgb(path) - rgb).max() < 0.03


def test_save_grey_and_clips_out_of_range_values(tmp_path):
    grey = np.array([[-0.5, 0.5, 1.5]])
    path = save.save_image(tmp_path / "grey.png", grey)
    np.testing.assert_array_equal(np.asarray(PIL.Image.open(path)), [[0, 128, 255]])


def test_save_creates_missing_folders(tmp_path):
    path = save.save_image(tmp_path / "a" / "b" / "out.png", np.zeros((2, 2, 3)))
    assert path.is_file()


def test_save_refuses_to_overwrite_a_protected_input(tmp_path, rng):
    source = save_pillow(tmp_path / "input.png", random_rgb8(rng))
    original_bytes = source.read_bytes()
    same_file_spelled_differently = tmp_path / "sub" / ".." / "input.png"
    (tmp_path / "sub").mkdir()
    for target in [source, same_file_spelled_differently]:
        with pytest.raises(decode.ImageError, match="input.png"):
            save.save_image(target, np.zeros((2, 2, 3)), protected=[str(source)])
    assert source.read_bytes() == original_bytes
    save.save_image(tmp_path / "output.png", np.zeros((2, 2, 3)), protected=[source])
    with pytest.raises(decode.ImageError, match="overwrite"):
        save.save_image(source, np.zeros((2, 2, 3)), protected=str(source))  # one path
    assert source.read_bytes() == original_bytes


def test_save_refuses_a_protected_input_reached_through_a_symlink(tmp_path, rng):
    source = save_pillow(tmp_path / "input.png", random_rgb8(rng))
    link = tmp_path / "link.png"
    link.symlink_to(source)
    with pytest.raises(decode.ImageError, match="overwrite"):
        save.save_image(link, np.zeros((2, 2, 3)), protected=[source])


@pytest.mark.parametrize("name", ["out.bmp", "out.tiff", "out"])
def test_save_rejects_unsupported_suffixes(tmp_path, name):
    with pytest.raises(decode.ImageError, match="unsupported suffix"):
        save.save_image(tmp_path / name, np.zeros((2, 2, 3)))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "array, problem",
    [
        (np.zeros((2, 2, 4)), "shape"),
        (np.zeros((0, 2, 3)), "shape"),
        (np.zeros((2, 2, 3), dtype=np.int64), "int64"),
        (np.full((2, 2, 3), np.nan), "NaN"),
    ],
)
def test_save_rejects_arrays_that_are_not_images(tmp_path, array, problem):
    with pytest.raises(decode.ImageError, match=problem):
        save.save_image(tmp_path / "out.png", array)


def test_save_leaves_no_temporary_file_behind(tmp_path):
    save.save_image(tmp_path / "out.png", np.zeros((2, 2, 3)))
    save.save_image(tmp_path / "out.png", np.ones((2, 2, 3)))  # replacing an existing file
    assert [path.name for path in tmp_path.iterdir()] == ["out.png"]
    assert np.asarray(PIL.Image.open(tmp_path / "out.png")).min() == 255


def test_failed_save_keeps_the_previous_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = save.save_image(tmp_path / "out.png", np.zeros((2, 2, 3)))
    previous_bytes = path.read_bytes()

    def failing_encoder(image, file, *args, **kwargs):
        file.write(b"half an image")
        raise OSError("encoder error -2")

    monkeypatch.setattr(PIL.Image.Image, "save", failing_encoder)
    with pytest.raises(decode.ImageError, match="out.png.*encoder error") as raised:
        save.save_image(path, np.ones((2, 2, 3)))
    assert isinstance(raised.value.__cause__, OSError)
    assert path.read_bytes() == previous_bytes
    assert [entry.name for entry in tmp_path.iterdir()] == ["out.png"]


def test_saved_file_gets_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = save.save_image(tmp_path / "out.png", np.zeros((2, 2, 3)))
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_shrink_keeps_the_aspect_and_never_enlarges():
    photo = np.zeros((300, 600, 3), np.float32)
    assert geometry.shrink(photo, shorter_side=100).shape == (100, 200, 3)
    assert geometry.shrink(photo, longer_side=150).shape == (75, 150, 3)
    assert geometry.shrink(photo, shorter_side=1000) is photo
    with pytest.raises(ValueError, match="exactly one"):
        geometry.shrink(photo)
