"""Issue 25.6: hostile model files are refused in one line before Keras allocates or runs anything.

The independent sweep found: deeply nested `config.json` / `.h5` `model_config` → RecursionError; a
config that is a JSON list → AttributeError; a config edited to 400,000 dense units and a `.keras`
whose weights member is a compression bomb → gigabytes of memory; a legacy `.h5` with a huge
unallocated dataset → the same; a 10,000-layer config → `summary` silent after 60 s; `../` member
names → accepted with UserWarnings. Every fixture that would run code creates a marker file if it ran.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import hostile_files as hostile  # noqa: E402

from cnnviz.core.model_files import ModelFileError, open_model  # noqa: E402


@pytest.fixture
def marker(tmp_path, monkeypatch):
    """The file any code from a fixture would create, with the payload module importable."""
    path = tmp_path / "CODE_RAN"
    monkeypatch.setenv(hostile.MARKER_VARIABLE, str(path))
    hostile.write_payload_module(tmp_path / "payload")
    monkeypatch.syspath_prepend(str(tmp_path / "payload"))
    return path


def refused(path: Path, *fragments: str) -> str:
    with pytest.raises(ModelFileError) as caught:
        open_model(path)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 400, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("depth", [100_000, 1_000])
def test_a_deeply_nested_config_is_one_line(depth, tmp_path, shipped_model_path):
    path = hostile.keras_with_config(tmp_path / "deep.keras", shipped_model_path, hostile.nested_config(depth))
    refused(path, "deep.keras cannot be opened: its configuration is nested", "cnnviz reads at most 128")


def test_a_config_that_is_a_list_is_one_line(tmp_path, shipped_model_path):
    path = hostile.keras_with_config(tmp_path / "list.keras", shipped_model_path, b"[1, 2, 3]")
    refused(path, "its configuration is a JSON list, not a model")


def test_nan_in_a_config_is_refused(tmp_path, shipped_model_path):
    config = hostile.stored_config(shipped_model_path)
    text = __import__("json").dumps(config).replace('"units": 64', '"units": NaN', 1).encode()
    assert b"NaN" in text
    refused(hostile.keras_with_config(tmp_path / "nan.keras", shipped_model_path, text), "NaN")


def test_400000_dense_units_are_refused_before_they_are_allocated(tmp_path, shipped_model_path):
    """1,600 × 400,000 float32 is 2.4 GB: counted against the bound before the variable exists."""
    path = hostile.keras_with_config(tmp_path / "wide.keras", shipped_model_path,
                                     hostile.with_dense_units(shipped_model_path, 400_000))
    before = peak_rss_mb()
    refused(path, "wide.keras cannot be opened: its layers ask for more than 600 MB of weights", "400000")
    assert peak_rss_mb() - before < 500


def test_the_weight_bound_still_opens_the_shipped_models(shipped_model_path):
    model, info = open_model(shipped_model_path)
    assert info.num_classes == 10 and model.count_params() > 0


def test_ten_thousand_layers_are_refused_before_keras_reads_them(tmp_path, shipped_model_path):
    path = hostile.keras_with_config(tmp_path / "tall.keras", shipped_model_path,
                                     hostile.with_many_layers(shipped_model_path, 10_000))
    started = time.monotonic()
    refused(path, "it has more than 1,000 layers")
    assert time.monotonic() - started < 60   # a hang bound only: Keras took minutes


@pytest.mark.parametrize("where", ["layer", "activation", "registered", "nested"])
def test_a_config_naming_a_module_runs_nothing(where, tmp_path, shipped_model_path, marker):
    path = hostile.keras_with_config(tmp_path / f"{where}.keras", shipped_model_path,
                                     hostile.naming_module(shipped_model_path, where))
    message = refused(path)
    assert "sweep_payload" in message and "never runs code from a model file" in message
    assert not marker.exists()
    assert hostile.PAYLOAD_MODULE not in sys.modules


def test_a_lambda_inside_a_nested_model_is_refused(tmp_path, shipped_model_path):
    path = hostile.keras_with_config(tmp_path / "nested.keras", shipped_model_path,
                                     hostile.with_lambda_in_nested_model(shipped_model_path))
    refused(path, "uses a Lambda layer (hidden_lambda)")


@pytest.mark.parametrize("name", ["../../evil.txt", "/etc/evil", "assets/../../x"])
def test_archive_members_outside_the_archive_are_refused(name, tmp_path, shipped_model_path):
    path = hostile.keras_with_member(tmp_path / "slip.keras", shipped_model_path, name)
    refused(path, "points outside the archive")
    assert not (tmp_path.parent / "evil.txt").exists()


def test_a_weights_bomb_is_refused_from_its_declared_size(tmp_path, shipped_model_path):
    path = hostile.keras_weights_bomb(tmp_path / "bomb.keras", shipped_model_path, gigabytes=1.0)
    before = peak_rss_mb()
    refused(path, "model.weights.h5 declares 1.0 GB")
    assert peak_rss_mb() - before < 200
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.keras"]   # no extraction folder


@pytest.fixture(scope="module")
def lambda_h5(tmp_path_factory):
    """A legacy .h5 whose Lambda holds marshalled Python code that creates the marker when called."""
    import keras

    folder = tmp_path_factory.mktemp("h5")
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Lambda(hostile.lambda_touching_marker()),
                              keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    model.save(folder / "lambda.h5")
    plain = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    plain.save(folder / "plain.h5")
    return folder


def test_an_h5_lambda_with_marshalled_code_runs_nothing(lambda_h5, marker):
    refused(lambda_h5 / "lambda.h5", "uses a Lambda layer")
    assert not marker.exists()


def test_an_h5_external_link_is_refused(lambda_h5, tmp_path):
    path = hostile.h5_model(tmp_path / "link.h5", lambda_h5 / "plain.h5", hostile.h5_external_link("/etc/passwd"))
    refused(path, "it links to another file")


def test_an_h5_dataset_declaring_gigabytes_is_refused_before_it_is_read(lambda_h5, tmp_path):
    path = hostile.h5_model(tmp_path / "huge.h5", lambda_h5 / "plain.h5", hostile.h5_huge_dataset())
    before = peak_rss_mb()
    refused(path, "declares 2.4 GB")
    assert peak_rss_mb() - before < 200


def test_an_h5_model_config_nested_deep_is_one_line(lambda_h5, tmp_path):
    path = hostile.h5_model(tmp_path / "deep.h5", lambda_h5 / "plain.h5",
                            hostile.h5_set_config(hostile.nested_config(100_000)))
    refused(path, "nested")


@pytest.mark.parametrize("content, fragment", [
    (hostile.nested_json(100_000, b'"a"'), "nested 100000 levels deep"),
    (b'["a", NaN]', "NaN"),
    (b'{"0": "a"}', "must be a JSON list of class names"),
    (b'["a", "b"', "not readable JSON"),
    (b"\xff\xfe", "not readable JSON"),
])
def test_a_malformed_classes_file_is_one_line(content, fragment, tmp_path, shipped_model_path):
    import shutil

    model = tmp_path / "m.keras"
    shutil.copy(shipped_model_path, model)
    (tmp_path / "m.classes.json").write_bytes(content)
    message = refused(model, "m.classes.json")
    assert fragment in message


def test_an_unreadable_model_file_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    path.write_bytes(b"PK")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("cnnviz.core.model_files.read_stored_config", denied)
    refused(path, "Cannot read m.keras: Permission denied")
