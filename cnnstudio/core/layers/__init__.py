"""Every layer type of the catalogue; importing this package registers them all."""

from cnnstudio.core.layers import basic, blocks, conv, detection, flow, merge, opaque, pooling  # noqa: F401
