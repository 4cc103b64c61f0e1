"""Panels behind another tab compute nothing for a stroke (issue 26): Qt keeps a dock tabbed behind another
"visible" (laid out off-screen, no hideEvent), and the Move it panel's batched probe, Where it looks' Grad-CAM
and the Test set panel's 10,000-digit pass ran for every input behind the Training tab (a stroke's maps waited
~30 ms behind them in the compute process). `widgets.front_tab.FrontTab` follows the dock instead."""

from __future__ import annotations

import numpy as np

from cnnviz.gui.robustness.robustness_plot import MODEL

WAIT_MS = 120_000


def sent_methods(window, monkeypatch) -> list[str]:
    """The methods of every request the window sends to the compute process from now on."""
    sent: list[str] = []
    client = window.client
    request = client.request

    def recording(method, args=None, **kwargs):
        sent.append(method)
        return request(method, args, **kwargs)

    monkeypatch.setattr(client, "request", recording)
    return sent


def test_panels_behind_the_training_tab_ask_for_nothing_until_brought_forward(capability_window, qtbot,
                                                                                shipped_info, mnist, monkeypatch):
    window = capability_window("training", "attribution", "history", "units", "robustness")
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.show_model(shipped_info)
    features = window.capabilities
    move_it, where, test_set = features["robustness"], features["attribution"], features["history"]
    qtbot.waitUntil(lambda: len(test_set.scrubbing.stops) == 10, timeout=WAIT_MS)   # the model's own requests
    assert not test_set.panel.is_computing()   # behind the tab: no test-set pass for the model just loaded
    # The default layout: Training in front, the others tabbed behind it (Qt still calls them visible).
    assert move_it.panel.isVisible() and not move_it.panel.front.seen()
    assert not where.panel.front.seen() and not test_set.panel.front.seen()
    sent = sent_methods(window, monkeypatch)
    inspector = window.inspector
    for index in range(3):   # three new digits, as a stroke's moves make them
        digit = mnist.x_test[index].astype(np.float32) / 255
        inspector.show_input(digit)
        qtbot.waitUntil(lambda: inspector.current_outputs() is not None
                        and np.array_equal(inspector.current_input(), digit), timeout=WAIT_MS)
    qtbot.wait(200)
    assert set(sent) == {"probe"}, sent
    assert move_it.panel.plot.result(MODEL) is None   # nothing computed for it meanwhile

    # Its tab comes forward: it catches up on the digit shown (and only it asks).
    sent.clear()
    move_it.dock.raise_()
    qtbot.waitUntil(lambda: move_it.panel.front.seen(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: move_it.panel.plot.result(MODEL) is not None, timeout=WAIT_MS)
    assert "robustness" in sent and "gradcam" not in sent and "confusion" not in sent
    assert np.array_equal(move_it.panel.original(), inspector.current_input())
    assert "Read as" in move_it.panel.readout.text()
    # Where it looks forward: Grad-CAM is computed for it again.
    sent.clear()
    where.dock.raise_()
    qtbot.waitUntil(lambda: "gradcam" in sent, timeout=WAIT_MS)
    assert not move_it.panel.front.seen()
