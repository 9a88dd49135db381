"""Data sources: each turns a spec ("synthetic-shapes", "idx:PATH"...) into tensors held in memory.

Everything is decoded once, up front, into :class:`TensorData`; per-sample image decoding in the
loop would halve throughput on the small networks this tool is about.
"""
