"""Move it: what a prediction and the maps do when the input is shifted, turned or scaled (issue 21).

The notes open chapter 5 with two properties of convnets, of which the first is that the patterns they
learn are *translation invariant*. This module measures it on one input:

- the prediction for the input shifted by whole pixels (`shift_image`: dx > 0 right, dy > 0 down, the
  uncovered pixels filled with the background, no resampling), turned (`rotate_image`, degrees
  counter-clockwise about the centre) and scaled (`scale_image`, about the centre), every variant in
  ONE batched forward pass;
- per conv and pooling layer, how well its maps follow a horizontal shift of the input: the Pearson
  correlation between the maps of the shifted input and the maps of the original shifted by the same
  amount in map units (the input shift divided by the layer's stride product; a fractional map shift
  interpolates linearly between the two whole ones), over the region where both are defined
  (`correlation`: 1 is perfect equivariance); and the correlation with the original maps unshifted
  (`invariance`: 1 means the layer does not see the shift at all). Convolutions follow any shift
  exactly; pooling follows whole multiples of its stride and blurs the rest, so its maps start to
  ignore small shifts: what max pooling buys.

Input images are the model's input, (H, W) or (H, W, C), white on black (background 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

SHIFTS = tuple(range(-6, 7))                                        # pixels, in x and in y
ROTATIONS = tuple(range(-30, 31, 5))                                # degrees
SCALES = tuple(round(0.6 + 0.1 * i, 1) for i in range(9))           # 0.6 … 1.4
LAYER_SHIFTS = SHIFTS                                               # horizontal shifts for the layer figures
BACKGROUND = 0.0


# --- moving an image ------------------------------------------------------------------------------
def shift_image(image: np.ndarray, dx: int, dy: int, fill: float = BACKGROUND) -> np.ndarray:
    """`image` ((H, W) or (H, W, C)) moved `dx` whole pixels right and `dy` down (negative: left, up),
    without resampling; the pixels uncovered are `fill`, those moved out are gone."""
    if int(dx) != dx or int(dy) != dy:
        raise ValueError(f"shift_image moves by whole pixels, not ({dx}, {dy})")
    dx, dy = int(dx), int(dy)
    image = np.asarray(image)
    height, width = image.shape[:2]
    moved = np.full_like(image, fill)
    if abs(dx) >= width or abs(dy) >= height:
        return moved
    moved[max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)] = \
        image[max(-dy, 0):height + min(-dy, 0), max(-dx, 0):width + min(-dx, 0)]
    return moved


def rotate_image(image: np.ndarray, degrees: float, fill: float = BACKGROUND) -> np.ndarray:
    """`image` turned `degrees` counter-clockwise about its centre (bilinear), corners filled with `fill`."""
    from PIL import Image

    return _per_channel(image, lambda plane: Image.fromarray(plane, mode="F").rotate(
        float(degrees), resample=Image.Resampling.BILINEAR, fillcolor=float(fill)))


def scale_image(image: np.ndarray, factor: float, fill: float = BACKGROUND) -> np.ndarray:
    """`image` scaled by `factor` about its centre (bilinear; > 1 larger, its edges cut off; < 1 smaller,
    the border filled with `fill`), the same size as before."""
    from PIL import Image

    if not factor > 0:
        raise ValueError(f"the scale factor must be above 0, not {factor}")
    height, width = np.asarray(image).shape[:2]
    cx, cy = width / 2, height / 2   # Pillow's coordinates: pixel i spans [i, i + 1]
    inverse = 1.0 / float(factor)
    matrix = (inverse, 0.0, cx - cx * inverse, 0.0, inverse, cy - cy * inverse)
    return _per_channel(image, lambda plane: Image.fromarray(plane, mode="F").transform(
        (width, height), Image.Transform.AFFINE, matrix, resample=Image.Resampling.BILINEAR,
        fillcolor=float(fill)))


def _per_channel(image: np.ndarray, transform) -> np.ndarray:
    """Apply a Pillow transform of one float plane to each channel of (H, W) or (H, W, C)."""
    image = np.asarray(image, dtype=np.float32)
    planes = image[..., None] if image.ndim == 2 else image
    out = np.stack([np.asarray(transform(np.ascontiguousarray(planes[..., c])), np.float32)
                    for c in range(planes.shape[-1])], axis=-1)
    return out[..., 0] if image.ndim == 2 else out


# --- results ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerFollow:
    """How one layer's maps follow a horizontal input shift of `shift` pixels."""

    name: str
    shift: int
    map_shift: float            # the shift in map units: shift / the layer's stride product
    correlation: float | None   # maps of the shifted input against the original's maps shifted along
    invariance: float | None    # … against the original's maps where they were


@dataclass
class RobustnessResult:
    """Class probabilities of the input and of each moved version, and how each layer follows a shift."""

    baseline: np.ndarray                                  # (classes,)
    shifts: list[tuple[int, int]]                         # (dx, dy)
    shift_probabilities: np.ndarray                       # (len(shifts), classes)
    rotations: list[float]
    rotation_probabilities: np.ndarray
    scales: list[float]
    scale_probabilities: np.ndarray
    layers: list[LayerFollow] = field(default_factory=list)

    @property
    def baseline_class(self) -> int:
        return int(np.argmax(self.baseline))

    def shift_grid(self, class_index: int) -> np.ndarray:
        """The probability of `class_index` for every shift as a (len(SHIFTS) dy, len(SHIFTS) dx) grid
        (rows: dy from the most negative; columns: dx), when the shifts form a full grid."""
        xs = sorted({dx for dx, _ in self.shifts})
        ys = sorted({dy for _, dy in self.shifts})
        grid = np.full((len(ys), len(xs)), np.nan, np.float32)
        for (dx, dy), row in zip(self.shifts, self.shift_probabilities):
            grid[ys.index(dy), xs.index(dx)] = row[class_index]
        return grid

    def to_json(self, target: int | None = None) -> dict:
        """The command's JSON: `class` (the predicted class index) and its `probability` per variant, and
        `target_probability`: that of `target` (default: the baseline's class)."""
        target = self.baseline_class if target is None else int(target)

        def entry(probabilities: np.ndarray, **where) -> dict:
            best = int(np.argmax(probabilities))
            return {**where, "class": best, "probability": _number(probabilities[best]),
                    "target_probability": _number(probabilities[target])}

        return {
            "baseline": {"class": self.baseline_class, "probability": _number(self.baseline[self.baseline_class])},
            "target": target,
            "shifts": [entry(p, dx=dx, dy=dy) for (dx, dy), p in zip(self.shifts, self.shift_probabilities)],
            "rotations": [entry(p, degrees=d) for d, p in zip(self.rotations, self.rotation_probabilities)],
            "scales": [entry(p, factor=f) for f, p in zip(self.scales, self.scale_probabilities)],
            "layers": [{"name": f.name, "shift": f.shift, "map_shift": f.map_shift, "correlation": f.correlation,
                        "invariance": f.invariance} for f in self.layers],
        }


def _number(value) -> float | None:
    """A float for JSON; None for NaN or ±Inf (a model with broken weights)."""
    value = float(value)
    return value if math.isfinite(value) else None


# --- the probe --------------------------------------------------------------------------------------
class RobustnessProbe:
    """A model's conv/pool maps and class probabilities for a batch of inputs, in one traced pass.

    Built once per model (the quick handler keeps one per serving copy); it reads the model's live
    weights, so it follows training.
    """

    def __init__(self, model):
        import keras
        import tensorflow as tf

        from cnnviz.core.model_files import model_info
        from cnnviz.core.network import input_shape_of, layer_specs, model_layers
        from cnnviz.core.receptive_field import geometries

        self.model = model
        self.input_shape = tuple(input_shape_of(model))
        self.outputs_logits = model_info(model).outputs_logits
        specs = layer_specs(model)
        found = geometries(specs, self.input_shape)
        followed = [(spec, layer, geometry) for spec, layer, geometry in zip(specs, model_layers(model), found)
                    if spec.is_spatial and geometry is not None and ("Conv" in spec.kind or "Pool" in spec.kind)]
        self.layer_names = [spec.name for spec, _, _ in followed]
        self.layer_jumps = [geometry.jump_x for _, _, geometry in followed]
        extractor = keras.Model(inputs=model.inputs[0],
                                outputs=[layer.output for _, layer, _ in followed] + [model.outputs[0]])

        def forward(x, map_rows):
            *maps, scores = extractor(x, training=False)
            return [m[:map_rows] for m in maps] + [scores]   # only the maps asked for leave the graph

        self._forward = tf.function(forward, input_signature=[tf.TensorSpec((None, *self.input_shape), tf.float32),
                                                              tf.TensorSpec((), tf.int32)])

    def __call__(self, images: np.ndarray, map_rows: int | None = None) -> tuple[list[np.ndarray], np.ndarray]:
        """(each followed layer's maps (map_rows, h, w, c) of the first `map_rows` images (default all),
        class probabilities (N, classes) of all) for a batch, in one forward pass."""
        batch = np.asarray(images, np.float32).reshape(-1, *self.input_shape)
        outputs = [np.asarray(o) for o in self._forward(batch, np.int32(len(batch) if map_rows is None else map_rows))]
        scores = outputs[-1].astype(np.float64)
        if self.outputs_logits:
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            scores /= scores.sum(axis=1, keepdims=True)
        return outputs[:-1], scores.astype(np.float32)


def probe_robustness(model_or_probe, image: np.ndarray, shifts=None, rotations=ROTATIONS, scales=SCALES,
                     layer_shifts=LAYER_SHIFTS, fill: float = BACKGROUND) -> RobustnessResult:
    """Everything in the module docstring for one input, in one batched forward pass.

    `shifts`: (dx, dy) pairs (default: every pair of SHIFTS, a 13×13 grid); `layer_shifts`: the
    horizontal shifts the layer figures use.
    """
    probe = model_or_probe if isinstance(model_or_probe, RobustnessProbe) else RobustnessProbe(model_or_probe)
    image = np.asarray(image, np.float32).reshape(probe.input_shape)
    shifts = [(dx, dy) for dy in SHIFTS for dx in SHIFTS] if shifts is None else [tuple(s) for s in shifts]
    # The batch: the input, its horizontal shifts for the layer figures (the only rows whose maps are
    # kept), then every shift, turn and scale of the prediction figures.
    batch = ([image] + [shift_image(image, s, 0, fill) for s in layer_shifts]
             + [shift_image(image, dx, dy, fill) for dx, dy in shifts]
             + [rotate_image(image, d, fill) for d in rotations] + [scale_image(image, f, fill) for f in scales])
    map_rows = 1 + len(layer_shifts)
    maps, probabilities = probe(np.stack(batch), map_rows)
    follows = []
    for name, jump, layer_maps in zip(probe.layer_names, probe.layer_jumps, maps):
        for row, s in enumerate(layer_shifts, 1):
            correlations = map_correlations(layer_maps[0], layer_maps[row], s / jump)
            follows.append(LayerFollow(name, int(s), s / jump, *correlations))
    ends = np.cumsum([map_rows, len(shifts), len(rotations), len(scales)])
    return RobustnessResult(
        probabilities[0], shifts, probabilities[ends[0]:ends[1]],
        [float(d) for d in rotations], probabilities[ends[1]:ends[2]],
        [float(f) for f in scales], probabilities[ends[2]:ends[3]], follows)


def map_correlations(original: np.ndarray, moved: np.ndarray, map_shift: float) -> tuple[float | None, float | None]:
    """(correlation of `moved` with `original` shifted `map_shift` units along x, over the columns where
    both are defined; correlation of `moved` with `original` unshifted). Maps are (h, w, c)."""
    width = original.shape[1]
    low = math.floor(map_shift)
    part = map_shift - low
    columns = np.arange(width)
    valid = (columns - low >= 0) & (columns - low < width)
    if part:
        valid &= (columns - low - 1 >= 0) & (columns - low - 1 < width)
    if not valid.any():
        return None, pearson(moved, original)
    kept = columns[valid]
    followed = (1 - part) * original[:, kept - low]
    if part:
        followed = followed + part * original[:, kept - low - 1]
    return pearson(moved[:, kept], followed), pearson(moved, original)


def pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson's correlation of two arrays' values (None when either is constant)."""
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    a, b = a - a.mean(), b - b.mean()
    norm = math.sqrt(float(a @ a) * float(b @ b))
    return None if norm == 0 else float(a @ b) / norm
