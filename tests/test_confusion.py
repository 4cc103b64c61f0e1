"""The confusion matrix and its cells, against plain Keras + numpy."""

import numpy as np
import pytest

from cnnviz.core.confusion import (ConfusionResult, compute_confusion, confusion_from_probabilities,
                                   confusion_matrix, format_confusion_table, predict_probabilities)


@pytest.fixture(scope="module")
def shipped_confusion(shipped_model, mnist) -> ConfusionResult:
    return compute_confusion(shipped_model, mnist.x_test, mnist.y_test)


@pytest.fixture(scope="module")
def keras_probabilities(shipped_model, mnist) -> np.ndarray:
    """The shipped model's probabilities from plain `model.predict`, with the input prepared by hand."""
    return shipped_model.predict(mnist.x_test.reshape(-1, 28, 28, 1).astype("float32") / 255, batch_size=256,
                                 verbose=0)


def test_matrix_equals_one_counted_from_keras_predict(shipped_confusion, keras_probabilities, mnist):
    expected = np.zeros((10, 10), dtype=int)
    for true, predicted in zip(mnist.y_test, keras_probabilities.argmax(axis=1)):
        expected[true, predicted] += 1
    assert np.array_equal(shipped_confusion.matrix, expected)
    np.testing.assert_allclose(shipped_confusion.probabilities, keras_probabilities, atol=1e-5)
    assert shipped_confusion.matrix.sum() == 10_000
    assert np.array_equal(shipped_confusion.matrix.sum(axis=1), np.bincount(mnist.y_test, minlength=10))


def test_accuracy_is_the_trace_over_10000_and_the_loss_is_keras_cross_entropy(shipped_confusion,
                                                                              keras_probabilities, mnist):
    import keras

    assert shipped_confusion.accuracy == np.trace(shipped_confusion.matrix) / 10_000
    assert shipped_confusion.accuracy == (keras_probabilities.argmax(axis=1) == mnist.y_test).mean()
    loss = keras.losses.categorical_crossentropy(np.eye(10)[mnist.y_test], keras_probabilities)
    assert shipped_confusion.log_loss == pytest.approx(float(np.mean(loss)), rel=1e-4)
    assert shipped_confusion.accuracy >= 0.99


def test_per_class_accuracy_is_the_diagonal_over_each_class(shipped_confusion, mnist):
    predictions = shipped_confusion.predictions
    for digit in range(10):
        in_class = mnist.y_test == digit
        assert shipped_confusion.per_class_accuracy[digit] == pytest.approx((predictions[in_class] == digit).mean())


def test_a_cell_lists_its_digits_most_confident_first(shipped_confusion, keras_probabilities, mnist):
    true, predicted = map(int, np.unravel_index(
        np.argmax(shipped_confusion.matrix - np.diag(np.diag(shipped_confusion.matrix))), (10, 10)))
    cell = shipped_confusion.cell(true, predicted)
    expected = np.flatnonzero((mnist.y_test == true) & (keras_probabilities.argmax(axis=1) == predicted))
    assert sorted(cell.indices.tolist()) == expected.tolist()
    assert len(cell.indices) == shipped_confusion.matrix[true, predicted] > 0
    np.testing.assert_allclose(cell.confidences, keras_probabilities[cell.indices, predicted], atol=1e-5)
    np.testing.assert_allclose(cell.true_probabilities, keras_probabilities[cell.indices, true], atol=1e-5)
    assert np.all(np.diff(cell.confidences) <= 0)
    shaky = shipped_confusion.cell(true, true, least_confident_first=True)
    assert len(shaky.indices) == shipped_confusion.matrix[true, true]
    assert np.all(np.diff(shaky.confidences) >= 0)
    with pytest.raises(ValueError, match="outside"):
        shipped_confusion.cell(10, 0)


def test_small_case_counted_by_hand():
    probabilities = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7], [0.5, 0.4, 0.1]])
    labels = np.array([0, 1, 1, 2, 1])
    result = confusion_from_probabilities(probabilities, labels)
    assert result.matrix.tolist() == [[1, 0, 0], [2, 1, 0], [0, 0, 1]]
    assert result.accuracy == pytest.approx(3 / 5)
    assert result.per_class_accuracy.tolist() == pytest.approx([1.0, 1 / 3, 1.0])
    assert result.cell(1, 0).indices.tolist() == [2, 4]  # 0.6 before 0.5
    expected_loss = -np.mean(np.log([0.9, 0.7, 0.3, 0.7, 0.4]))
    assert result.log_loss == pytest.approx(expected_loss, rel=1e-6)


def test_a_class_without_images_is_null_in_json_and_na_in_the_table():
    result = confusion_from_probabilities(np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1]]), np.array([0, 1]))
    data = result.to_json()
    assert data["per_class_accuracy"] == [1.0, 1.0, None]
    assert data["confusion"] == [[1, 0, 0], [0, 1, 0], [0, 0, 0]] and data["accuracy"] == 1.0
    table = format_confusion_table(result)
    assert "n/a" in table and "2 of 2 right" in table


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError):
        confusion_from_probabilities(np.ones((3, 10)) / 10, np.zeros(4, dtype=int))
    with pytest.raises(ValueError):
        confusion_matrix(np.array([0, 11]), np.array([0, 1]), 10)


def test_a_logits_model_gets_a_softmax(fresh_model, mnist):
    import keras

    logits_model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    images = mnist.x_test[:50]
    logits = logits_model.predict(images[..., None] / 255.0, verbose=0)
    probabilities = predict_probabilities(logits_model, images)
    np.testing.assert_allclose(probabilities, keras.ops.convert_to_numpy(keras.ops.softmax(logits)), atol=1e-6)
    softmax_probabilities = predict_probabilities(fresh_model, images)
    np.testing.assert_allclose(softmax_probabilities, fresh_model.predict(images[..., None] / 255.0, verbose=0),
                               atol=1e-6)


def test_progress_counts_images_and_can_cancel(fresh_model, mnist):
    calls = []
    predict_probabilities(fresh_model, mnist.x_test[:2500], batch_size=1000, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1000, 2500), (2000, 2500), (2500, 2500)]

    class Cancelled(Exception):
        pass

    def cancel(done, total):
        raise Cancelled

    with pytest.raises(Cancelled):
        compute_confusion(fresh_model, mnist.x_test[:2500], mnist.y_test[:2500], progress=cancel)


def test_the_table_shows_every_row_and_the_accuracy(shipped_confusion):
    table = format_confusion_table(shipped_confusion).splitlines()
    assert table[0].split()[-12:] == [str(d) for d in range(10)] + ["total", "accuracy"]
    rows = [line.split() for line in table[2:12]]
    assert [int(r[0]) for r in rows] == list(range(10))
    assert [[int(v) for v in r[1:11]] for r in rows] == shipped_confusion.matrix.tolist()
    assert f"Accuracy {shipped_confusion.accuracy:.4f}" in table[-1]
