import io

import numpy as np
import pytest
from PIL import Image

from segcore.imageio import ImageError, atomic_write_bytes, encode_png, read_image, read_mask
from segcore.labels import CAMVID11


def png_bytes(array, mode=None, **save):
    buffer = io.BytesIO()
    (Image.fromarray(array, mode) if mode else Image.fromarray(array)).save(buffer, format="PNG", **save)
    return buffer.getvalue()


def jpeg_bytes(img: Image.Image, **save):
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", **save)
    return buffer.getvalue()


def test_reads_rgb_png_from_bytes_path_and_file(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    data = png_bytes(rgb)
    (tmp_path / "a.png").write_bytes(data)
    assert (read_image(data) == rgb).all()
    assert (read_image(tmp_path / "a.png") == rgb).all()
    assert (read_image(io.BytesIO(data)) == rgb).all()


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16"])
def test_other_modes_become_rgb(mode):
    if mode == "I;16":
        img = Image.fromarray(np.full((4, 4), 65535, dtype=np.uint16))
    else:
        img = Image.new(mode, (4, 4), 200 if mode in ("L", "P") else (10, 20, 30, 255))
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    out = read_image(buffer.getvalue())
    assert out.shape == (4, 4, 3) and out.dtype == np.uint8
    if mode == "I;16":
        assert out.max() == 255


def test_cmyk_jpeg_and_exif_rotation():
    cmyk = Image.new("CMYK", (6, 4), (0, 255, 255, 0))
    out = read_image(jpeg_bytes(cmyk))
    assert out.shape == (4, 6, 3) and out[..., 0].mean() > 150
    img = Image.new("RGB", (6, 4), (0, 0, 255))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 on display
    assert read_image(jpeg_bytes(img, exif=exif)).shape == (6, 4, 3)


def test_bad_files_have_clear_messages(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="empty"):
        read_image(b"")
    with pytest.raises(ImageError, match="not an image"):
        read_image(b"hello, I am text")
    good = png_bytes(np.zeros((64, 64, 3), dtype=np.uint8))
    with pytest.raises(ImageError, match="damaged or truncated"):
        read_image(good[: len(good) // 2])


def test_decompression_bomb_is_refused_from_the_header():
    bomb = png_bytes(np.zeros((2000, 2000), dtype=np.uint8), "L", optimize=True)
    assert len(bomb) < 100_000
    with pytest.raises(ImageError, match="MP limit"):
        read_image(bomb, max_pixels=1_000_000)


def test_mask_index_colour_and_errors():
    labels = np.array([[0, 1], [11, 3]], dtype=np.uint8)
    assert (read_mask(png_bytes(labels, "L"), CAMVID11) == labels).all()
    assert (read_mask(png_bytes(CAMVID11.colorize(labels)), CAMVID11) == labels).all()
    with pytest.raises(ImageError, match="200"):
        read_mask(png_bytes(np.array([[0, 200]], dtype=np.uint8), "L"), CAMVID11)
    with pytest.raises(ImageError, match="must have its image's size"):
        read_mask(png_bytes(labels, "L"), CAMVID11, size=(3, 3))
    odd = np.zeros((2, 2, 3), dtype=np.uint8)
    odd[0, 0] = (1, 200, 3)
    with pytest.raises(ImageError, match="palette"):
        read_mask(png_bytes(odd), CAMVID11)


def test_an_rgb_mask_of_greys_is_a_colour_mask_where_every_grey_is_a_palette_colour_else_ids():
    sky, void = CAMVID11.names.index("Sky"), CAMVID11.ignore_index
    all_void = CAMVID11.colorize(np.full((2, 3), void, dtype=np.uint8))          # (0, 0, 0) everywhere
    assert (read_mask(png_bytes(all_void), CAMVID11) == void).all()             # not class 0 (Sky) everywhere
    sky_and_void = CAMVID11.colorize(np.array([[sky, void, sky]], dtype=np.uint8))
    assert read_mask(png_bytes(sky_and_void), CAMVID11).tolist() == [[sky, void, sky]]
    ids = np.array([[0, 3, 11]], dtype=np.uint8)                                # ids written in three channels
    assert read_mask(png_bytes(np.repeat(ids[..., None], 3, axis=2)), CAMVID11).tolist() == ids.tolist()


def test_png_encoding_is_deterministic_and_writes_are_atomic(tmp_path):
    array = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    assert encode_png(array) == encode_png(array)
    target = atomic_write_bytes(tmp_path / "x" / "a.png", encode_png(array))
    assert (read_image(target) == array).all()
    assert [p.name for p in target.parent.iterdir()] == ["a.png"]


def test_files_over_the_byte_limit_are_refused_before_reading(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(b"\x89PNG" + b"\0" * 2000)
    with pytest.raises(ImageError, match="big.png: file is .* MB, over the"):
        read_image(path, max_bytes=1000)
    with pytest.raises(ImageError, match="limit"):
        read_image(path.read_bytes(), max_bytes=1000)


def test_a_strip_far_longer_than_wide_is_refused_in_one_line():
    """A 4000x1 image decodes, but a page's preview of it has no height (Pillow refuses to draw it)."""
    with pytest.raises(ImageError, match="4000x1, more than 64 times longer than it is wide; crop it"):
        read_image(png_bytes(np.zeros((1, 4000, 3), np.uint8)))
    with pytest.raises(ImageError, match="1x4000"):
        read_mask(png_bytes(np.zeros((4000, 1), np.uint8), "L"), CAMVID11)
    assert read_image(png_bytes(np.zeros((10, 640, 3), np.uint8))).shape == (10, 640, 3)


def saved(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_colour_mask_stored_with_a_palette_reads_as_its_colours_and_index_masks_stay_indices():
    from segcore.imageio import _voc_colormap
    ids = np.repeat(np.arange(12, dtype=np.uint8), 50).reshape(20, 30)        # 11: void
    colour = CAMVID11.color_mask(ids)
    expected = read_mask(png_bytes(colour), CAMVID11)
    quantized = Image.fromarray(colour).quantize(colors=256)                  # as optipng or pngquant store it
    assert not np.array_equal(np.asarray(quantized), ids)                     # its indices are not the class ids
    assert np.array_equal(read_mask(saved(quantized), CAMVID11), expected)
    palettes = {"CamVid's": np.vstack([CAMVID11.colors, [CAMVID11.void_color]]).astype(np.uint8),
                "VOC's (labelme)": _voc_colormap(12),
                "grey": np.repeat(np.arange(12, dtype=np.uint8), 3).reshape(12, 3)}
    for labels in (ids, ids % 2):          # classes 0 and 1 only: VOC's black and maroon are CamVid colours too
        for name, palette in palettes.items():
            index_mask = Image.fromarray(labels, "P")
            index_mask.putpalette(palette.ravel().tolist())
            assert np.array_equal(read_mask(saved(index_mask), CAMVID11), labels), name
