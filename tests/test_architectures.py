"""The architecture lab's six variants (issue 13): one table, the same layer names, Keras-exact shapes."""

import json

import numpy as np
import pytest

from cnnviz.cli import main
from cnnviz.core.architectures import (ARCHITECTURES, RECIPES, architecture_of, architecture_specs,
                                       build_architecture, last_conv_spec, parse_architecture_names)
from cnnviz.core.network import SEED_SPECS

# The issue's table, worked out by hand: every layer's output shape, and each variant's total.
EXPECTED_SHAPES = {
    "seed": [(26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (3, 3, 64), (576,), (64,), (10,)],
    "conv-conv-pool-pool": [(26, 26, 32), (24, 24, 64), (12, 12, 64), (6, 6, 64), (4, 4, 64), (1024,), (64,),
                            (10,)],
    "no-pooling": [(26, 26, 32), (24, 24, 64), (22, 22, 64), (30976,), (64,), (10,)],
    "average-pooling": [(26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (3, 3, 64), (576,), (64,), (10,)],
    "strided": [(13, 13, 32), (6, 6, 64), (4, 4, 64), (1024,), (64,), (10,)],
    "same-padding": [(28, 28, 32), (14, 14, 32), (14, 14, 64), (7, 7, 64), (7, 7, 64), (3136,), (64,), (10,)],
}
EXPECTED_TOTALS = {"seed": 93_322, "conv-conv-pool-pool": 121_994, "no-pooling": 2_038_922,
                   "average-pooling": 93_322, "strided": 121_994, "same-padding": 257_162}
# Receptive field of one unit of the last convolution, by hand: 3, +2 per 3×3 conv times the jump so far.
EXPECTED_LAST_CONV_FIELD = {"seed": 18, "conv-conv-pool-pool": 16, "no-pooling": 7, "average-pooling": 18,
                            "strided": 15, "same-padding": 18}
HEAD = ["flatten_1", "dense_1", "dense_2"]
EXPECTED_NAMES = {
    "seed": ["conv2d_1", "max_pooling2d_1", "conv2d_2", "max_pooling2d_2", "conv2d_3", *HEAD],
    "conv-conv-pool-pool": ["conv2d_1", "conv2d_2", "max_pooling2d_1", "max_pooling2d_2", "conv2d_3", *HEAD],
    "no-pooling": ["conv2d_1", "conv2d_2", "conv2d_3", *HEAD],
    "average-pooling": ["conv2d_1", "average_pooling2d_1", "conv2d_2", "average_pooling2d_2", "conv2d_3", *HEAD],
    "strided": ["conv2d_1", "conv2d_2", "conv2d_3", *HEAD],
    "same-padding": ["conv2d_1", "max_pooling2d_1", "conv2d_2", "max_pooling2d_2", "conv2d_3", *HEAD],
}


def hand_built(name):
    """The issue's table typed out in plain Keras, independently of cnnviz's recipes."""
    import keras
    from keras import layers

    def conv(filters, **options):
        return layers.Conv2D(filters, (3, 3), activation="relu", **options)

    stacks = {
        "seed": lambda: [conv(32), layers.MaxPooling2D((2, 2)), conv(64), layers.MaxPooling2D((2, 2)), conv(64)],
        "conv-conv-pool-pool": lambda: [conv(32), conv(64), layers.MaxPooling2D((2, 2)),
                                        layers.MaxPooling2D((2, 2)), conv(64)],
        "no-pooling": lambda: [conv(32), conv(64), conv(64)],
        "average-pooling": lambda: [conv(32), layers.AveragePooling2D((2, 2)), conv(64),
                                    layers.AveragePooling2D((2, 2)), conv(64)],
        "strided": lambda: [conv(32, strides=2), conv(64, strides=2), conv(64)],
        "same-padding": lambda: [conv(32, padding="same"), layers.MaxPooling2D((2, 2)), conv(64, padding="same"),
                                 layers.MaxPooling2D((2, 2)), conv(64, padding="same")],
    }
    return keras.Sequential([keras.Input((28, 28, 1)), *stacks[name](), layers.Flatten(),
                             layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])


def test_the_table_has_the_issues_six_variants_in_order_with_words_for_each():
    assert ARCHITECTURES == ("seed", "conv-conv-pool-pool", "no-pooling", "average-pooling", "strided",
                             "same-padding")
    for name in ARCHITECTURES:
        recipe = RECIPES[name]
        assert recipe.description and "\n" not in recipe.description
        assert recipe.question.endswith(")") or recipe.question.endswith("?")
    assert RECIPES["conv-conv-pool-pool"].stack_text == "Conv32 → Conv64 → MaxPool → MaxPool → Conv64"
    assert "why not conv, conv, pool, pool?" in RECIPES["conv-conv-pool-pool"].question


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_plain_specs_follow_the_issues_table(name):
    specs = architecture_specs(name)
    assert [spec.name for spec in specs] == EXPECTED_NAMES[name]
    assert [spec.output_shape for spec in specs] == EXPECTED_SHAPES[name]
    assert sum(spec.num_params for spec in specs) == EXPECTED_TOTALS[name]


def test_the_seed_row_is_the_notes_model():
    import keras

    from cnnviz.core.model import build_seed_model

    assert architecture_specs("seed") == SEED_SPECS
    keras.utils.set_random_seed(5)
    seed_model = build_seed_model()
    keras.utils.set_random_seed(5)
    variant = build_architecture("seed")
    assert seed_model.name == variant.name == "mnist_convnet"
    assert [l.get_config() for l in seed_model.layers] == [l.get_config() for l in variant.layers]
    for ours, theirs in zip(seed_model.get_weights(), variant.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_built_variant_matches_its_specs_and_the_hand_built_model(name):
    from cnnviz.core.network import layer_specs

    model = build_architecture(name)
    specs = layer_specs(model)
    plain = architecture_specs(name)
    assert specs == list(plain)
    assert [spec.config for spec in specs] == [spec.config for spec in plain]  # strides, padding, activations
    by_hand = hand_built(name)
    assert [(type(l).__name__, tuple(l.output.shape[1:]), l.count_params()) for l in by_hand.layers] == \
           [(spec.kind, spec.output_shape, spec.num_params) for spec in specs]
    assert model.count_params() == by_hand.count_params() == EXPECTED_TOTALS[name]
    # Compiled like the seed: rmsprop, categorical cross-entropy, accuracy.
    assert type(model.optimizer).__name__ == "RMSprop"
    assert model.loss == "categorical_crossentropy"
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[[1, 2, 3, 4]]
    metrics = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(metrics) == {"loss", "accuracy"}
    np.testing.assert_allclose(model.predict(x, verbose=0).sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_summary_json_of_each_architecture_matches_the_hand_built_model(name, capsys):
    assert main(["summary", "--architecture", name, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_hand = hand_built(name)
    assert [(row["output_shape"], row["params"]) for row in rows] == \
           [(list(l.output.shape[1:]), l.count_params()) for l in by_hand.layers]
    assert [row["type"] for row in rows] == [type(l).__name__ for l in by_hand.layers]
    assert [row["name"] for row in rows] == EXPECTED_NAMES[name]
    last_conv = [row for row in rows if row["type"] == "Conv2D"][-1]
    assert last_conv["receptive_field"] == EXPECTED_LAST_CONV_FIELD[name]


def test_summary_text_names_the_variant_and_its_total(capsys):
    assert main(["summary", "--architecture", "no-pooling"]) == 0
    out = capsys.readouterr().out
    assert "Model: mnist_convnet_no_pooling" in out and "Total params: 2,038,922" in out
    assert "22 × 22 × 64" in out


def test_summary_architecture_refuses_unknown_names_and_model_files(capsys, tmp_path):
    assert main(["summary", "--architecture", "pooling-everywhere"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pooling-everywhere" in err
    assert all(name in err for name in ARCHITECTURES)
    assert main(["summary", "--architecture", "seed", "--model", str(tmp_path / "m.keras")]) == 2
    assert "--model" in capsys.readouterr().err


def test_architecture_of_recognises_every_variant_and_nothing_else():
    for name in ARCHITECTURES:
        assert architecture_of(architecture_specs(name)) == name
    assert architecture_of(architecture_specs("seed")[:-1]) is None


def test_parse_architecture_names():
    assert parse_architecture_names("seed,no-pooling") == ("seed", "no-pooling")
    assert parse_architecture_names(" strided , seed ") == ("strided", "seed")
    assert parse_architecture_names("all") == ARCHITECTURES
    with pytest.raises(ValueError, match="choose from seed, conv-conv-pool-pool"):
        parse_architecture_names("seed,maxout")
    with pytest.raises(ValueError, match="named twice"):
        parse_architecture_names("seed,strided,seed")
    with pytest.raises(ValueError, match="unknown architecture ''"):
        parse_architecture_names("seed,")


def test_last_conv_spec():
    assert last_conv_spec(architecture_specs("no-pooling")).output_shape == (22, 22, 64)
    with pytest.raises(ValueError):
        last_conv_spec(architecture_specs("seed")[-3:])
