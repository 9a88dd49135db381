"""The studio's training panels: settings form, controls and progress, curves, log, checkpoints.

Deliberately empty: a training worker process imports :mod:`.worker` through this package, and it
must not pull Qt in with it.
"""
