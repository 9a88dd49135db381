"""Fixes tried before they are offered: a one-click fix that moves the error downstream is no fix.

A layer's shape rule suggests a change that makes *that* layer work (``kernel_size`` 28 for a
kernel larger than its input), but it cannot see what follows: a 1x1 output then breaks the next
pooling layer. :func:`fixes_for` applies each candidate to a copy of the design and analyses it,
keeps the ones that leave the design without new errors, and, where the layer's own fix breaks
something else, says what (``set kernel_size to 28 makes pool1 fail: ...``) and offers the
alternatives that work, such as padding "same".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cnnstudio.core.analysis import Analysis, Issue, analyze
from cnnstudio.core.catalogue import Fix
from cnnstudio.core.design import Design, DesignError

MAX_SMALLER_KERNELS = 16  # how far below a suggested kernel_size the search for one that works goes


@dataclass(frozen=True)
class FixPreview:
    """What a fix does to the whole design: whether its layer works after it, and what it breaks."""

    fix: Fix
    solves: bool
    breaks: tuple[Issue, ...]

    @property
    def works(self) -> bool:
        return self.solves and not self.breaks

    def describe(self) -> str:
        """Why the fix is not offered as it is, in one sentence ("" when it works)."""
        if self.breaks:
            first = self.breaks[0]
            more = f" (and {len(self.breaks) - 1} more)" if len(self.breaks) > 1 else ""
            return f"{self.fix.label} makes {first.node or 'the design'} fail: {first.message}{more}"
        return "" if self.solves else f"{self.fix.label} does not solve the problem of {self.fix.node}"


def preview(design: Design, fix: Fix, before: Analysis | None = None) -> FixPreview:
    """Apply ``fix`` to a copy of ``design`` and compare the analyses."""
    before = before or analyze(design)
    trial = design.copy()
    try:
        for name, value in fix.params.items():
            trial.set_param(fix.node, name, value)
    except DesignError:
        return FixPreview(fix, False, ())
    after = analyze(trial)
    known = {(i.node, i.message) for i in before.errors}
    solves = not after.nodes[fix.node].errors if fix.node in after.nodes else False
    breaks = tuple(i for i in after.errors if i.node != fix.node and (i.node, i.message) not in known)
    return FixPreview(fix, solves, breaks)


def fixes_for(design: Design, issue: Issue, before: Analysis | None = None) -> list[FixPreview]:
    """The issue's own fix, previewed, then (if it does not work) the alternatives that do.

    The first entry is always the issue's own fix; callers offer the entries that ``work`` and
    show ``describe()`` of the first one when it does not.
    """
    if issue.fix is None:
        return []
    before = before or analyze(design)
    own = preview(design, issue.fix, before)
    if own.works:
        return [own]
    found = [own]
    kernel_found = False  # the largest working kernel_size is enough; smaller ones add nothing
    for candidate in _alternatives(design, issue.fix):
        is_kernel = candidate.params.keys() == {"kernel_size"}
        if _key(candidate.params) == _key(issue.fix.params) or (is_kernel and kernel_found):
            continue
        result = preview(design, candidate, before)
        if result.works:
            found.append(result)
            kernel_found = kernel_found or is_kernel
    return found

def _alternatives(design: Design, fix: Fix) -> Iterator[Fix]:
    """Other changes of the same layer that often work: padding "same", stride 1, smaller kernels."""
    node = design.node(fix.node)
    names = {spec.name for spec in node.layer_type.params}
    params = node.params
    if "padding" in names and params.get("padding") != "same":
        yield Fix(fix.node, {"padding": "same"}, 'set padding to "same"')
    if "stride" in names and params.get("stride") not in (1, (1,), [1]):
        yield Fix(fix.node, {"stride": 1}, "set stride to 1")
    kernel = fix.params.get("kernel_size")
    if isinstance(kernel, int):
        for smaller in range(kernel - 1, max(0, kernel - 1 - MAX_SMALLER_KERNELS), -1):
            yield Fix(fix.node, {"kernel_size": smaller}, f"set kernel_size to {smaller}")


def _key(params: Mapping[str, Any]) -> tuple:
    return tuple(sorted((name, repr(value)) for name, value in params.items()))
