"""The generated layer reference must match the catalogue it documents."""

from pathlib import Path

from cnnstudio.core import catalogue
from cnnstudio.core.docs import reference

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_layer_reference_is_current():
    committed = (DOCS / "layers.md").read_text(encoding="utf-8")
    assert committed == reference(), "docs/layers.md is stale: run `make docs`"


def test_every_layer_type_and_parameter_is_documented():
    text = reference()
    for layer in catalogue.all_types():
        assert f"### {layer.name}\n" in text
        for spec in layer.params:
            assert f"| `{spec.name}` |" in text
