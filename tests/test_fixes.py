"""Fixes are tried on a copy first: only fixes that leave the design without new errors are
offered; a fix that breaks another layer says what it breaks, with alternatives that work."""

from __future__ import annotations

from cnnstudio.core.analysis import analyze
from cnnstudio.core.designfile import dumps, load_design
from cnnstudio.core.fixes import fixes_for, preview
from corehelpers import FIGURE21


def kernel_too_large():
    design = load_design(FIGURE21)
    design.set_param("conv1", "kernel_size", 29)  # larger than the 28x28 input
    analysis = analyze(design)
    (issue,) = analysis.errors
    return design, analysis, issue


def test_the_layers_own_fix_is_checked_against_the_rest_of_the_design() -> None:
    design, analysis, issue = kernel_too_large()
    assert issue.fix is not None and issue.fix.params == {"kernel_size": 28}
    own = preview(design, issue.fix, analysis)
    assert own.solves and not own.works  # conv1 works, but its 1x1 output breaks conv2
    assert own.breaks[0].node == "conv2"
    assert own.describe().startswith("set kernel_size to 28 makes conv2 fail: ")


def test_alternatives_that_work_are_offered_and_the_design_is_untouched() -> None:
    design, analysis, issue = kernel_too_large()
    before = dumps(design)
    previews = fixes_for(design, issue, analysis)
    assert previews[0].fix == issue.fix and not previews[0].works
    working = [p.fix.label for p in previews if p.works]
    assert working == ['set padding to "same"', "set kernel_size to 13"]
    assert dumps(design) == before
    for p in previews[1:]:
        trial = design.copy()
        for name, value in p.fix.params.items():
            trial.set_param(p.fix.node, name, value)
        assert analyze(trial).valid


def test_a_fix_that_works_is_offered_alone() -> None:
    design = load_design(FIGURE21)
    design.set_param("conv2", "groups", 5)  # 6 input channels are not divisible by 5
    analysis = analyze(design)
    (issue,) = analysis.errors
    previews = fixes_for(design, issue, analysis)
    assert len(previews) == 1 and previews[0].works and previews[0].fix.params == {"groups": 1}


def test_the_largest_kernel_that_works_is_found_past_one_that_breaks_the_next_pool() -> None:
    design = load_design(FIGURE21)
    design.set_param("conv3", "kernel_size", 11)  # 10 fits conv3 but leaves pool2 a 1x1 input
    analysis = analyze(design)
    (issue,) = analysis.errors
    previews = fixes_for(design, issue, analysis)
    assert "makes pool2 fail" in previews[0].describe()
    assert [p.fix.label for p in previews if p.works] == ['set padding to "same"', "set kernel_size to 9"]
