"""Parameter specs, the catalogue, output-size arithmetic and display helpers."""

from __future__ import annotations

import pytest

from cnnstudio.core import catalogue, convmath
from cnnstudio.core.catalogue import CATEGORIES, UnknownLayerType
from cnnstudio.core.display import format_count, format_shape
from cnnstudio.core.params import (
    BoolParam,
    ChoiceParam,
    FloatParam,
    IntParam,
    OptionalIntParam,
    OptionalSizeParam,
    PaddingParam,
    ParamError,
    ShapeParam,
    SizeParam,
    expand,
)

ACCEPT = [
    (IntParam("n", 1, "", 1, 10), 5, 5),
    (IntParam("n", 1, "", 1, 10), 5.0, 5),
    (IntParam("n", 1, "", -5, 4), -5, -5),
    (OptionalIntParam("n", None, "", 1, 10), None, None),
    (FloatParam("p", 0.5, "", 0.0, 1.0), 1, 1.0),
    (FloatParam("p", 0.5, "", 0.0, 1.0), 0.25, 0.25),
    (BoolParam("b", True, ""), False, False),
    (ChoiceParam("c", "a", "", choices=("a", "b")), "b", "b"),
    (SizeParam("k", 3, "", dims=2), 4, 4),
    (SizeParam("k", 3, "", dims=2), [3, 5], (3, 5)),
    (SizeParam("k", 3, "", dims=2), (3, 5), (3, 5)),
    (SizeParam("k", 3, "", dims=1), [7], (7,)),
    (SizeParam("k", 3, "", dims=2), 2.0, 2),
    (OptionalSizeParam("s", None, "", dims=2), None, None),
    (PaddingParam("padding", "valid", "", dims=2), "same", "same"),
    (PaddingParam("padding", "valid", "", dims=1), "causal", "causal"),
    (PaddingParam("padding", "valid", "", dims=2), 0, 0),
    (PaddingParam("padding", "valid", "", dims=2), [1, 2], (1, 2)),
    (ShapeParam("shape", (1, 28, 28), ""), [1, 28, 28], (1, 28, 28)),
    (ShapeParam("shape", (1, 28, 28), ""), [10], (10,)),
    (ShapeParam("shape", (1, 28, 28), ""), (1, 2, 3, 4), (1, 2, 3, 4)),
]


@pytest.mark.parametrize(("spec", "raw", "clean"), ACCEPT)
def test_accepted_values(spec, raw, clean):
    assert spec.coerce(raw) == clean
    assert type(spec.coerce(raw)) is type(clean)


REJECT = [
    (IntParam("n", 1, "", 1, 10), 0),
    (IntParam("n", 1, "", 1, 10), 11),
    (IntParam("n", 1, "", 1, 10), True),
    (IntParam("n", 1, "", 1, 10), 2.5),
    (IntParam("n", 1, "", 1, 10), "3"),
    (IntParam("n", 1, "", 1, 10), None),
    (IntParam("n", 1, "", 1, 10), float("nan")),
    (FloatParam("p", 0.5, "", 0.0, 1.0), 1.5),
    (FloatParam("p", 0.5, "", 0.0, 1.0), float("nan")),
    (FloatParam("p", 0.5, "", 0.0, 1e6), float("inf")),
    (FloatParam("p", 0.5, "", 0.0, 1e6), 10**400),
    (FloatParam("p", 0.5, "", 0.0, 1.0), True),
    (FloatParam("p", 0.5, "", 0.0, 1.0), "0.5"),
    (BoolParam("b", True, ""), 1),
    (BoolParam("b", True, ""), "true"),
    (ChoiceParam("c", "a", "", choices=("a", "b")), "A"),
    (ChoiceParam("c", "a", "", choices=("a", "b")), ["a"]),
    (SizeParam("k", 3, "", dims=2), 0),
    (SizeParam("k", 3, "", dims=2), [3]),
    (SizeParam("k", 3, "", dims=2), [3, 3, 3]),
    (SizeParam("k", 3, "", dims=2), [3, True]),
    (SizeParam("k", 3, "", dims=2), [3, 0]),
    (SizeParam("k", 3, "", dims=2), 2000),
    (SizeParam("k", 3, "", dims=2), None),
    (PaddingParam("padding", "valid", "", dims=2), "full"),
    (PaddingParam("padding", "valid", "", dims=2), -1),
    (PaddingParam("padding", "valid", "", dims=2), [1, -1]),
    (ShapeParam("shape", (1, 28, 28), ""), []),
    (ShapeParam("shape", (1, 28, 28), ""), [1, 2, 3, 4, 5]),
    (ShapeParam("shape", (1, 28, 28), ""), [1, 0, 28]),
    (ShapeParam("shape", (1, 28, 28), ""), [1.0, 28, 28]),
    (ShapeParam("shape", (1, 28, 28), ""), "1x28x28"),
]


@pytest.mark.parametrize(("spec", "raw"), REJECT)
def test_rejected_values_name_the_parameter_and_what_is_allowed(spec, raw):
    with pytest.raises(ParamError) as caught:
        spec.coerce(raw)
    message = str(caught.value)
    assert message.startswith(f"'{spec.name}' must be ")
    assert spec.describe() in message
    assert len(message) < 300


def test_expand():
    assert expand(3, 2) == (3, 3)
    assert expand((1, 2, 3), 3) == (1, 2, 3)


def test_every_catalogue_type_is_well_formed():
    names = set()
    for layer_type in catalogue.all_types():
        assert layer_type.category in CATEGORIES
        assert layer_type.help and layer_type.name not in names
        names.add(layer_type.name)
        assert catalogue.get(layer_type.name) is layer_type
        for spec in layer_type.params:
            assert spec.help, f"{layer_type.name}.{spec.name} has no help"
            assert spec.coerce(spec.default) == spec.default or spec.coerce(spec.default) == tuple(spec.default)
        assert layer_type.coerce_params({}) == {s.name: s.coerce(s.default) for s in layer_type.params}
        assert (layer_type.build is None) == (layer_type.name == "Input")
    categories = [t.category for t in catalogue.all_types()]
    assert categories == sorted(categories, key=CATEGORIES.index)


def test_unknown_type_suggests_a_close_name():
    with pytest.raises(UnknownLayerType, match="did you mean 'MaxPool2d'"):
        catalogue.get("Maxpool2d")
    with pytest.raises(UnknownLayerType) as caught:
        catalogue.get("LSTM")
    assert "did you mean" not in str(caught.value)


def test_coerce_params_rejects_unknown_names():
    conv = catalogue.get("Conv2d")
    with pytest.raises(ParamError, match="did you mean 'dilation'"):
        conv.coerce_params({"dilatation": 2})
    with pytest.raises(ParamError, match=r"takes: none"):
        catalogue.get("ReLU").coerce_params({"inplace": True})


@pytest.mark.parametrize(
    ("axis", "out", "text"),
    [
        (convmath.Axis("W", 28, 5), 24, "W: (28 - 5 + 2*0)/1 + 1 = 24"),
        (convmath.Axis("H", 28, 5, 3), 8, "H: (28 - 5 + 2*0)/3 + 1 = 8.66667 → 8"),
        (convmath.Axis("L", 10, 3, 1, 2, 0), 10, "L: (10 - 3 + (2+0))/1 + 1 = 10"),
        (
            convmath.Axis("W", 10, 3, 1, 0, 0, 2),
            6,
            "W: (10 - 5 + 2*0)/1 + 1 = 6  (dilated kernel spans 2*(3-1)+1 = 5)",
        ),
    ],
)
def test_conv_out_formula(axis, out, text):
    assert convmath.conv_out(axis) == (out, text)


def test_same_and_exact_padding():
    assert convmath.same_padding(28, 5, 1, 1) == (2, 2)
    assert convmath.same_padding(28, 4, 1, 1) == (1, 2)  # the odd one after, as PyTorch
    assert convmath.same_padding(11, 3, 2, 1) == (1, 1)
    assert convmath.exact_padding([convmath.Axis("H", 28, 5, 3)]) == [2]
    assert convmath.exact_padding([convmath.Axis("H", 11, 2, 2)]) is None  # no symmetric padding helps


def test_display():
    assert format_shape((6, 24, 24)) == "24x24x6"
    assert format_shape((6, 24, 24), channels_last=False) == "6x24x24"
    assert format_shape((108,)) == "108"
    assert format_shape(None) == "?"
    assert format_count(2570) == "2,570"
    assert format_count(31_786) == "31.8 k"
    assert format_count(11_689_512) == "11.7 M"
