"""FGSM and PGD against a plain tf.GradientTape, the ε ball and the [0, 1] box, and the ε sweep."""

from __future__ import annotations

import numpy as np
import pytest
from _tiny_models import branched_model

from cnnviz.core.adversarial import Attacker, check_epsilon


@pytest.fixture(scope="module")
def attacker(shipped_model):
    return Attacker(shipped_model)


def digit(mnist, index):
    return mnist.x_test[index].astype(np.float32)[..., None] / 255.0


def tape_gradient(model, image, label):
    """∇ₓ of the cross-entropy of `label`, from logits made by hand: dense_1's output · dense_2's kernel + bias."""
    import keras
    import tensorflow as tf

    features = keras.Model(model.inputs, model.get_layer("dense_1").output)
    head = model.get_layer("dense_2")
    x = tf.constant(image[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = tf.matmul(features(x, training=False), head.kernel) + head.bias
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits([label], logits)
    return tape.gradient(loss, x).numpy()[0]


def assert_sign_step(ours, image, gradient, step):
    """`ours` is clip(image + step · sign(gradient), 0, 1) wherever the gradient's sign is not a rounding
    matter (|g| above a millionth of the largest); where the gradient is exactly 0 (max-pooling routes it
    to one pixel of four, dead ReLUs) the pixel stays; everywhere the step is legal."""
    expected = np.clip(image + step * np.sign(gradient), 0.0, 1.0)
    clear = np.abs(gradient) > 1e-6 * np.abs(gradient).max()
    assert clear.mean() > 0.5
    np.testing.assert_allclose(ours[clear], expected[clear], atol=1e-6)
    still = gradient == 0
    assert np.mean(ours[still] == image[still]) > 0.99
    assert np.all(np.abs(ours - image) <= abs(step) + 1e-6)


@pytest.mark.parametrize("index, epsilon", [(0, 0.1), (1, 0.25), (8, 0.05)])
def test_fgsm_is_one_sign_step_of_a_plain_tape(attacker, shipped_model, mnist, index, epsilon):
    image = digit(mnist, index)
    predicted = int(np.argmax(shipped_model(image[None]).numpy()[0]))
    result = attacker.attack(image, "fgsm", epsilon)
    assert result.before_class == predicted and result.steps == 1 and result.target is None
    assert_sign_step(result.perturbed, image, tape_gradient(shipped_model, image, predicted), epsilon)
    np.testing.assert_allclose(result.perturbation, result.perturbed - image, atol=1e-7)
    # The probabilities reported are the model's own on the perturbed input.
    np.testing.assert_allclose(result.probabilities_after, shipped_model(result.perturbed[None]).numpy()[0],
                               atol=1e-5)
    assert result.after_probability == pytest.approx(result.probabilities_after.max())


def test_targeted_fgsm_steps_down_the_targets_loss(attacker, shipped_model, mnist):
    image = digit(mnist, 0)
    result = attacker.attack(image, "fgsm", 0.15, target=3)
    assert result.target == 3
    assert_sign_step(result.perturbed, image, tape_gradient(shipped_model, image, 3), -0.15)
    assert result.probabilities_after[3] > result.probabilities_before[3]


@pytest.mark.parametrize("epsilon, target", [(0.05, None), (0.2, None), (0.3, 3), (0.12, 1)])
def test_pgd_stays_in_the_epsilon_ball_and_the_box(attacker, mnist, epsilon, target):
    for index in (0, 2, 7):
        image = digit(mnist, index)
        result = attacker.attack(image, "pgd", epsilon, target, steps=12)
        assert result.steps == 12
        assert np.abs(result.perturbed - image).max() <= epsilon + 1e-6
        assert result.perturbed.min() >= 0.0 and result.perturbed.max() <= 1.0
        assert result.perturbation_linf <= epsilon + 1e-6
        assert result.perturbation_linf > 0.5 * epsilon      # it did move


def test_pgd_gets_further_than_fgsm(attacker, mnist):
    """On the first test digit (a 7) PGD at ε 0.2 flips the prediction, where FGSM at the same ε does not."""
    image = digit(mnist, 0)
    fgsm, pgd = attacker.attack(image, "fgsm", 0.2), attacker.attack(image, "pgd", 0.2)
    assert fgsm.before_class == pgd.before_class == 7
    assert not fgsm.succeeded and pgd.succeeded
    assert pgd.probabilities_after[7] < fgsm.probabilities_after[7]


def test_layer_changes_are_relative_l2_distances(attacker, shipped_model, mnist):
    import keras

    image = digit(mnist, 4)
    result = attacker.attack(image, "pgd", 0.1, steps=5)
    extractor = keras.Model(shipped_model.inputs, [layer.output for layer in shipped_model.layers])
    before, after = extractor([image[None]]), extractor([result.perturbed[None]])
    assert [c.name for c in result.layers] == [layer.name for layer in shipped_model.layers]
    for change, a, b in zip(result.layers, before, after, strict=True):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        assert change.relative_change == pytest.approx(np.linalg.norm(b - a) / np.linalg.norm(a), rel=1e-3)
    zero = attacker.attack(image, "pgd", 0.0)
    assert zero.perturbation_linf == 0 and all(c.relative_change == 0 for c in zero.layers)
    assert not zero.succeeded


def test_the_sweep_finds_the_smallest_flipping_epsilon_it_searched(attacker, shipped_model, mnist):
    image = digit(mnist, 0)
    sweep = attacker.sweep(image, "pgd", target=3, max_epsilon=0.3)
    assert sweep.epsilon is not None and 0 < sweep.epsilon <= 0.3
    assert sweep.result.succeeded and sweep.result.after_class == 3
    assert sweep.result.perturbation_linf <= sweep.epsilon + 1e-6
    # Independently: the model itself reads the returned input as a 3.
    assert int(np.argmax(shipped_model(sweep.result.perturbed[None]).numpy()[0])) == 3
    # Every coarse ε below the answer failed; the coarse grid is 0.01, 0.02, … 0.3.
    np.testing.assert_allclose(sweep.curve.epsilons, np.arange(1, 31) * 0.01, atol=1e-6)
    below = sweep.curve.epsilons < sweep.epsilon - 1e-9
    assert below.any() and np.all(sweep.curve.predicted[below] != 3)
    assert sweep.attacks_run == 30 + 9 + 9


def test_the_sweep_says_when_nothing_flips(attacker, mnist):
    sweep = attacker.sweep(digit(mnist, 0), "fgsm", max_epsilon=0.03)
    assert sweep.epsilon is None and not sweep.result.succeeded
    assert sweep.result.epsilon == pytest.approx(0.03)


def test_any_model_logits_and_other_shapes():
    model = branched_model("logits")
    image = np.random.default_rng(3).random((12, 12, 1)).astype(np.float32)
    result = Attacker(model).attack(image, "pgd", 0.1, target=2, steps=4)
    assert result.probabilities_after.shape == (5,)
    assert np.abs(result.perturbation).max() <= 0.1 + 1e-6
    assert result.probabilities_after[2] > result.probabilities_before[2]


def test_a_model_for_0_to_255_inputs_gets_a_scaled_epsilon(mnist):
    import keras
    from keras import layers

    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Rescaling(1 / 255),
                              layers.Conv2D(4, 3, activation="relu"),
                              layers.Flatten(), layers.Dense(10, activation="softmax")])
    attacker = Attacker(model)
    assert attacker.scale == 255.0
    image = mnist.x_test[0].astype(np.float32)[..., None]     # 0 … 255
    result = attacker.attack(image, "fgsm", 0.1)
    assert np.abs(result.perturbed - image).max() == pytest.approx(25.5, abs=1e-3)
    assert result.perturbed.max() <= 255 and result.perturbation_linf == pytest.approx(0.1, abs=1e-6)
    np.testing.assert_allclose(result.perturbed_intensity, result.perturbed / 255, atol=1e-6)


@pytest.mark.parametrize("call, message", [
    (lambda a, x: a.attack(x, "fgsm", 1.5), "ε must be from 0 to 1"),
    (lambda a, x: a.attack(x, "fgsm", -0.1), "ε must be from 0 to 1"),
    (lambda a, x: a.attack(x, "fgsm", float("nan")), "ε must be from 0 to 1"),
    (lambda a, x: a.attack(x, "deepfool", 0.1), "the method must be one of fgsm, pgd"),
    (lambda a, x: a.attack(x, "pgd", 0.1, target=10), "the target must be a class from 0 to 9"),
    (lambda a, x: a.attack(x[:20], "fgsm", 0.1), "the model takes 28×28×1 inputs"),
])
def test_bad_requests(attacker, mnist, call, message):
    with pytest.raises(ValueError, match=message):
        call(attacker, digit(mnist, 0))
    assert check_epsilon(1) == 1.0
