"""Any Keras image classifier (issue 14): functional and Sequential, RGB and grey, any size, softmax or
logits, saved as .keras and legacy .h5; refused with one line: Lambda, custom layers, several outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnviz.cli import main

FORMATS = (".keras", ".h5")


def residual_rgb_model():
    """Functional 32×32×3: conv, BatchNorm, ReLU, a residual Add, global average pooling, softmax."""
    import keras
    from keras import layers

    image = keras.Input((32, 32, 3), name="image")
    x = layers.Conv2D(8, 3, padding="same", name="stem")(image)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    y = layers.SeparableConv2D(8, 3, padding="same", activation="relu", name="sep")(x)
    y = layers.DepthwiseConv2D(3, padding="same", name="depthwise")(y)
    x = layers.Add(name="residual")([x, y])
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    return keras.Model(image, layers.Dense(5, activation="softmax", name="classes")(x), name="residual_rgb")


def sequential_grey_model():
    """Sequential 64×64×1 with a Rescaling step (it takes 0…255), strided conv, average pooling."""
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((64, 64, 1)),
        layers.Rescaling(1 / 255, name="rescale"),
        layers.Conv2D(6, 5, strides=2, activation="relu", name="conv"),
        layers.AveragePooling2D(2, name="avg"),
        layers.Flatten(name="flat"),
        layers.Dense(4, activation="softmax", name="out"),
    ], name="grey64")


def logits_model():
    """28×28×1 with a plain (linear) last layer: logits, which cnnviz turns into probabilities."""
    import keras
    from keras import layers

    image = keras.Input((28, 28, 1))
    x = layers.Conv2D(4, 3, name="conv")(image)
    x = layers.Activation("relu", name="act")(x)
    x = layers.Flatten(name="flat")(x)
    return keras.Model(image, layers.Dense(3, name="logits")(x), name="logits_only")


BUILDERS = {"residual": residual_rgb_model, "grey64": sequential_grey_model, "logits": logits_model}


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    """{(kind, suffix): path} for every builder saved in both formats (one set of weights per kind)."""
    import keras

    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for kind, build in BUILDERS.items():
        keras.utils.set_random_seed(1)
        model = build()
        if kind == "residual":  # BatchNorm statistics that are not the identity, so the test can fail
            bn = model.get_layer("stem_bn")
            bn.moving_mean.assign(np.linspace(-0.2, 0.3, 8).astype("float32"))
            bn.moving_variance.assign(np.linspace(0.5, 2.0, 8).astype("float32"))
        for suffix in FORMATS:
            path = folder / f"{kind}{suffix}"
            model.save(path)
            paths[kind, suffix] = path
    return paths


def rng_image(shape, scale=1.0, seed=0):
    return (np.random.default_rng(seed).random(shape, dtype=np.float32) * scale).astype(np.float32)


def layer_outputs_one_by_one(model, image):
    """Each layer's output from its own sub-model (input → that layer), not from the probe's extractor."""
    import keras

    outputs = {}
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        sub = keras.Model(model.inputs[0], model.get_layer(layer.name).output)
        outputs[layer.name] = np.asarray(sub(image[None], training=False))[0]
    return outputs


@pytest.mark.parametrize("suffix", FORMATS)
def test_models_open_with_their_description(saved_models, suffix):
    from cnnviz.core.model_files import open_model

    _, residual = open_model(saved_models["residual", suffix])
    assert residual.input_shape == (32, 32, 3) and residual.num_classes == 5
    assert residual.class_names == ("0", "1", "2", "3", "4") and not residual.outputs_logits
    _, grey = open_model(saved_models["grey64", suffix])
    assert grey.input_shape == (64, 64, 1) and grey.input_scale == 255.0
    _, logits = open_model(saved_models["logits", suffix])
    assert logits.outputs_logits and logits.output_activation == "linear"
    assert "logits; cnnviz applies softmax" in logits.describe()


@pytest.mark.parametrize("kind", list(BUILDERS))
@pytest.mark.parametrize("suffix", FORMATS)
def test_probe_gives_every_layer_output_and_probabilities(saved_models, kind, suffix):
    from cnnviz.core.activations import ActivationProbe
    from cnnviz.core.model_files import open_model

    model, info = open_model(saved_models[kind, suffix])
    probe = ActivationProbe(model, info)
    image = rng_image(info.input_shape, info.input_scale)
    outputs = probe(image)
    expected = layer_outputs_one_by_one(model, image)
    assert probe.layer_names == list(expected)
    for name, output in zip(probe.layer_names, outputs):
        np.testing.assert_allclose(output, expected[name], rtol=1e-5, atol=1e-5, err_msg=name)
    scores = expected[probe.layer_names[-1]].astype(np.float64)
    if info.outputs_logits:
        scores = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    np.testing.assert_allclose(probe.probabilities(image), scores, rtol=1e-5, atol=1e-6)
    assert probe.spatial_layers() == [i for i, out in enumerate(outputs) if out.ndim == 3]


def test_layer_specs_name_the_branches_and_the_main_path(saved_models):
    from cnnviz.core.model_files import open_model
    from cnnviz.core.network import branch_layers, layer_specs, main_path, resolved_inputs

    model, _ = open_model(saved_models["residual", ".keras"])
    specs = layer_specs(model)
    names = [s.name for s in specs]
    by_name = {s.name: s for s in specs}
    assert by_name["residual"].inputs == ("stem_relu", "depthwise")
    assert by_name["stem"].inputs == () and by_name["sep"].inputs == ()   # fed by the layer before
    assert resolved_inputs(specs)[0] == ("input",)
    path = main_path(specs)
    assert [names[step.index] for step in path] == names   # the shortcut is a plain skip: every layer is on it
    merge = next(step for step in path if names[step.index] == "residual")
    assert [(names[b.start], b.layers) for b in merge.branches] == [("stem_relu", ())]
    assert branch_layers(specs) == []


def test_main_path_marks_a_branch_with_its_own_layers():
    from cnnviz.core.network import LayerSpec, branch_layers, main_path

    specs = [LayerSpec("a", "Conv2D", (8, 8, 4), 1), LayerSpec("b", "Conv2D", (8, 8, 4), 1),
             LayerSpec("c", "Conv2D", (8, 8, 4), 1),
             LayerSpec("short", "Conv2D", (8, 8, 4), 1, inputs=("a",)),
             LayerSpec("sum", "Add", (8, 8, 4), 0, inputs=("c", "short")), LayerSpec("out", "Dense", (3,), 1)]
    path = main_path(specs)
    assert [specs[s.index].name for s in path] == ["a", "b", "c", "sum", "out"]
    assert path[3].branches[0].start == 0 and path[3].branches[0].layers == (3,)
    assert branch_layers(specs) == [3]


def test_descriptions_explain_the_new_layer_kinds(saved_models):
    from cnnviz.core.inspection import describe_network
    from cnnviz.core.model_files import open_model

    model, info = open_model(saved_models["residual", ".keras"])
    described = {d.name: d for d in describe_network(model)}
    assert described["input"].shape == (32, 32, 3) and "RGB" in described["input"].summary
    assert "residual connection" in described["residual"].explanation
    assert "stem_relu and depthwise" in described["residual"].explanation
    assert "running mean" in described["stem_bn"].explanation
    assert "depthwise" in described["sep"].explanation and "pointwise" in described["sep"].explanation
    assert "one by one" in described["depthwise"].explanation
    assert "whatever its position" in described["gap"].explanation
    assert "passes everything" in described["dropout"].explanation
    grey, grey_info = open_model(saved_models["grey64", ".h5"])
    grey_described = {d.name: d for d in describe_network(grey)}
    assert "255" in grey_described["input"].explanation
    assert "×0.003922" in grey_described["rescale"].summary
    conv = grey_described["conv"].explanation
    assert "stepping 2" in conv and "(64−5)//2+1 = 30" in conv
    seed = describe_network(None)
    assert seed[0].summary == "your digit, 28×28 grey pixels" and "28−3+1 = 26" in seed[1].explanation


@pytest.mark.parametrize("kind", list(BUILDERS))
@pytest.mark.parametrize("suffix", FORMATS)
def test_summary_predict_and_export_work_on_each(saved_models, kind, suffix, tmp_path, capsys):
    from PIL import Image

    from cnnviz.core.model_files import open_model

    path = saved_models[kind, suffix]
    model, info = open_model(path)
    assert main(["summary", "--model", str(path)]) == 0
    out = capsys.readouterr().out
    assert info.describe() in out and all(s in out for s in ("Total params",))

    picture = tmp_path / "picture.png"
    Image.fromarray((rng_image((40, 50, 3), seed=3) * 255).astype(np.uint8)).save(picture)
    assert main(["predict", "--json", "--preprocess", "resize", str(picture), "--model", str(path)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert len(record["probabilities"]) == info.num_classes
    assert abs(sum(record["probabilities"]) - 1) < 1e-4
    assert record["class"] == info.class_names[record["digit"]]

    out_dir = tmp_path / "export"
    assert main(["export", "--image", str(picture), "--preprocess", "resize", "--model", str(path),
                 "--out", str(out_dir), "--scale", "2"]) == 0
    capsys.readouterr()
    manifest = json.loads((out_dir / "manifest.json").read_text())
    height, width, channels = info.input_shape
    model_input = np.load(out_dir / f"01_model_input_{height}x{width}.npy")
    assert model_input.shape == ((height, width, 3) if channels == 3 else (height, width))
    expected = layer_outputs_one_by_one(model, model_input.reshape(info.input_shape))
    for layer in manifest["layers"]:
        np.testing.assert_allclose(np.load(out_dir / layer["array"]), expected[layer["name"]], rtol=1e-5,
                                   atol=1e-5, err_msg=layer["name"])
    assert [layer["name"] for layer in manifest["layers"]] == list(expected)
    np.testing.assert_allclose(manifest["prediction"]["probabilities"], record["probabilities"], atol=1e-5)


def test_predict_prints_class_names_from_the_file_beside_the_model(saved_models, tmp_path, capsys):
    import shutil

    from PIL import Image

    model_path = tmp_path / "pets.h5"
    shutil.copy(saved_models["logits", ".h5"], model_path)
    (tmp_path / "pets.classes.json").write_text(json.dumps(["cat", "dog", "bird"]))
    picture = tmp_path / "p.png"
    Image.fromarray((rng_image((28, 28), seed=5) * 255).astype(np.uint8)).save(picture)
    assert main(["predict", str(picture), "--model", str(model_path), "--preprocess", "resize"]) == 0
    captured = capsys.readouterr()
    fields = captured.out.strip().split("\t")
    assert fields[1] in ("cat", "dog", "bird")
    assert "applies softmax" in captured.err   # logits: said once, on stderr
    (tmp_path / "pets.classes.json").write_text(json.dumps(["cat", "dog"]))
    assert main(["predict", str(picture), "--model", str(model_path)]) == 2
    assert "lists 2 class names, but the model has 3 classes" in capsys.readouterr().err


def test_digit_preparation_is_refused_for_models_it_cannot_fit(saved_models, tmp_path, capsys):
    from PIL import Image

    picture = tmp_path / "p.png"
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(picture)
    assert main(["predict", str(picture), "--model", str(saved_models["residual", ".keras"]),
                 "--preprocess", "digit"]) == 2
    assert "use resize" in capsys.readouterr().err


def lambda_model():
    import keras
    from keras import layers

    return keras.Sequential([keras.Input((28, 28, 1)), layers.Lambda(lambda t: t * 2, name="double"),
                             layers.Flatten(), layers.Dense(10, activation="softmax")])


def two_output_model():
    import keras
    from keras import layers

    image = keras.Input((28, 28, 1))
    flat = layers.Flatten()(image)
    return keras.Model(image, [layers.Dense(10, activation="softmax", name="digit")(flat),
                               layers.Dense(2, activation="softmax", name="odd")(flat)])


@pytest.mark.parametrize("build, message", [
    (lambda_model, "uses a Lambda layer (double): cnnviz never runs Python code from a model file"),
    (two_output_model, "has 1 input(s) and 2 output(s)"),
])
@pytest.mark.parametrize("suffix", FORMATS)
def test_lambda_and_two_output_models_get_one_line_and_exit_2(build, message, suffix, tmp_path, capsys):
    path = tmp_path / f"bad{suffix}"
    build().save(path)
    for command in (["summary"], ["predict", str(path)], ["export", "--test-index", "0", "--out",
                                                          str(tmp_path / "e")]):
        assert main([*command, "--model", str(path)]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "e").exists()


@pytest.mark.parametrize("suffix", FORMATS)
def test_custom_layer_classes_are_refused_before_keras_runs_anything(suffix, tmp_path):
    import keras

    from cnnviz.core.model_files import ModelFileError, open_model

    @keras.saving.register_keras_serializable(package="Mine")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return x * 2

    model = keras.Sequential([keras.Input((16, 16, 1)), Doubler(name="twice"), keras.layers.Flatten(),
                              keras.layers.Dense(3)])
    path = tmp_path / f"custom{suffix}"
    model.save(path)
    with pytest.raises(ModelFileError, match=r"custom layer class Mine>Doubler \(twice\)"):
        open_model(path)


@pytest.mark.parametrize("build, message", [
    (lambda: _functional((None, None, 3), 4), "takes images of any size"),
    (lambda: _functional((4, 4, 1), 4), "8 to 512 pixels a side"),
    (lambda: _functional((16, 16, 2), 4), "height × width × 1 for grey, or × 3 for RGB"),
    (lambda: _functional((16, 16, 1), 1), "2 or more classes"),
])
def test_unsuitable_shapes_are_refused_with_the_reason(build, message, tmp_path):
    from cnnviz.core.model_files import ModelFileError, open_model

    path = tmp_path / "m.keras"
    build().save(path)
    with pytest.raises(ModelFileError, match=message):
        open_model(path)


def _functional(shape, classes):
    import keras
    from keras import layers

    image = keras.Input(shape)
    x = layers.GlobalAveragePooling2D()(layers.Conv2D(2, 1)(image))
    return keras.Model(image, layers.Dense(classes, activation="softmax")(x))


def test_non_finite_weights_are_reported_and_json_stays_valid(saved_models, tmp_path, capsys):
    import keras

    from PIL import Image

    model = keras.saving.load_model(saved_models["grey64", ".keras"], compile=False)
    kernel = model.get_layer("conv").kernel
    broken = kernel.numpy()
    broken[0, 0, 0, 0] = np.nan
    kernel.assign(broken)
    path = tmp_path / "nan.keras"
    model.save(path)
    picture = tmp_path / "p.png"
    Image.fromarray(np.full((64, 64), 200, np.uint8)).save(picture)
    assert main(["predict", "--json", str(picture), "--model", str(path)]) == 0
    captured = capsys.readouterr()
    record = json.loads(captured.out)   # strict JSON: a NaN would not parse back as null
    assert record["probabilities"] is None and record["digit"] is None and "not finite" in record["error"]
    assert "NaN or infinite weights in conv" in captured.err
    assert main(["export", "--image", str(picture), "--model", str(path), "--out", str(tmp_path / "x")]) == 2
    assert "not finite numbers" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_model_input_resize_and_digit_paths(saved_models):
    from PIL import Image

    from cnnviz.core.model_files import open_model
    from cnnviz.core.model_input import prepare_pixels

    _, rgb = open_model(saved_models["residual", ".keras"])
    pixels = rng_image((48, 40, 4), seed=9)   # RGBA: alpha is dropped
    prepared = prepare_pixels(pixels, rgb)
    assert prepared.preparation == "resize" and prepared.array.shape == (32, 32, 3)
    by_pillow = np.asarray(Image.fromarray((pixels[..., :3] * 255).round().astype(np.uint8)).resize(
        (32, 32), Image.Resampling.BILINEAR), np.float32) / 255
    assert np.abs(prepared.array - by_pillow).max() < 2.5 / 255   # same filter; 8-bit rounding apart
    _, grey = open_model(saved_models["grey64", ".keras"])
    prepared = prepare_pixels(pixels, grey)
    luminance = pixels[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
    assert prepared.array.shape == (64, 64, 1) and prepared.scale == 255
    assert abs(prepared.array.mean() / 255 - luminance.mean()) < 0.01
    _, digits = open_model(saved_models["logits", ".keras"])   # 28×28×1 but 3 classes: not a digit model
    assert prepare_pixels(pixels, digits).preparation == "resize"
