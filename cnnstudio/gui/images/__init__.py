"""Images the network makes, in the studio: the Style Transfer dock and the Filters view's "what it
looks for" grid. Both run in the background on a :class:`~cnnstudio.gui.training.runner.TrainingRunner`,
like training, with the Qt-free jobs of :mod:`cnnstudio.training.synthesis.jobs`."""
