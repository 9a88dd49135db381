"""Fixes tried before they are offered: a one-click fix that moves the error downstream is no fix.

A layer's shape rule suggests a change that makes *that* layer work (``kernel_size`` 28 for a
kernel larger than its input), but it cannot see what follows: a 1x1 output then breaks the next
pooling layer. :func:`fixes_for` tries each candidate (applied for one analysis and taken back:
a copy of the design without the cost of copying it), keeps the ones that leave the design
without new errors, and, where the layer's own fix breaks something else, says what
(``set kernel_size to 28 makes pool1 fail: ...``) and offers the alternatives that work, such as
padding "same" or the largest kernel that fits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cnnstudio.core.analysis import Analysis, Issue, analyze
from cnnstudio.core.catalogue import Fix
from cnnstudio.core.design import Design, DesignError


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


@contextmanager
def _trial(design: Design, fix: Fix) -> Iterator[bool]:
    """``fix`` applied for the time of the block, then undone (whatever happens in it); yields
    whether its values are allowed. Cheaper than a copy: the analysis is the only cost."""
    params = design.node(fix.node).params
    saved = {name: params[name] for name in fix.params}
    try:
        for name, value in fix.params.items():
            design.set_param(fix.node, name, value)
        yield True
    except DesignError:
        yield False
    finally:
        params.update(saved)


def preview(design: Design, fix: Fix, before: Analysis | None = None) -> FixPreview:
    """Analyse ``design`` with ``fix`` applied (and undone after) and compare with ``before``."""
    before = before or analyze(design)
    with _trial(design, fix) as allowed:
        after = analyze(design) if allowed else None
    if after is None:
        return FixPreview(fix, False, ())
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
    for candidate in _alternatives(design, issue.fix):
        if _key(candidate.params) != _key(issue.fix.params):
            result = preview(design, candidate, before)
            if result.works:
                found.append(result)
    kernel = issue.fix.params.get("kernel_size")
    if isinstance(kernel, int) and kernel > 1:
        largest = _largest_kernel(design, issue.fix.node, kernel - 1, before)
        if largest is not None:
            found.append(largest)
    return found


def _largest_kernel(design: Design, node: str, high: int, before: Analysis) -> FixPreview | None:
    """The largest kernel_size up to ``high`` that works, found by bisection (a smaller kernel
    gives a larger output, which the layers after take more easily); checked before it is
    returned, so a design where that does not hold gets no wrong offer, only none."""
    def attempt(size: int) -> FixPreview:
        return preview(design, Fix(node, {"kernel_size": size}, f"set kernel_size to {size}"), before)

    low, best = 1, None
    while low <= high:
        middle = (low + high) // 2
        result = attempt(middle)
        if result.works:
            best, low = result, middle + 1
        else:
            high = middle - 1
    return best

def _alternatives(design: Design, fix: Fix) -> Iterator[Fix]:
    """Other changes of the same layer that often work: padding "same", stride 1."""
    node = design.node(fix.node)
    names = {spec.name for spec in node.layer_type.params}
    params = node.params
    if "padding" in names and params.get("padding") != "same":
        yield Fix(fix.node, {"padding": "same"}, 'set padding to "same"')
    if "stride" in names and params.get("stride") not in (1, (1,), [1]):
        yield Fix(fix.node, {"stride": 1}, "set stride to 1")


def _key(params: Mapping[str, Any]) -> tuple:
    return tuple(sorted((name, repr(value)) for name, value in params.items()))
