"""Top images per channel against the activation probe run image by image; patches against the arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from _tiny_models import branched_model

from cnnviz.core.network import layer_specs
from cnnviz.core.top_activations import Cancelled, TopImages, channel_peaks, top_activations, top_patches

COUNT = 300


@pytest.fixture(scope="module")
def some_digits(mnist):
    return mnist.x_test[:COUNT]


@pytest.fixture(scope="module")
def ranked(shipped_model, some_digits):
    return top_activations(shipped_model, some_digits, scale=1 / 255, batch_size=128, use_cache=False)


def test_ranking_matches_the_probe_image_by_image(ranked, shipped_probe, some_digits):
    outputs = [shipped_probe(image / 255.0) for image in some_digits]
    assert list(ranked) == ["conv2d_1", "max_pooling2d_1", "conv2d_2", "max_pooling2d_2", "conv2d_3"]
    for index, name in enumerate(shipped_probe.layer_names[:5]):
        top = ranked[name]
        maps = np.stack([o[index] for o in outputs])          # (N, H, W, C)
        peaks = maps.max(axis=(1, 2))                          # (N, C)
        channels = maps.shape[-1]
        assert top.indices.shape == (channels, 9) and top.positions.shape == (channels, 9, 2)
        for c in range(channels):
            np.testing.assert_allclose(top.values[c], np.sort(peaks[:, c])[::-1][:9], atol=1e-5)
            assert np.all(peaks[top.indices[c], c] >= np.sort(peaks[:, c])[::-1][8] - 1e-5)
            for j in range(9):
                y, x = top.positions[c, j]
                assert maps[top.indices[c, j], y, x, c] == pytest.approx(top.values[c, j], abs=1e-5)


def test_ties_go_to_the_lower_index(ranked):
    top = ranked["conv2d_1"]
    for c in range(top.indices.shape[0]):
        for j in range(8):
            if top.values[c, j] == top.values[c, j + 1]:
                assert top.indices[c, j] < top.indices[c, j + 1]


def test_patches_are_the_receptive_fields(ranked, shipped_model, some_digits):
    specs = layer_specs(shipped_model)
    for name, size, jump in (("conv2d_1", 3, 1), ("max_pooling2d_1", 4, 2), ("conv2d_3", 18, 4)):
        patches = top_patches(some_digits, ranked[name], specs, (28, 28, 1), scale=1 / 255)
        top = ranked[name]
        assert patches.shape == (top.indices.shape[0], 9, size, size)
        for c in (0, top.indices.shape[0] - 1):
            for j in (0, 8):
                y, x = top.positions[c, j]
                digit = some_digits[top.indices[c, j]] / 255.0
                np.testing.assert_allclose(patches[c, j], digit[jump * y:jump * y + size, jump * x:jump * x + size],
                                           atol=1e-6)


def test_patches_reaching_into_padding_are_zero_there():
    """conv_b ("same" padding after a valid 3×3) sees 5×5 fields; unit (0, 0)'s starts one pixel outside."""
    model = branched_model()
    specs = layer_specs(model)
    images = np.arange(2 * 144, dtype=np.float32).reshape(2, 12, 12) + 1
    top = TopImages("conv_b", np.array([[1]]), np.array([[1.0]], np.float32), np.array([[[0, 0]]]))
    patch = top_patches(images, top, specs, (12, 12, 1))[0, 0]
    assert patch.shape == (5, 5)
    assert not patch[0].any() and not patch[:, 0].any()
    np.testing.assert_array_equal(patch[1:, 1:], images[1, :4, :4])


def test_peaks_of_a_functional_model():
    model = branched_model()
    images = np.random.default_rng(0).random((7, 12, 12, 1)).astype(np.float32)
    values, where = channel_peaks(model, images, ["add"], batch_size=3)["add"]
    added = model.get_layer("add")([model.get_layer("conv_b")(model.get_layer("conv_a")(images)),
                                    model.get_layer("conv_c")(images)]).numpy()
    flat = added.reshape(7, -1, added.shape[-1])
    np.testing.assert_allclose(values, flat.max(axis=1), atol=1e-6)
    assert np.array_equal(where, flat.argmax(axis=1))


def test_cache_round_trip_and_cancel(shipped_model, some_digits, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path))
    first = top_activations(shipped_model, some_digits[:50], ["conv2d_3"], scale=1 / 255)
    assert list((tmp_path / "top_activations").glob("*.npz"))

    def no_pass(*args, **kwargs):
        raise AssertionError("the cached ranking was not reused")

    import cnnviz.core.top_activations as module
    monkeypatch.setattr(module, "channel_peaks", no_pass)
    again = top_activations(shipped_model, some_digits[:50], ["conv2d_3"], scale=1 / 255)
    assert np.array_equal(first["conv2d_3"].indices, again["conv2d_3"].indices)
    with pytest.raises(AssertionError, match="not reused"):  # other images: a new ranking
        top_activations(shipped_model, some_digits[:51], ["conv2d_3"], scale=1 / 255)
    monkeypatch.undo()
    reported = []
    with pytest.raises(Cancelled):
        channel_peaks(shipped_model, some_digits, ["conv2d_1"], 1 / 255, batch_size=50,
                      progress=lambda done, total: reported.append(done), cancel=lambda: len(reported) == 2)
    assert reported == [50, 100]


def test_refuses_dense_layers(shipped_model, some_digits):
    from cnnviz.core.layer_choice import LayerChoiceError

    with pytest.raises(LayerChoiceError, match="dense_1"):
        top_activations(shipped_model, some_digits, ["dense_1"], use_cache=False)
