"""Kernel surgery against independent computations: a hand-set kernel's map is a plain numpy correlation."""

from __future__ import annotations

import numpy as np
import pytest
from _tiny_models import branched_model

from cnnviz.core.kernel_edit import (PAINT, SHAPE_PRESETS, KernelEdit, KernelEditError, KernelEditor, check_edit,
                                     edited_copy, parse_edit)

MAP_ATOL = 1e-4   # float32 sums of a few hundred products, oneDNN on or off


def correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """'valid' cross-correlation of (H, W) `image` with (kh, kw) `kernel`, as plain numpy windows."""
    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(image, np.float64), kernel.shape)
    return np.einsum("ijkl,kl->ij", windows, np.asarray(kernel, np.float64))


def assert_unedited(model, original, name):
    np.testing.assert_array_equal(model.get_layer(name).kernel.numpy(), original.get_layer(name).kernel.numpy())


def relu(values):
    return np.maximum(values, 0.0)


@pytest.fixture
def model(shipped_model):
    """A copy of the shipped model this test may edit."""
    import keras

    copy = keras.models.clone_model(shipped_model)
    copy.set_weights(shipped_model.get_weights())
    return copy


@pytest.fixture
def image(mnist):
    return mnist.x_test[3].astype(np.float32) / 255.0   # a 0


@pytest.mark.parametrize("preset", sorted(SHAPE_PRESETS))
def test_a_shape_preset_map_is_a_numpy_correlation(model, image, preset):
    from cnnviz.core.activations import ActivationProbe

    probe = ActivationProbe(model)
    before = probe(image)
    KernelEditor(model).push(parse_edit(f"conv2d_1:5={preset}"))
    after = probe(image)
    expected = relu(correlate(image, SHAPE_PRESETS[preset]))          # bias 0
    np.testing.assert_allclose(after[0][..., 5], expected, atol=MAP_ATOL)
    others = [c for c in range(32) if c != 5]
    np.testing.assert_array_equal(after[0][..., others], before[0][..., others])


def test_the_preset_numbers(model):
    editor = KernelEditor(model)
    editor.push(parse_edit("conv2d_2:7=vertical-edge"))
    kernel = model.get_layer("conv2d_2").kernel.numpy()
    assert kernel.shape == (3, 3, 32, 64)
    for channel in range(32):     # every input channel's 3×3 slice is the preset
        np.testing.assert_array_equal(kernel[:, :, channel, 7], [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])
    assert model.get_layer("conv2d_2").bias.numpy()[7] == 0
    np.testing.assert_array_equal(SHAPE_PRESETS["horizontal-edge"], [[-1, -1, -1], [0, 0, 0], [1, 1, 1]])
    np.testing.assert_allclose(SHAPE_PRESETS["blur"], np.full((3, 3), 1 / 9))
    np.testing.assert_array_equal(SHAPE_PRESETS["identity"], [[0, 0, 0], [0, 1, 0], [0, 0, 0]])


def test_a_deeper_edge_filter_sums_the_correlations_of_its_inputs(model, image):
    """conv2d_2 filter 7 set to vertical-edge: relu(Σ over the 32 pooled maps of their correlation)."""
    from cnnviz.core.activations import ActivationProbe

    probe = ActivationProbe(model)
    pooled = probe(image)[1]                               # max_pooling2d_1, before the edit's layer
    KernelEditor(model).push(parse_edit("conv2d_2:7=vertical-edge"))
    expected = relu(sum(correlate(pooled[..., c], SHAPE_PRESETS["vertical-edge"]) for c in range(32)))
    np.testing.assert_allclose(probe(image)[2][..., 7], expected, atol=MAP_ATOL)


def test_painted_values_zero_and_scale(model, shipped_model, image):
    from cnnviz.core.activations import ActivationProbe

    probe = ActivationProbe(model)
    kernel = shipped_model.get_layer("conv2d_1").kernel.numpy()[:, :, 0, :]
    bias = shipped_model.get_layer("conv2d_1").bias.numpy()
    painted = np.random.default_rng(1).normal(size=(3, 3)).astype(np.float32)
    editor = KernelEditor(model)
    editor.extend([KernelEdit("conv2d_1", 2, PAINT, input_channel=0, values=painted, bias=0.25),
                   parse_edit("conv2d_1:9=zero"), parse_edit("conv2d_1:11=scale:-1.5"),
                   parse_edit("dense_1:4=scale:0.5"), parse_edit("dense_1:6=zero")])
    ours = probe(image)
    np.testing.assert_allclose(ours[0][..., 2], relu(correlate(image, painted) + 0.25), atol=MAP_ATOL)
    assert not ours[0][..., 9].any()
    np.testing.assert_allclose(ours[0][..., 11], relu(-1.5 * (correlate(image, kernel[..., 11]) + bias[11])),
                               atol=MAP_ATOL)
    # dense_1 by hand from the (unedited) flatten output: scaled unit = relu(0.5 · (x·w + b)); zeroed unit = 0
    flat = ours[5].astype(np.float64)
    w, b = (shipped_model.get_layer("dense_1").kernel.numpy().astype(np.float64),
            shipped_model.get_layer("dense_1").bias.numpy())
    assert ours[6][4] == pytest.approx(relu(0.5 * (flat @ w[:, 4] + b[4])), abs=1e-4)
    assert ours[6][6] == 0
    weights = {(f.layer, f.channel): f for f in editor.filter_weights()}
    assert list(weights) == [("conv2d_1", 2), ("conv2d_1", 9), ("conv2d_1", 11), ("dense_1", 4), ("dense_1", 6)]
    np.testing.assert_array_equal(weights["conv2d_1", 2].kernel[..., 0], painted)
    assert weights["conv2d_1", 2].bias == 0.25 and weights["conv2d_1", 9].bias == 0
    np.testing.assert_allclose(weights["dense_1", 4].kernel, 0.5 * w[:, 4], rtol=1e-6)
    assert weights["dense_1", 4].kernel.shape == (576,)


def test_undo_reset_one_and_reset_all_give_the_weights_back(model, shipped_model):
    original = [np.array(w) for w in shipped_model.get_weights()]
    editor = KernelEditor(model)
    editor.push(parse_edit("conv2d_1:5=vertical-edge"))
    editor.push(parse_edit("conv2d_1:5=scale:2"))       # edits of one filter compose in order
    np.testing.assert_array_equal(model.get_layer("conv2d_1").kernel.numpy()[:, :, 0, 5],
                                  2 * SHAPE_PRESETS["vertical-edge"])
    editor.push(parse_edit("conv2d_3:0=blur"))
    assert editor.undo().label == "conv2d_3:0=blur"
    assert_unedited(model, shipped_model, "conv2d_3")
    assert editor.undo().label == "conv2d_1:5=scale:2"
    np.testing.assert_array_equal(model.get_layer("conv2d_1").kernel.numpy()[:, :, 0, 5],
                                  SHAPE_PRESETS["vertical-edge"])
    editor.push(parse_edit("dense_2:3=zero"))
    assert editor.reset("conv2d_1", 5) == 1
    assert [e.label for e in editor.edits] == ["dense_2:3=zero"]
    assert_unedited(model, shipped_model, "conv2d_1")
    editor.reset_all()
    assert editor.edits == () and editor.undo() is None
    for ours, theirs in zip(model.get_weights(), original, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_rebase_puts_the_edits_on_new_weights(model, fresh_model):
    editor = KernelEditor(model)
    editor.push(parse_edit("conv2d_2:1=scale:3"))
    assert editor.is_intact()
    model.set_weights(fresh_model.get_weights())            # e.g. a checkpoint or newer training weights
    assert not editor.is_intact()
    editor.rebase()
    assert editor.is_intact()
    fresh = fresh_model.get_layer("conv2d_2").kernel.numpy()
    np.testing.assert_allclose(model.get_layer("conv2d_2").kernel.numpy()[..., 1], 3 * fresh[..., 1], rtol=1e-6)
    np.testing.assert_array_equal(model.get_layer("conv2d_2").kernel.numpy()[..., 2], fresh[..., 2])
    editor.reset_all()
    np.testing.assert_array_equal(model.get_layer("conv2d_2").kernel.numpy(), fresh)


def test_edited_copy_leaves_the_model_alone(shipped_model, image):
    before = [np.array(w) for w in shipped_model.get_weights()]
    copy = edited_copy(shipped_model, [parse_edit("conv2d_3:10=zero")])
    assert not copy.get_layer("conv2d_3").kernel.numpy()[..., 10].any()
    for ours, theirs in zip(shipped_model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("text, message", [
    ("conv2d_1", "cannot read 'conv2d_1': write LAYER:C=PRESET"),
    ("conv2d_1:5", "write LAYER:C=PRESET"),
    ("conv2d_1:x=zero", "write LAYER:C=PRESET"),
    ("conv2d_1:5=scale:abc", "the factor of scale:F must be a finite number"),
    ("conv2d_1:5=scale:nan", "the factor of scale:F must be a finite number"),
    ("conv2d_1:5=scale:", "the factor of scale:F must be a finite number"),
    ("conv2d_1:5=sharpen", "no preset 'sharpen'"),
])
def test_unreadable_edits(text, message):
    with pytest.raises(KernelEditError, match=message):
        parse_edit(text)


@pytest.mark.parametrize("text, message", [
    ("conv9:1=zero", "no layer named 'conv9'; layers with filters to edit: conv2d_1, conv2d_2, conv2d_3, dense_1"),
    ("conv2d_1:32=zero", "conv2d_1 has filters 0 to 31; there is no filter 32"),
    ("conv2d_1:-1=zero", "there is no filter -1"),
    ("dense_2:10=scale:2", "dense_2 has units 0 to 9; there is no unit 10"),
    ("max_pooling2d_1:0=zero", "max_pooling2d_1 is a MaxPooling2D layer: kernel edits work on Conv2D filters"),
    ("flatten_1:0=blur", "flatten_1 is a Flatten layer"),
    ("dense_1:3=vertical-edge", "dense_1 is a Dense layer: the 3×3 preset vertical-edge fits Conv2D filters"),
])
def test_edits_that_do_not_fit_the_model(shipped_model, text, message):
    with pytest.raises(KernelEditError, match=message):
        check_edit(shipped_model, parse_edit(text))


def test_a_failed_edit_changes_nothing(model, shipped_model):
    editor = KernelEditor(model)
    with pytest.raises(KernelEditError):
        editor.extend([parse_edit("conv2d_1:0=zero"), parse_edit("conv2d_1:99=zero")])
    assert editor.edits == ()
    assert_unedited(model, shipped_model, "conv2d_1")


def test_other_kernel_sizes_and_functional_models():
    import keras
    from keras import layers

    keras.utils.set_random_seed(2)
    wide = keras.Sequential([keras.Input((12, 12, 1)), layers.Conv2D(3, 5, name="wide"), layers.Flatten(),
                             layers.Dense(4, activation="softmax", name="out")])
    with pytest.raises(KernelEditError, match="wide has 5×5 kernels: the preset blur is 3×3; use zero or scale:F"):
        check_edit(wide, parse_edit("wide:0=blur"))
    KernelEditor(wide).push(parse_edit("wide:0=scale:0.5"))
    model = branched_model("softmax")
    image = np.random.default_rng(0).random((12, 12)).astype(np.float32)
    KernelEditor(model).push(parse_edit("conv_a:1=identity"))
    from cnnviz.core.activations import ActivationProbe

    outputs = ActivationProbe(model)(image)
    np.testing.assert_allclose(outputs[0][..., 1], image[1:-1, 1:-1], atol=1e-6)   # the input, cropped
