"""What the Experiments panel adds to the compute process and the core: a brush stroke is one kernel edit
(`stroke`), "which digits does it fire on" ranked by mean activation (core `firing_digits`, the
"firing_digits" task) and the edited copy that refuses the model's own file, against independent
computations (numpy correlations, a plain Keras pass)."""

from __future__ import annotations

import numpy as np
import pytest

from test_compute import peer  # noqa: F401 (peer: the shipped model on a threaded server)
from test_intervene_compute import edited_probe, shipped  # noqa: F401


def vertical_edge_means(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(means, peaks) of relu(correlation with the vertical-edge preset), bias 0, by numpy: the map of
    conv2d_1's filter edited to `vertical-edge`, over every 26×26 position."""
    x = images.astype(np.float32) / 255.0
    left, right = x[:, :, :-2], x[:, :, 2:]                     # columns x and x + 2
    columns = right - left
    maps = np.maximum(columns[:, :-2] + columns[:, 1:-1] + columns[:, 2:], 0.0)   # rows y, y + 1, y + 2
    return maps.mean(axis=(1, 2)), maps.max(axis=(1, 2))


def test_channel_means_are_the_probes_and_ties_are_counted(shipped_model, mnist):
    from cnnviz.core.activations import ActivationProbe
    from cnnviz.core.firing_digits import channel_means, firing_digits

    images = mnist.x_test[:40]
    probe = ActivationProbe(shipped_model)
    means, peaks = channel_means(shipped_model, images, "conv2d_2", 7, scale=1 / 255, batch_size=16)
    outputs = [probe(image.astype(np.float32) / 255.0) for image in images]
    np.testing.assert_allclose(means, [o[2][..., 7].mean() for o in outputs], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(peaks, [o[2][..., 7].max() for o in outputs], rtol=1e-4, atol=1e-6)
    units, unit_peaks = channel_means(shipped_model, images, "dense_1", 3, scale=1 / 255)
    np.testing.assert_allclose(units, [o[6][3] for o in outputs], rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(units, unit_peaks)             # a unit's mean and peak are its value
    with pytest.raises(ValueError, match="channels 0 to 63"):
        channel_means(shipped_model, images, "conv2d_2", 64)

    found = firing_digits("conv2d_2", 7, np.array([0.5, 2.0, 2.0, 0.0, 1.0], np.float32),
                          np.array([3.0, 3.0, 1.0, 0.0, 3.0], np.float32), np.array([1, 0, 0, 2, 1]), 4, count=3)
    assert found.indices.tolist() == [1, 2, 4] and found.labels.tolist() == [0, 0, 1]   # ties: lower index first
    np.testing.assert_allclose(found.class_means[:3], [2.0, 0.75, 0.0])
    assert np.isnan(found.class_means[3]) and found.class_counts.tolist() == [2, 2, 1, 0]
    assert found.ranked_classes() == [0, 1, 2, 3]
    assert found.peak_ties == 3 and found.top_peak == 3.0 and found.active_share == pytest.approx(0.8)


def test_a_brush_stroke_is_one_edit(peer, shipped, shipped_model, digit_seven):  # noqa: F811
    from cnnviz.core.kernel_edit import PAINT, KernelEdit

    def paint(values, stroke, channel=0):
        edit = KernelEdit("conv2d_2", 4, PAINT, input_channel=channel, values=np.asarray(values, np.float32))
        return peer.call("edit_kernel", {"edit": edit, "stroke": stroke, "image": digit_seven})

    peer.call("edit_kernel", {"edit": "conv2d_2:4=blur"})
    first = np.zeros((3, 3), np.float32)
    first[0, 0] = 1.0
    assert not paint(first, stroke=7)["replaced"]
    second = first.copy()
    second[1, 1] = -2.0
    reply = paint(second, stroke=7)                              # the same stroke goes on
    assert reply["replaced"] and reply["labels"] == ["conv2d_2:4=blur", "conv2d_2:4=paint[0]"]
    np.testing.assert_array_equal(reply["filters"][0].kernel[..., 0], second)
    assert not paint(second, stroke=8)["replaced"]               # a new stroke is a new edit
    assert not paint(second, stroke=8, channel=1)["replaced"]    # so is another input channel
    assert len(peer.call("kernel_edits")["labels"]) == 4
    peer.call("undo_kernel_edit")
    peer.call("undo_kernel_edit")
    reply = peer.call("undo_kernel_edit", {"image": digit_seven})  # the whole first stroke in one undo
    assert reply["labels"] == ["conv2d_2:4=blur"]
    np.testing.assert_allclose(reply["outputs"][-1], edited_probe(shipped_model, ["conv2d_2:4=blur"])(digit_seven)[-1],
                               atol=1e-5)


def test_firing_digits_rank_by_the_mean_of_the_edited_map(peer, shipped, mnist):  # noqa: F811
    peer.call("edit_kernel", {"edit": "conv2d_1:5=vertical-edge"})
    request = peer.send("firing_digits", {"layer": "conv2d_1", "channel": 5})
    reply = peer.wait(request)
    assert reply.ok, reply.details
    result = reply.result["result"]
    means, peaks = vertical_edge_means(mnist.x_test)
    expected = np.argsort(-means, kind="stable")[:9]
    np.testing.assert_allclose(result.means, means[expected], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(means[result.indices], means[expected], rtol=1e-4)   # the top 9 (equal means may swap)
    class_means = [means[mnist.y_test == c].mean() for c in range(10)]
    np.testing.assert_allclose(result.class_means, class_means, rtol=1e-4)
    assert result.peak_ties == pytest.approx(np.count_nonzero(peaks >= peaks.max() - 1e-6), abs=5)
    assert result.peak_ties > 100 and result.top_peak == pytest.approx(3.0, abs=1e-4)   # why not the peak
    np.testing.assert_array_equal(reply.result["digits"], mnist.x_test[result.indices])
    assert reply.result["labels"] == ["conv2d_1:5=vertical-edge"]
    progress = [e.payload for e in peer.events[request] if e.kind == "progress"]
    assert progress[-1] == (10_000, 10_000)


def test_the_edited_copy_never_goes_into_the_models_own_file(peer, shipped_model, tmp_path):  # noqa: F811
    from cnnviz.core.model import save_model

    own = tmp_path / "mine.keras"
    save_model(shipped_model, own)
    before = own.read_bytes()
    peer.call("load_model", {"path": own})
    peer.call("edit_kernel", {"edit": "conv2d_1:0=zero"})
    for path in (own, tmp_path / "mine"):                        # ".keras" is added to a name without it
        reply = peer.wait(peer.send("save_edited_copy", {"path": path}))
        assert not reply.ok and "the model's own file" in reply.error
    assert own.read_bytes() == before
    assert peer.call("save_edited_copy", {"path": tmp_path / "copy.keras"})["path"].is_file()
