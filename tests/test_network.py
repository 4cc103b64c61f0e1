"""The plain-data description of a network matches what Keras builds."""

from cnnviz.core.network import SEED_SPECS, input_shape_of, layer_specs


def test_seed_specs_match_the_built_seed_model(fresh_model):
    specs = layer_specs(fresh_model)
    assert [(s.name, s.kind, s.output_shape, s.num_params) for s in specs] == \
        [(s.name, s.kind, s.output_shape, s.num_params) for s in SEED_SPECS]
    for built, known in zip(specs, SEED_SPECS):
        for key, value in known.config.items():
            assert built.config[key] == value, (built.name, key)
    assert input_shape_of(fresh_model) == (28, 28, 1)
    assert sum(s.num_params for s in specs) == 93_322
