"""The training curves: TensorBoard's debiased smoothing, a smoothing the user sets and the app remembers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cnnviz.core.training import BatchProgress
from cnnviz.gui.widgets.qt_helpers import app_settings
from cnnviz.gui.training.training_curves import DEFAULT_SMOOTHING, SMOOTHING_KEY, TrainingCurves, smooth


def tensorboard_smoothing(values, weight):
    """TensorBoard's scalar-dashboard smoothing (tf-smoothing in its frontend), written out plainly."""
    last, count, out = 0.0, 0, []
    for value in values:
        if not math.isfinite(value):
            out.append(value)
            continue
        last = last * weight + (1 - weight) * value
        count += 1
        debias = 1.0 if weight == 1 else 1 - weight ** count
        out.append(last / debias)
    return out


def _progress(steps, losses, accuracies):
    return BatchProgress(epoch=0, num_epochs=1, batch=len(steps), num_batches=100, loss=float(np.mean(losses)),
                         accuracy=float(np.mean(accuracies)), samples_per_second=1.0, eta_seconds=1.0,
                         batch_steps=np.asarray(steps, float), batch_losses=np.asarray(losses, float),
                         batch_accuracies=np.asarray(accuracies, float))


@pytest.fixture
def curves(qtbot):
    widget = TrainingCurves()
    qtbot.addWidget(widget)
    return widget


@pytest.mark.parametrize("weight", [0.0, 0.6, 0.9, 0.99])
def test_smoothing_is_tensorboards(weight):
    values = list(np.random.default_rng(1).normal(2.0, 0.5, 300)) + [math.nan] + [1.0] * 20
    expected = tensorboard_smoothing(values, weight)
    np.testing.assert_allclose(smooth(values, weight)[0], expected, equal_nan=True)
    # In pieces, continuing from the returned state, as progress reports arrive.
    first, state = smooth(values[:117], weight)
    second, _ = smooth(values[117:], weight, state)
    np.testing.assert_allclose(np.concatenate([first, second]), expected, equal_nan=True)


def test_debiased_average_does_not_lag_at_the_start():
    """A plain average started at 0 (or at the first value) crawls; the debiased one is on the data."""
    losses = np.full(10, 2.3)  # a short run: the loss sits at 2.3 from the first batch
    np.testing.assert_allclose(smooth(losses, 0.95)[0], 2.3)
    falling = np.linspace(2.3, 0.3, 50)
    smoothed = smooth(falling, 0.9)[0]
    assert np.abs(smoothed - falling).max() < 0.4                       # within a few batches' lag
    assert smoothed[0] == pytest.approx(falling[0])


def test_the_curve_shows_the_smoothed_batches(curves):
    rng = np.random.default_rng(3)
    losses, accuracies = rng.uniform(0.1, 2.0, 40), rng.uniform(0.0, 1.0, 40)
    steps = np.arange(40) / 100
    curves.start_run(1)
    curves.add_progress(_progress(steps[:25], losses[:25], accuracies[:25]))
    curves.add_progress(_progress(steps[25:], losses[25:], accuracies[25:]))
    curves.end_run()
    loss_plot, accuracy_plot = curves._plots
    x, y = loss_plot.smooth_curve.getData()
    np.testing.assert_allclose(x, steps)
    np.testing.assert_allclose(y, tensorboard_smoothing(losses, DEFAULT_SMOOTHING))
    np.testing.assert_allclose(accuracy_plot.smooth_curve.getData()[1],
                               tensorboard_smoothing(accuracies, DEFAULT_SMOOTHING))
    np.testing.assert_allclose(loss_plot.batch_curve.getData()[1], losses)

    curves.smoothing_box.setValue(0.5)                                   # as the user would
    np.testing.assert_allclose(loss_plot.smooth_curve.getData()[1], tensorboard_smoothing(losses, 0.5))
    curves.set_smoothing(0.0)
    np.testing.assert_allclose(loss_plot.smooth_curve.getData()[1], losses)  # 0 = the raw curve
    np.testing.assert_allclose(loss_plot.batch_curve.getData()[1], losses)   # the raw data never changes


def test_smoothing_is_remembered(qtbot):
    first = TrainingCurves()
    qtbot.addWidget(first)
    assert first.smoothing() == DEFAULT_SMOOTHING
    first.smoothing_box.setValue(0.75)
    assert float(app_settings().value(SMOOTHING_KEY)) == 0.75
    second = TrainingCurves()
    qtbot.addWidget(second)
    assert second.smoothing() == 0.75 and all(plot.weight == 0.75 for plot in second._plots)
    app_settings().setValue(SMOOTHING_KEY, "nonsense")
    third = TrainingCurves()
    qtbot.addWidget(third)
    assert third.smoothing() == DEFAULT_SMOOTHING
    third.set_smoothing(5.0)
    assert third.smoothing() == 0.99                                     # clipped to the box's range


def test_hover_reads_the_smoothed_value(curves):
    losses = np.array([1.0, 3.0, 2.0])
    curves.add_progress(_progress([0.1, 0.2, 0.3], losses, [0.5, 0.5, 0.5]))
    curves._redraw()
    plot = curves._plots[0]
    plot.hover(0.3)
    expected = tensorboard_smoothing(losses, DEFAULT_SMOOTHING)[-1]
    assert f"smoothed {expected:.4f}" in plot.readout.textItem.toPlainText()
