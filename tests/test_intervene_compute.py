"""The compute process's intervention handlers (kernel edits, attacks, the sanity check) on a threaded server
over a real pipe (test_compute's pattern), against the core run independently in this process."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.compute.protocol import CANCELLED, Cancel
from test_attribution_app_compute import wait_for_event
from test_compute import peer  # noqa: F401 (peer: the shipped model on a threaded server)

OUTPUT_TOL = {"rtol": 1e-4, "atol": 1e-5}


@pytest.fixture
def shipped(peer, shipped_model_path):  # noqa: F811
    """The shipped model made current again: every kernel edit dropped."""
    info = peer.call("load_model", {"path": shipped_model_path})
    assert peer.call("kernel_edits")["edits"] == []
    return info


def edited_probe(shipped_model, texts):
    """Every layer's output with the edits, by the core on a copy made here."""
    from cnnviz.core.activations import ActivationProbe
    from cnnviz.core.kernel_edit import edited_copy, parse_edit

    return ActivationProbe(edited_copy(shipped_model, [parse_edit(t) for t in texts]))


def assert_outputs(ours, theirs):
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, **OUTPUT_TOL)


def test_edits_are_a_layer_over_the_serving_copy(peer, shipped, shipped_model, digit_seven):  # noqa: F811
    from cnnviz.core.activations import ActivationProbe
    from cnnviz.core.kernel_edit import PAINT, KernelEdit

    reply = peer.call("edit_kernel", {"edit": "conv2d_1:5=vertical-edge", "image": digit_seven})
    assert reply["labels"] == ["conv2d_1:5=vertical-edge"]
    probe = edited_probe(shipped_model, reply["labels"])
    assert_outputs(reply["outputs"], probe(digit_seven))
    np.testing.assert_allclose(reply["probabilities"], probe.probabilities(digit_seven), atol=1e-5)
    assert_outputs(peer.call("probe", {"image": digit_seven})["outputs"], probe(digit_seven))   # every later probe
    painted = KernelEdit("conv2d_2", 3, PAINT, input_channel=4, values=np.eye(3, dtype=np.float32), bias=-0.5)
    reply = peer.call("edit_kernel", {"edit": painted})
    assert reply["outputs"] is None and [(f.layer, f.channel) for f in reply["filters"]] == [("conv2d_1", 5),
                                                                                        ("conv2d_2", 3)]
    np.testing.assert_array_equal(reply["filters"][1].kernel[..., 4], np.eye(3))
    # Grad-CAM (another quick handler) sees the edited weights too.
    from cnnviz.core.gradcam import GradCam
    from cnnviz.core.kernel_edit import edited_copy, parse_edit

    copy = edited_copy(shipped_model, [parse_edit("conv2d_1:5=vertical-edge"), painted])
    cam = peer.call("gradcam", {"image": digit_seven})["result"]
    np.testing.assert_allclose(cam.heatmap, GradCam(copy)(digit_seven).heatmap, rtol=1e-4, atol=1e-5)
    # The current model (what trains and saves) holds no edit.
    info = peer.call("model_info")
    np.testing.assert_array_equal(info.weights[0][0], shipped_model.get_layer("conv2d_1").kernel.numpy())
    # Undo, reset one, reset all.
    assert peer.call("undo_kernel_edit")["undone"].label == "conv2d_2:3=paint[4]"
    peer.call("edit_kernel", {"edit": "dense_1:2=zero"})
    reply = peer.call("reset_kernel_filter", {"layer": "conv2d_1", "channel": 5, "image": digit_seven})
    assert reply["removed"] == 1 and reply["labels"] == ["dense_1:2=zero"]
    assert reply["outputs"][6][2] == 0
    reply = peer.call("reset_kernel_edits", {"image": digit_seven})
    assert reply["edits"] == [] and reply["filters"] == []
    assert_outputs(reply["outputs"], ActivationProbe(shipped_model)(digit_seven))
    bad = peer.wait(peer.send("edit_kernel", {"edit": "dense_1:3=blur"}))
    assert not bad.ok and bad.error_type == "KernelEditError" and "Dense layer" in bad.error


def test_edits_last_over_a_checkpoint_and_go_with_another_model(peer, shipped, shipped_model, fresh_model,  # noqa: F811
                                                                 digit_seven, tmp_path):
    import keras

    from cnnviz.core.activations import ActivationProbe
    from cnnviz.core.kernel_edit import KernelEditor, parse_edit

    peer.call("edit_kernel", {"edit": "conv2d_3:9=scale:3"})
    checkpoints = peer.call("checkpoints")["checkpoints"]
    assert len(checkpoints) > 1                      # the shipped model's run is kept beside it
    scrubbed = peer.call("scrub", {"index": 0, "image": digit_seven})
    early = keras.models.clone_model(shipped_model)
    early.set_weights([w for layer in scrubbed["weights"] for w in layer])
    KernelEditor(early).push(parse_edit("conv2d_3:9=scale:3"))      # the edit over checkpoint 0's weights
    assert_outputs(scrubbed["outputs"], ActivationProbe(early)(digit_seven))
    peer.call("scrub", {"index": None})
    assert_outputs(peer.call("probe", {"image": digit_seven})["outputs"],
                   edited_probe(shipped_model, ["conv2d_3:9=scale:3"])(digit_seven))
    path = tmp_path / "other.keras"
    from cnnviz.core.model import save_model

    save_model(fresh_model, path)
    peer.call("load_model", {"path": path})
    assert peer.call("kernel_edits")["edits"] == []
    assert_outputs(peer.call("probe", {"image": digit_seven})["outputs"], ActivationProbe(fresh_model)(digit_seven))


def test_test_accuracy_with_the_edits_and_a_saved_copy(peer, shipped, shipped_model, mnist, tmp_path):  # noqa: F811
    from cnnviz.core.kernel_edit import edited_copy, parse_edit
    from cnnviz.core.model import load_model

    texts = ["conv2d_1:0=zero", "conv2d_1:1=zero", "conv2d_2:5=blur", "dense_1:10=scale:-3"]
    for text in texts:
        peer.call("edit_kernel", {"edit": text})
    request = peer.send("edited_accuracy")
    reply = peer.wait(request)
    assert reply.ok, reply.details
    result = reply.result
    images = mnist.x_test[..., None].astype(np.float32) / 255.0
    edited = edited_copy(shipped_model, [parse_edit(t) for t in texts]).predict(images, batch_size=1000, verbose=0)
    plain = shipped_model.predict(images, batch_size=1000, verbose=0)
    assert result["accuracy"] == pytest.approx(np.mean(edited.argmax(1) == mnist.y_test), abs=2e-4)
    assert result["unedited_accuracy"] == pytest.approx(np.mean(plain.argmax(1) == mnist.y_test), abs=2e-4)
    assert result["accuracy"] < result["unedited_accuracy"] and result["labels"] == texts
    progress = [e.payload for e in peer.events[request] if e.kind == "progress"]
    assert progress[-1] == (20000, 20000)
    saved = peer.call("save_edited_copy", {"path": tmp_path / "edited"})
    assert saved["path"] == tmp_path / "edited.keras"
    copy = load_model(saved["path"])
    assert not copy.get_layer("conv2d_1").kernel.numpy()[..., :2].any()
    assert peer.call("model_info", {"include_weights": False}).path != saved["path"]


def test_attack_handlers_are_the_cores(peer, shipped, shipped_model, mnist, shipped_model_path):  # noqa: F811
    from cnnviz.core.adversarial import Attacker

    image = mnist.x_test[0].astype(np.float32)[..., None] / 255.0
    attacker = Attacker(shipped_model)
    ours = peer.call("attack", {"image": image, "method": "pgd", "epsilon": 0.2, "steps": 10})["result"]
    theirs = attacker.attack(image, "pgd", 0.2, steps=10)
    assert ours.after_class == theirs.after_class and ours.steps == 10
    np.testing.assert_allclose(ours.perturbed, theirs.perturbed, atol=1e-6)
    sweep = peer.call("attack_sweep", {"image": image, "method": "fgsm", "target": 3})["sweep"]
    assert sweep.epsilon == pytest.approx(attacker.sweep(image, "fgsm", 3).epsilon, abs=2e-4)
    assert sweep.curve.probabilities.shape == (50, 10)
    peer.call("lab_load", {"variants": {"copy": shipped_model_path}})
    compared = peer.call("attack_models", {"image": image[..., 0], "variants": {"copy": shipped_model_path,
                                                                                "absent": "nowhere.keras"},
                                           "method": "fgsm", "epsilon": 0.1})
    assert set(compared["results"]) == {"current", "copy"} and compared["missing"] == ["absent"]
    expected = attacker.attack(image, "fgsm", 0.1)
    for result in compared["results"].values():
        np.testing.assert_allclose(result.perturbed, expected.perturbed, atol=1e-6)


def test_sanity_check_task_reports_progress_and_cancels(peer, shipped, shipped_model, digit_seven):  # noqa: F811
    from cnnviz.core.sanity_check import sanity_check

    request = peer.send("sanity_check", {"image": digit_seven, "seed": 4})
    reply = peer.wait(request)
    assert reply.ok, reply.details
    ours, theirs = reply.result["result"], sanity_check(shipped_model, digit_seven, seed=4)
    assert [s.layer for s in ours.steps] == [s.layer for s in theirs.steps]
    for a, b in zip(ours.steps, theirs.steps, strict=True):
        for method in ("gradcam", "occlusion", "gradient"):
            np.testing.assert_allclose(a.maps[method], b.maps[method], rtol=1e-4, atol=1e-5)
    assert [e.payload for e in peer.events[request]] == [(k, 5) for k in range(1, 6)]
    long = peer.send("sanity_check", {"image": digit_seven, "mode": "independent"})
    wait_for_event(peer, long)
    peer.conn.send(Cancel(long))
    cancelled = peer.wait(long)
    assert not cancelled.ok and cancelled.error_type == CANCELLED
