"""Data sources: each kind turns a spec ("synthetic-shapes", "idx:PATH", "folder:PATH"...) into a
:class:`~cnnstudio.training.data.source.Source` (see ``registry.py``).

Small data is decoded once, up front, into tensors (per-sample decoding in the loop would halve
throughput on the small networks this tool is about); image files too large for memory stream.
"""
