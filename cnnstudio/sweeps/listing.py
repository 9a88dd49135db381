"""A storage's sweeps of one design, as ``cnnstudio sweeps --json`` prints them:
``{"name", "storage", "metric", "direction", "trials": [{"number", "state", "params", "value", "run"}],
"best": {"number", "params", "value", "run"}}``, with ``params`` keyed by the ``--param`` KEYs."""

from __future__ import annotations

from typing import Any

from cnnstudio.sweeps.space import Dimension, SweepError, parse_choice, split_choices

STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running"}


def describe(study: Any, storage_text: str) -> dict[str, Any]:
    decoders = _decoders(study.user_attrs.get("params") or {})
    trials = [_trial(t, decoders) for t in study.get_trials(deepcopy=False) if t.state.name in STATES]
    complete = [t for t in trials if t["state"] == "complete"]
    maximize = study.direction.name == "MAXIMIZE"
    best = (max if maximize else min)(complete, key=lambda t: t["value"]) if complete else None
    return {"name": study.study_name, "storage": storage_text, "metric": study.user_attrs.get("metric"),
            "direction": study.direction.name.lower(), "trials": trials,
            "best": {k: best[k] for k in ("number", "params", "value", "run")} if best else None}


def sweeps_of(storage: Any, design_name: str, storage_text: str) -> list[dict[str, Any]]:
    """Every sweep in ``storage`` made for the design named ``design_name``, by name."""
    import optuna

    found = []
    for summary in sorted(optuna.get_all_study_summaries(storage, include_best_trial=False), key=lambda s: s.study_name):
        if summary.user_attrs.get("design") == design_name:
            found.append(describe(optuna.load_study(study_name=summary.study_name, storage=storage), storage_text))
    return found


def _trial(trial: Any, decoders: dict[str, Dimension]) -> dict[str, Any]:
    params = {key: decoders[key].decode(value) if key in decoders else value for key, value in trial.params.items()}
    return {"number": trial.number, "state": STATES[trial.state.name], "params": params,
            "value": trial.value if trial.state.name == "COMPLETE" else None, "run": trial.user_attrs.get("run")}


def _decoders(params: dict[str, str]) -> dict[str, Dimension]:
    """The sweep's choice dimensions, to give back the values Optuna kept as JSON text."""
    found = {}
    for key, spec in params.items():
        kind, _, rest = spec.partition(":")
        if kind == "choice":
            try:
                found[key] = Dimension(key, "choice", choices=tuple(parse_choice(p) for p in split_choices(rest)))
            except SweepError:
                continue
    return found
