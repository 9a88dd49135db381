"""One group per module of the source model's hierarchy (layer1, layer1.0, ...)."""

from __future__ import annotations

from cnnstudio.core.design import Design


def module_groups(scopes: dict[str, str]) -> dict[str, list[str]]:
    """Module path -> the node ids directly in it (not in a child module), for every module on
    the way to a node: ``layer1.0.conv1``'s scope ``layer1.0`` also makes ``layer1``."""
    groups: dict[str, list[str]] = {}
    for node_id, scope in scopes.items():
        if scope:
            groups.setdefault(scope, []).append(node_id)
            parent = scope.rpartition(".")[0]
            while parent and parent not in groups:
                groups[parent] = []
                parent = parent.rpartition(".")[0]
    return groups


def add_module_groups(design: Design, scopes: dict[str, str], module_types: dict[str, str], collapsed: bool = True) -> None:
    """Group the design's nodes by source module (named with its class), parents before children."""
    for path, nodes in sorted(module_groups(scopes).items(), key=lambda item: item[0].count(".")):
        parent = path.rpartition(".")[0] or None
        kind = module_types.get(path)
        named = kind and kind != "Sequential"  # "layer1.0 (Bottleneck)"; a plain Sequential adds nothing
        design.add_group(path, nodes, name=f"{path} ({kind})" if named else path, parent=parent, collapsed=collapsed)
