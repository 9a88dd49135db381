"""The studio window (PySide6). Start it with :func:`cnnstudio.gui.app.run_studio`."""
