"""The compute process's explanation handlers (Grad-CAM, occlusion, filter patterns, top digits, switching
filters off), driven over a real pipe by a Server on a thread of this process (test_compute's pattern)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.compute.protocol import CANCELLED, Cancel, Event
from test_compute import peer  # noqa: F401 (peer: the shipped model on a threaded server)


def wait_for_event(peer, request_id: int, timeout: float = 60.0) -> None:
    """Receive until request `request_id` has sent an event (keeping everything received)."""
    while not peer.events.get(request_id):
        assert peer.conn.poll(timeout), f"no event from {request_id}"
        message = peer.conn.recv()
        if isinstance(message, Event):
            peer.events.setdefault(message.id, []).append(message)
        else:
            peer.replies[message.id] = message


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """Patterns and top digits cached in this test's folder (the server thread reads the variable)."""
    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_gradcam_is_the_cores_on_the_served_weights(peer, shipped_model, digit_seven):
    from cnnviz.core.gradcam import GradCam

    for layer, class_index, size in (("conv2d_3", None, 3), ("conv2d_2", 4, 11)):
        reply = peer.call("gradcam", {"image": digit_seven, "layer": layer, "class_index": class_index})
        ours, theirs = reply["result"], GradCam(shipped_model, layer)(digit_seven, class_index)
        assert ours.heatmap.shape == (size, size) and ours.layer == layer
        assert ours.class_index == (7 if class_index is None else class_index) and ours.predicted == 7
        np.testing.assert_allclose(ours.heatmap, theirs.heatmap, rtol=1e-4, atol=1e-6)
    bad = peer.wait(peer.send("gradcam", {"image": digit_seven, "layer": "dense_1"}))
    assert not bad.ok and bad.error_type == "LayerChoiceError"


def test_occlusion_is_the_cores(peer, shipped_model, digit_seven):
    from cnnviz.core.occlusion import occlusion_map

    reply = peer.call("occlusion", {"image": digit_seven, "patch": 4, "stride": 3, "fill": "black"})
    ours = reply["result"]
    theirs = occlusion_map(shipped_model, digit_seven, None, 4, 3, 0.0)
    assert (ours.patch, ours.stride, ours.fill, ours.class_index) == (4, 3, 0.0, 7)
    np.testing.assert_allclose(ours.pixel_map, theirs.pixel_map, atol=1e-5)
    defaults = peer.call("occlusion", {"image": digit_seven})["result"]
    assert (defaults.patch, defaults.stride, defaults.fill) == (6, 2, 0.5)


def test_filter_patterns_report_progress_are_cached_and_cancel(peer, own_cache):
    first = peer.send("filter_patterns", {"layer": "conv2d_1", "steps": 6})
    result = peer.wait(first).result
    assert result["patterns"].shape == (32, 28, 28) and not result["cached"]
    assert 0.0 <= result["patterns"].min() and result["patterns"].max() <= 1.0
    fractions = [event.payload for event in peer.events[first] if event.kind == "progress"]
    assert fractions and fractions[-1] == 1.0 and fractions == sorted(fractions)
    again = peer.call("filter_patterns", {"layer": "conv2d_1", "steps": 6})
    assert again["cached"]
    np.testing.assert_array_equal(again["patterns"], result["patterns"])
    assert any((own_cache / "filter_patterns").iterdir())

    long = peer.send("filter_patterns", {"layer": "conv2d_3", "steps": 2000})
    wait_for_event(peer, long)  # running: it has reported progress
    peer.conn.send(Cancel(long))
    reply = peer.wait(long)
    assert not reply.ok and reply.error_type == CANCELLED
    bad = peer.wait(peer.send("filter_patterns", {"layer": "dense_1"}))
    assert not bad.ok and bad.error_type == "LayerChoiceError"


def test_top_digits_rank_the_test_set_and_crop_patches(peer, shipped_probe, mnist):
    result = peer.call("top_digits", {"use_cache": False})  # (MNIST itself lives in the real cache folder)
    assert set(result["layers"]) == {"conv2d_1", "max_pooling2d_1", "conv2d_2", "max_pooling2d_2", "conv2d_3"}
    top = result["layers"]["conv2d_2"]
    assert top.indices.shape == (64, 9)
    assert result["patches"]["conv2d_2"].shape == (64, 9, 8, 8)
    assert result["patches"]["conv2d_3"].shape == (64, 9, 18, 18)
    np.testing.assert_array_equal(result["digits"]["conv2d_2"][5], mnist.x_test[top.indices[5]])
    # Channel 5's best digit: its maximum over space, by an independent probe, is the value ranked.
    channel = 5
    best = mnist.x_test[top.indices[channel, 0]].astype(np.float32) / 255.0
    maps = shipped_probe(best)[2]
    assert maps[..., channel].max() == pytest.approx(top.values[channel, 0], rel=1e-4)
    others = [shipped_probe(mnist.x_test[i].astype(np.float32) / 255.0)[2][..., channel].max() for i in range(20)]
    assert top.values[channel, -1] >= max(others) - 1e-6  # the ninth beats the first 20 test digits


def test_switched_off_filters_go_through_every_probe(peer, shipped_model, digit_seven):
    from cnnviz.core.ablation import AblatedProbe
    from cnnviz.core.activations import ActivationProbe

    off = {"conv2d_1": [3, 7], "conv2d_3": [30]}
    reply = peer.call("set_ablation", {"off": off})
    assert reply["off"] == off
    outputs = peer.call("probe", {"image": digit_seven})["outputs"]
    assert not outputs[0][..., [3, 7]].any() and not outputs[4][..., 30].any()
    for ours, theirs in zip(outputs, AblatedProbe(shipped_model)(digit_seven, off), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    bad = peer.wait(peer.send("set_ablation", {"off": {"conv2d_1": [99]}}))
    assert not bad.ok and bad.error_type == "LayerChoiceError"
    assert not peer.call("probe", {"image": digit_seven})["outputs"][0][..., 3].any()  # still the last good one
    assert peer.call("set_ablation", {"off": {}})["off"] == {}
    plain = ActivationProbe(shipped_model)(digit_seven)
    for ours, theirs in zip(peer.call("probe", {"image": digit_seven})["outputs"], plain, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
