"""Issue 23, D3: a weights file that differs from the design names each differing tensor once
(shapes differ, or not in the file), never in both lists; checked over generated files."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnstudio.core.compiler import build_model
from cnnstudio.core.designfile import load_design
from cnnstudio.core.resources import TEMPLATES
from cnnstudio.core.weights import load_matching, state_by_node_id

MODEL = build_model(load_design(TEMPLATES / "figure21.json"))
OWN = state_by_node_id(MODEL)
KEYS = sorted(OWN)


@settings(max_examples=60, deadline=None)
@given(fate=st.lists(st.sampled_from(["keep", "drop", "reshape", "module-name"]), min_size=len(KEYS), max_size=len(KEYS)),
       extra=st.booleans())
def test_each_tensor_is_reported_once(fate: list[str], extra: bool) -> None:
    names = {node_id: name for name, node_id in zip(MODEL.state_dict(), OWN, strict=True)}
    state: dict[str, torch.Tensor] = {}
    for key, what in zip(KEYS, fate, strict=True):
        if what == "keep":
            state[key] = OWN[key].clone()
        elif what == "reshape":
            state[key] = torch.zeros(*OWN[key].shape, 2)
        elif what == "module-name":  # both spellings of one tensor: counted once
            state[key] = OWN[key].clone()
            state[names[key]] = OWN[key].clone()
    if extra:
        state["nowhere.weight"] = torch.zeros(3)
    if not any(f in ("keep", "module-name") for f in fate):
        return  # nothing matches: an error, tested elsewhere
    report = load_matching(MODEL, state)
    mismatched = [name for name, _, _ in report.mismatched]
    everything = report.loaded + report.missing + mismatched
    assert sorted(everything) == KEYS  # each tensor in exactly one list
    assert set(mismatched) == {k for k, f in zip(KEYS, fate, strict=True) if f == "reshape"}
    assert set(report.missing) == {k for k, f in zip(KEYS, fate, strict=True) if f == "drop"}
    lines = {line.partition(":")[0]: line.partition(": ")[2].split(", ") for line in report.summary().splitlines()}
    assert not set(mismatched) & set(lines.get("not in the file (kept as they were)", []))
    assert report.unexpected == (["nowhere.weight"] if extra else [])
