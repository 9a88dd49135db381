"""The Qt-free core: design graph, layer catalogue, shape inference, compiler and design files."""
