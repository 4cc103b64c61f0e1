"""The first maps after launch: the model opened ahead of the first request, the first stroke kept until the
model is there, the maps of a stroke answered before slower requests sent with them."""

from __future__ import annotations

import threading
import time

import numpy as np

from _compute import call


class _Task:
    """What a task handler gets, for calling one directly."""

    def check_cancelled(self):
        pass


def test_load_model_takes_the_model_opened_ahead_of_it(shipped_model_path, tmp_path):
    import shutil

    from cnnviz.compute.handlers.model import begin_preload, load_model
    from cnnviz.compute.state import ComputeState

    state = ComputeState()
    begin_preload(state, shipped_model_path)()
    preloaded = state.features["preloaded"]["loaded"][0]
    info = load_model(state, _Task(), shipped_model_path)
    assert state.model is preloaded and info.path == shipped_model_path and info.generation == 1
    assert "preloaded" not in state.features   # once
    other = tmp_path / "copy.keras"
    shutil.copy(shipped_model_path, other)
    preload = begin_preload(state, shipped_model_path)
    preload()
    unused = state.features["preloaded"]["loaded"][0]
    load_model(state, _Task(), other)          # another file: opened by itself
    assert state.path == other and state.model is not unused


def test_a_load_under_way_waits_for_the_preload(shipped_model_path):
    from cnnviz.compute.handlers.model import begin_preload, load_model
    from cnnviz.compute.state import ComputeState

    state = ComputeState()
    preload = begin_preload(state, shipped_model_path)
    loaded = []
    waiting = threading.Thread(target=lambda: loaded.append(load_model(state, _Task(), shipped_model_path)))
    waiting.start()
    time.sleep(0.2)
    assert not loaded   # it waits for the preload announced before it, rather than opening the file again
    preload()
    waiting.join(60)
    assert loaded and loaded[0].path == shipped_model_path and state.model is not None


def test_a_stroke_drawn_before_the_model_is_ready_gets_its_maps_once_it_is(capability_window, qtbot,
                                                                          compute_client, shipped_model_path):
    from cnnviz.testing.user_input import draw_seven

    window = capability_window("export")
    window.show()
    inspector = window.inspector
    draw_seven(inspector.canvas)   # the window is up, the model is not
    qtbot.wait(50)
    drawn = inspector.current_input()
    assert drawn is not None and drawn.any() and inspector.current_outputs() is None
    window.load_model_file(shipped_model_path)
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None, timeout=60_000)
    assert np.array_equal(inspector.current_input(), drawn)   # the stroke, not a blank canvas
    expected = call(qtbot, compute_client, "probe", {"image": drawn})["outputs"]
    for shown, computed in zip(inspector.current_outputs(), expected, strict=True):
        np.testing.assert_allclose(shown, computed, rtol=1e-5, atol=1e-6)


def test_the_maps_go_before_a_slower_request_sent_with_them():
    from cnnviz.compute.protocol import Request
    from cnnviz.compute.server import _QuickQueue

    queue = _QuickQueue()
    queue.put(Request(1, "gradcam", {}, "gradcam:1"))
    queue.put(Request(2, "occlusion", {}, None))
    queue.put(Request(3, "probe", {}, "probe:1"))   # sent with them (a new model), answered first
    queue.put(Request(4, "probe", {}, "probe:1"))   # newer: the older one is superseded
    keep, dropped = queue.take(5.0)
    assert [r.id for r in keep] == [4, 1, 2] and [r.id for r in dropped] == [3]


def test_the_maps_never_go_before_a_request_that_changes_them():
    """A probe sent after `set_ablation` (or a scrub, a kernel edit) stays after it: it must see the change."""
    from cnnviz.compute.protocol import Request
    from cnnviz.compute.server import STATE_CHANGING_METHODS, _QuickQueue

    assert {"set_ablation", "scrub", "edit_kernel"} <= STATE_CHANGING_METHODS
    queue = _QuickQueue()
    queue.put(Request(1, "gradcam", {}, "gradcam:1"))
    queue.put(Request(2, "set_ablation", {}, None))
    queue.put(Request(3, "occlusion", {}, None))
    queue.put(Request(4, "probe", {}, "probe:1"))
    queue.put(Request(5, "scrub", {}, None))
    queue.put(Request(6, "probe", {}, "probe:2"))
    keep, dropped = queue.take(5.0)
    assert [r.id for r in keep] == [1, 2, 4, 3, 5, 6] and dropped == []


def test_a_background_pass_waits_for_the_quick_requests_queued_or_running():
    """`TaskContext.yield_to_quick` (a test set through a checkpoint, between batches) returns only once no
    quick request waits or runs: a scrub's maps are not slowed by the pass beside them."""
    import threading
    import time

    from cnnviz.compute.protocol import Request
    from cnnviz.compute.registry import TaskContext
    from cnnviz.compute.server import _QuickQueue

    queue = _QuickQueue()
    task = TaskContext(1, "checkpoint_confusion", lambda *args: None, lambda: queue.wait_idle(5.0))
    started = time.monotonic()
    task.yield_to_quick()                      # nothing queued: at once
    assert time.monotonic() - started < 1.0
    queue.put(Request(2, "probe", {}, "probe:1"))
    answered = []

    def quick_thread():
        keep, _ = queue.take(5.0)
        time.sleep(0.3)                        # the probe runs
        answered.append(time.monotonic())
        queue.done(len(keep))

    thread = threading.Thread(target=quick_thread)
    thread.start()
    task.yield_to_quick()
    returned = time.monotonic()
    thread.join()
    assert answered and returned >= answered[0]
    bounded = TaskContext(3, "confusion", lambda *args: None, lambda: queue.wait_idle(0.2))
    queue.put(Request(4, "probe", {}, "probe:1"))   # never taken: the pass goes on after the bound
    started = time.monotonic()
    bounded.yield_to_quick()
    assert 0.15 <= time.monotonic() - started < 2.0
