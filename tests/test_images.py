"""Decoding image files with Pillow (core/images.py): formats, early size limits, bounded memory."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from _png import write_png
from PIL import Image

from cnnviz.core.digit_styles import enlarged, on_paper
from cnnviz.core.images import (MAX_SIDE, ImageFileError, digit_model_input, read_digit, read_grey, read_image,
                                read_pixels, to_greyscale)


@pytest.fixture
def seven_on_paper(mnist) -> np.ndarray:
    """The first test digit (a 7) at 4×, dark ink on light paper, uint8 (128×128)."""
    return on_paper(np.pad(enlarged(mnist.x_test[0]), 8))


def test_png_jpeg_gif_bmp_read_alike(tmp_path, seven_on_paper):
    reference = digit_model_input(read_digit(seven_on_paper / 255.0))
    for suffix, options in ((".png", {}), (".jpg", {"quality": 90}), (".gif", {}), (".bmp", {})):
        path = tmp_path / f"seven{suffix}"
        Image.fromarray(seven_on_paper).save(path, **options)
        grey = read_grey(path)
        assert grey.shape == seven_on_paper.shape and grey.dtype == np.float32
        assert np.abs(digit_model_input(read_digit(path)) - reference).mean() < 0.01, suffix


def test_colour_alpha_palette_and_16_bit(tmp_path, seven_on_paper):
    rgb = np.stack([seven_on_paper, seven_on_paper // 2 + 100, seven_on_paper], axis=2)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    pixels = read_pixels(tmp_path / "rgb.png")
    assert pixels.shape == (*seven_on_paper.shape, 3)
    np.testing.assert_allclose(pixels * 255, rgb, atol=0.5)

    sixteen = seven_on_paper.astype(np.uint16) * 257
    Image.fromarray(sixteen).save(tmp_path / "grey16.png")
    np.testing.assert_allclose(read_grey(tmp_path / "grey16.png"), seven_on_paper / 255.0, atol=1e-4)

    palette = Image.fromarray(seven_on_paper).convert("P")
    palette.info["transparency"] = int(np.asarray(palette)[0, 0])   # the paper's colour is transparent
    palette.save(tmp_path / "transparent.gif")
    assert read_pixels(tmp_path / "transparent.gif").shape[2] in (2, 4)
    assert read_digit(tmp_path / "transparent.gif").found


def test_first_frame_of_an_animation(tmp_path, seven_on_paper):
    frames = [Image.fromarray(seven_on_paper), Image.fromarray(np.full_like(seven_on_paper, 245))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    assert read_digit(tmp_path / "anim.gif").found


def test_exif_orientation_turns_a_photo_upright(tmp_path, seven_on_paper):
    stored = np.ascontiguousarray(np.rot90(seven_on_paper, 1))     # the camera held sideways
    exif = Image.Exif()
    exif[0x0112] = 6                                                # "rotate 90° clockwise to view"
    Image.fromarray(stored).save(tmp_path / "sideways.png", exif=exif)
    np.testing.assert_allclose(read_grey(tmp_path / "sideways.png"), seven_on_paper / 255.0, atol=1 / 255)


def test_large_pictures_are_scaled_down_to_max_side(tmp_path, seven_on_paper):
    big = np.asarray(Image.fromarray(seven_on_paper).resize((3000, 3000), Image.Resampling.BICUBIC))
    for suffix in (".png", ".jpg"):
        Image.fromarray(big).save(tmp_path / f"big{suffix}")
        grey = read_grey(tmp_path / f"big{suffix}")
        assert max(grey.shape) <= MAX_SIDE and max(grey.shape) >= MAX_SIDE // 2
        assert read_digit(tmp_path / f"big{suffix}").found


def _png_declaring(path, width: int, height: int):
    """A tiny PNG whose header declares width × height 8-bit grey pixels (its data is far too short)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("size", [(100_000, 100_000), (20_000, 2_500), (65_000, 65_000)])
def test_huge_declared_size_is_refused_from_the_header_as_too_large(tmp_path, size):
    """Issue 15 item 6: refused before decoding, and called "too large", not "not a readable image"."""
    path = _png_declaring(tmp_path / "huge.png", *size)
    with pytest.raises(ImageFileError, match="too large") as raised:
        read_pixels(path)
    assert "not a readable image" not in str(raised.value)


def _peak_memory_mb_reading(path) -> float:
    """Peak memory (MB) of a fresh process that reads `path` the way `cnnviz predict` does."""
    code = ("import resource, sys\n"
            "from cnnviz.core.images import read_digit, digit_model_input\n"
            "digit_model_input(read_digit(sys.argv[1]))\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return float(done.stdout.strip())


def test_a_one_pixel_high_picture_costs_little_memory(tmp_path):
    """Issue 15 item 5: a 1×999,999 PNG (1 KB) took 4.1 GB; a 1×5,000,000 BMP needed over 25 GB."""
    baseline = _peak_memory_mb_reading(write_png(tmp_path / "small.png", np.full((40, 40), 255, np.uint8)))
    line = np.full((1, 999_999), 255, np.uint8)
    line[0, 400_000:600_000] = 0
    Image.fromarray(line).save(tmp_path / "line.png")
    assert (tmp_path / "line.png").stat().st_size < 10_000
    assert _peak_memory_mb_reading(tmp_path / "line.png") - baseline < 100
    Image.fromarray(np.full((1, 5_000_000), 200, np.uint8)).save(tmp_path / "line.bmp")
    assert _peak_memory_mb_reading(tmp_path / "line.bmp") - baseline < 100


@pytest.mark.parametrize("content, message", [
    (b"this is not a picture", "notes.png is not a readable image"),
    (b"\x89PNG\r\n\x1a\nnot really", "notes.png is not a readable image"),
    (b"", "notes.png is empty"),
])
def test_unreadable_files_raise_a_clear_error(tmp_path, content, message):
    (tmp_path / "notes.png").write_bytes(content)
    with pytest.raises(ImageFileError, match=message):
        read_pixels(tmp_path / "notes.png")


def test_truncated_png_and_formats_not_offered_are_refused(tmp_path, seven_on_paper):
    write_png(tmp_path / "whole.png", seven_on_paper)
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageFileError, match="cut.png is not a readable image"):
        read_pixels(tmp_path / "cut.png")
    Image.fromarray(seven_on_paper).save(tmp_path / "seven.tiff")
    with pytest.raises(ImageFileError, match="not a readable image"):
        read_pixels(tmp_path / "seven.tiff")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageFileError, match="No file at"):
        read_pixels(tmp_path / "missing.png")
    with pytest.raises(ImageFileError, match="is a folder, not an image file"):
        read_pixels(tmp_path)


def test_read_image_is_the_digit_cropped_white_on_black(tmp_path, seven_on_paper):
    path = write_png(tmp_path / "seven.png", seven_on_paper)
    digit = read_image(path)
    assert digit.shape[0] < seven_on_paper.shape[0] and digit.shape[1] < seven_on_paper.shape[1]
    assert digit.max() == pytest.approx(1.0, abs=0.05) and digit[0].max() > 0 and digit[:, 0].max() > 0
    blank = read_image(write_png(tmp_path / "blank.png", np.full((30, 40), 250, np.uint8)))
    assert blank.shape == (30, 40) and not blank.any()


def test_to_greyscale_flattens_transparency_against_the_ink():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[1:3, 1:3] = (0, 0, 0, 255)          # black ink, transparent elsewhere
    grey = to_greyscale(rgba)
    assert grey[0, 0] == 1.0 and grey[1, 1] == 0.0


def test_core_modules_stay_qt_free_and_cheap():
    """Importing the image, ink and preprocessing modules pulls in neither Qt, TensorFlow nor Pillow."""
    code = ("import sys, cnnviz.core.images, cnnviz.core.ink, cnnviz.core.preprocess, cnnviz.core.digit_styles; "
            "print(sorted(m for m in ('PySide6', 'pyqtgraph', 'tensorflow', 'keras', 'PIL') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
