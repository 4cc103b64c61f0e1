"""Issue 25.2: weights that hold NaN are found from the weights, in every command and in the app.

Whether a NaN weight reaches a model's output depends on the kernel library: with oneDNN on, a conv
followed by ReLU turns it into 0 and the model answers with confident-looking numbers. So the
commands run here with oneDNN forced on and off, in a process of their own, and must give the
same answers: `summary` describes the model with a warning, `predict` says per image that there is no
prediction, every command that would compute from the weights refuses in one line and writes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from _png import write_png

HANG_S = 600
REFUSING = {
    "export": ["--test-index", "0", "--out", "{out}/export"],
    "attribution": ["--test-index", "0", "--out", "{out}/heat.png"],
    "filters": ["--layer", "conv2d_1", "--out", "{out}/filters"],
    "unit": ["--test-index", "0", "--layer", "conv2d_1", "--channel", "0"],
    "evaluate": [],
}

# Each command through cnnviz's entry point, in one process (TensorFlow imports once): its exit code,
# stdout and stderr as JSON.
RUN_COMMANDS = textwrap.dedent("""
    import contextlib, io, json, sys
    from cnnviz.cli import main
    results = []
    for argv in json.loads(sys.argv[1]):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code
        results.append({"code": code, "out": out.getvalue(), "err": err.getvalue()})
    print(json.dumps(results))
""")


@pytest.fixture(scope="module")
def nan_model(tmp_path_factory, shipped_model_path):
    """The shipped convnet with one NaN in conv2d_1's kernel."""
    import keras

    model = keras.saving.load_model(shipped_model_path, compile=False)
    kernel = model.get_layer("conv2d_1").kernel
    broken = kernel.numpy()
    broken[1, 1, 0, 0] = np.nan
    kernel.assign(broken)
    path = tmp_path_factory.mktemp("nan") / "nan.keras"
    model.save(path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("onednn", ["1", "0"], ids=["like-avx512", "like-older-cpus"])
def test_every_command_finds_nan_weights_from_the_weights(nan_model, mnist, tmp_path, onednn):
    seven = write_png(tmp_path / "seven.png", 255 - mnist.x_test[0])
    model = ["--model", str(nan_model)]
    commands = [["summary", *model], ["predict", "--json", str(seven), *model], ["predict", str(seven), *model]]
    commands += [[name, *(word.format(out=tmp_path) for word in words), *model] for name, words in REFUSING.items()]
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "CNNVIZ_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", RUN_COMMANDS, json.dumps(commands)], env=env, capture_output=True,
                          text=True, timeout=HANG_S)
    assert done.returncode == 0, done.stderr[-3000:]
    summary, predict_json, predict, *refused = json.loads(done.stdout)
    warning = "cnnviz: warning: nan.keras has NaN or infinite weights in conv2d_1; its outputs are not numbers.\n"

    assert summary["code"] == 0 and "conv2d_1" in summary["out"] and summary["err"] == warning
    assert predict_json["code"] == 0 and predict_json["err"] == warning
    record = json.loads(predict_json["out"])
    assert record["digit"] is None and record["class"] is None and record["probabilities"] is None
    assert record["error"] == "the model's weights are not finite numbers (NaN or infinite in conv2d_1)"
    assert predict["out"] == (f"{seven}\tno prediction (the model's weights are not finite numbers "
                              "(NaN or infinite in conv2d_1))\n")
    for name, result in zip(REFUSING, refused, strict=True):
        assert result["code"] == 2 and result["out"] == "", (name, result)
        assert result["err"] == (f"cnnviz {name}: nan.keras has NaN or infinite weights in conv2d_1: its outputs "
                                 "are not finite numbers, so nothing was computed from it (train it again, or use "
                                 "another model)\n"), name
    assert not [name for name in ("export", "heat.png", "filters", "cache") if (tmp_path / name).exists()]


def test_the_compute_process_finds_them_without_sending_the_weights(nan_model):
    """The app's model info (its warning banner) comes from the weights, also when they are not sent along."""
    from cnnviz.compute.state import ComputeState
    from cnnviz.core.model_files import open_model

    state = ComputeState()
    model, _ = open_model(nan_model)
    state.set_model(model, nan_model, [], None)
    assert state.info().non_finite_layers == ("conv2d_1",)
    assert state.info(include_weights=False).non_finite_layers == ("conv2d_1",)
