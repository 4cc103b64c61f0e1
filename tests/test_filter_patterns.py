"""Filter patterns: each filter's pattern excites it more than its layer's other patterns do; cache; cancel."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core import filter_patterns as fp
from cnnviz.core.filter_patterns import (Cancelled, PatternSettings, all_filter_patterns, blur, channel_response,
                                         filter_patterns, pattern_cache_path)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("layer", ["conv2d_1", "conv2d_2", "conv2d_3"])
def test_every_pattern_excites_its_own_filter_more_than_the_other_patterns_do(shipped_model, layer):
    """The issue's check, on all 160 conv filters of the shipped model, with the default settings."""
    patterns = filter_patterns(shipped_model, layer, use_cache=False)
    count = shipped_model.get_layer(layer).filters
    assert patterns.shape == (count, 28, 28) and patterns.dtype == np.float32
    assert patterns.min() >= 0.0 and patterns.max() <= 1.0
    response = channel_response(shipped_model, layer, patterns)  # (pattern, channel): mean activation
    own = np.diag(response)
    others = (response.sum(axis=0) - own) / (count - 1)
    losers = [(c, float(own[c]), float(others[c])) for c in range(count) if not own[c] > others[c]]
    assert not losers, f"patterns that excite their filter no more than the others do: {losers}"


def test_channel_response_is_the_mean_activation(shipped_probe, shipped_model, digit_seven):
    response = channel_response(shipped_model, "conv2d_2", digit_seven[None])
    np.testing.assert_allclose(response[0], shipped_probe(digit_seven)[2].mean(axis=(0, 1)), atol=1e-6)


def test_the_cache_round_trips(fresh_model, cache_dir, monkeypatch):
    settings = PatternSettings(steps=3)
    first = filter_patterns(fresh_model, "conv2d_1", settings)
    path = pattern_cache_path(fresh_model, "conv2d_1", settings)
    assert path.is_file() and path.is_relative_to(cache_dir / "filter_patterns")

    def no_ascent(*args, **kwargs):
        raise AssertionError("the cached patterns were not reused")

    monkeypatch.setattr(fp, "ascend", no_ascent)
    reported = []
    again = filter_patterns(fresh_model, "conv2d_1", settings, progress=lambda done, total: reported.append(done))
    assert np.array_equal(first, again) and reported == [3]
    # Other settings or other weights never reuse it.
    assert pattern_cache_path(fresh_model, "conv2d_1", PatternSettings(steps=4)) != path
    assert pattern_cache_path(fresh_model, "conv2d_2", settings) != path
    kernel, bias = fresh_model.get_layer("dense_2").get_weights()
    fresh_model.get_layer("dense_2").set_weights([kernel, bias + 1.0])
    assert pattern_cache_path(fresh_model, "conv2d_1", settings) != path


def test_unreadable_cache_counts_as_missing(fresh_model, cache_dir):
    settings = PatternSettings(steps=2)
    path = pattern_cache_path(fresh_model, "conv2d_1", settings)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a zip")
    patterns = filter_patterns(fresh_model, "conv2d_1", settings)
    assert patterns.shape == (32, 28, 28)
    assert np.array_equal(filter_patterns(fresh_model, "conv2d_1", settings), patterns)


def test_cancel_stops_early_and_caches_nothing(fresh_model, cache_dir):
    settings = PatternSettings(steps=50)
    reported = []
    with pytest.raises(Cancelled):
        filter_patterns(fresh_model, "conv2d_2", settings, progress=lambda done, total: reported.append(done),
                        cancel=lambda: len(reported) >= 3)
    assert reported == [1, 2, 3]
    assert not pattern_cache_path(fresh_model, "conv2d_2", settings).exists()


def test_all_layers_with_one_progress(fresh_model, cache_dir):
    reported = []
    found = all_filter_patterns(fresh_model, PatternSettings(steps=2),
                                progress=lambda done, total: reported.append((done, total)))
    assert {name: p.shape for name, p in found.items()} == {
        "conv2d_1": (32, 28, 28), "conv2d_2": (64, 28, 28), "conv2d_3": (64, 28, 28)}
    assert reported[-1] == (6, 6) and all(total == 6 for _, total in reported)
    assert [done for done, _ in reported] == sorted(done for done, _ in reported)


def test_blur_keeps_flat_images_and_the_total():
    flat = np.full((2, 5, 5, 1), 0.3, np.float32)
    np.testing.assert_allclose(blur(flat), flat, atol=1e-7)
    impulse = np.zeros((1, 7, 7, 1), np.float32)
    impulse[0, 3, 3] = 1.0
    blurred = blur(impulse)
    assert blurred.sum() == pytest.approx(1.0)
    assert blurred[0, 3, 3, 0] == pytest.approx(0.25) and blurred[0, 2, 2, 0] == pytest.approx(1 / 16)
