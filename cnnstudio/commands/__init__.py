"""Headless commands of the ``cnnstudio`` CLI, one module each (see :mod:`cnnstudio.cli`)."""
