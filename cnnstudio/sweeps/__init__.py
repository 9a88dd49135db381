"""Sweeps: many runs of one design, each with other values of some layer parameters or training
settings, chosen by Optuna and shared through its storage by any number of worker processes.

A sweep is a named group of runs with its storage: every trial trains as a run of the run store
(:mod:`cnnstudio.runs`) in a folder named after the sweep and the trial, and its manifest says which
sweep and trial it was. :mod:`space` parses and applies what varies, :mod:`storage` opens where the
sweep lives, :mod:`worker` runs trials, :mod:`listing` reads a sweep back. ``cnnstudio sweep`` and
``cnnstudio sweeps`` and the studio's Sweep dock are front ends on these.
"""
