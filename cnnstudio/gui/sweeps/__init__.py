"""The Sweep dock: what varies (added by right-clicking a layer parameter or a training setting),
the sweep's form, its trials live as they train (a ``cnnstudio sweep`` process in the background),
a parallel-coordinates plot, Optuna's parameter importance, the trials' curves, and Apply Best."""
