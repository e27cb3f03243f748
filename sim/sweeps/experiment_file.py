"""Reading and checking experiment files (see :mod:`sim.sweeps.experiment` for the format).

Everything is checked before any run starts and every problem is reported at once, as a
:class:`~sim.errors.ScenarioError`: unknown keys and paths (with "did you mean"),
inverted bounds, bounds outside a parameter's documented range, an unknown method and
sample sizes the method rejects, settings that break the base scenario, unknown outputs.
The checks of the design alone (bounds, method, sample size) are in
:mod:`sim.sweeps.design_checks`.
"""

from __future__ import annotations

import copy
import difflib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.config.explain import model_in, schema_problems
from sim.config.paths import get_path, leaf_paths, set_path
from sim.errors import Problem, ScenarioError
from sim.sweeps.design_checks import bounds_problems, design_problems
from sim.sweeps.experiment import (
    Experiment,
    ExperimentSpec,
    SweepModel,
    as_kind,
    output_specs,
    parameter_spec,
)

__all__ = ["load_experiment", "parameter_kind", "parse_experiment"]


def _suggest(path: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(path, candidates, n=3, cutoff=0.85)
    if not close:
        tail = path.rsplit(".", 1)[-1]
        close = [c for c in candidates if c.rsplit(".", 1)[-1] == tail][:3]
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "give a dotted path into the scenario document, list items by index"


def _annotation_kind(annotation: Any) -> str | None:
    """``"int"``, ``"float"`` or ``"bool"`` for a (possibly optional) scalar annotation."""
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        kinds = {_annotation_kind(a) for a in typing.get_args(annotation)} - {None}
        return kinds.pop() if len(kinds) == 1 else None
    return None


def parameter_kind(schema: type[BaseModel], path: str) -> str | None:
    """The kind (``int``, ``float``, ``bool``) of the field at ``path``, else ``None``.

    Examples:
        >>> from sim.model.schema import Scenario
        >>> parameter_kind(Scenario, "countries.0.national.capacity")
        'int'
        >>> parameter_kind(Scenario, "countries.0.national.routing") is None
        True
    """
    model: type[BaseModel] | None = schema
    annotation: Any = None
    for part in path.split("."):
        if part.isdigit() and annotation is not None:
            continue  # a list index: the item model was taken from the list annotation
        if model is None or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        model = model_in(annotation)
    return _annotation_kind(annotation)


def load_experiment(path: str | Path) -> Experiment:
    """Read and check an experiment file; every problem is reported at once.

    Args:
        path: The experiment YAML file.

    Returns:
        The checked experiment, with its model's base document resolved.

    Raises:
        ScenarioError: Listing every problem: YAML syntax, unknown keys, a base scenario
            with problems, parameter paths that do not exist, inverted bounds, bounds
            outside a parameter's documented range, an unknown method, a sample size the
            method rejects, and unknown outputs.
    """
    from sim.config.yaml_reader import read_yaml

    path = Path(path)
    shown = str(path)
    data, duplicates = read_yaml(path, shown)
    if duplicates:
        raise ScenarioError(duplicates)
    return parse_experiment(data, file=shown, folder=path.parent)


def parse_experiment(data: Any, *, file: str, folder: Path = Path(".")) -> Experiment:
    """Check an experiment document (already parsed); see :func:`load_experiment`.

    Raises:
        ScenarioError: Listing every problem found.
    """
    if not isinstance(data, dict):
        raise ScenarioError([Problem(file, "", data, "an experiment file must be a mapping")])
    try:
        spec = ExperimentSpec.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(_schema_problems(error, data, file)) from None
    problems = design_problems(spec, file)
    model, model_problems = _model(spec, file, folder)
    problems += model_problems
    kinds: dict[str, str] = {}
    if model is not None:
        settings_problems = _settings_problems(spec, model, file)
        problems += settings_problems
        if not settings_problems:
            model = _with_settings(model, spec.settings)
            kinds, path_problems = _parameter_problems(spec, model, file)
            problems += path_problems
            problems += _range_problems(spec, model, kinds, file)
            problems += _output_problems(spec, model, file)
    if problems or model is None:
        raise ScenarioError(problems)
    return Experiment(spec=spec, file=file, model=model, kinds=kinds)


def _schema_problems(error: ValidationError, data: dict[str, Any], file: str) -> list[Problem]:
    return schema_problems(
        error,
        file,
        ExperimentSpec,
        hide=frozenset(_BRANCHES),
        keep=lambda loc: _branch_applies([str(part) for part in loc], data),
    )


#: The names pydantic gives the branches of the unions ``ParameterSpec | list[float]``
#: and ``str | OutputSpec`` in error locations, and the input type each branch is for.
_BRANCHES: dict[str, type] = {
    "ParameterSpec": dict,
    "list[float]": list,
    "OutputSpec": dict,
    "str": str,
}


def _branch_applies(loc: list[str], data: dict[str, Any]) -> bool:
    """Whether an error of one union branch concerns the kind of value actually written.

    A union reports one error per branch; only the branch matching the written value
    (a mapping, a list or a name) says something useful.
    """
    if len(loc) < 3 or loc[2] not in _BRANCHES or loc[0] not in ("parameters", "outputs"):
        return True
    section: Any = data.get(loc[0])
    try:
        value = section[int(loc[1])] if isinstance(section, list) else section[loc[1]]
    except (KeyError, IndexError, TypeError, ValueError):
        return True
    wanted = _BRANCHES[loc[2]]
    return isinstance(value, wanted) or not isinstance(value, (dict, list, str))


_MODELS: dict[str, tuple[str, str, str]] = {
    "ishigami": ("sim.sweeps.ishigami", "IshigamiConfig", "run_ishigami"),
}


def _model(
    spec: ExperimentSpec, file: str, folder: Path
) -> tuple[SweepModel | None, list[Problem]]:
    from importlib import import_module

    scenario_file, model_name = spec.scenario, spec.model
    if model_name is not None and scenario_file is None:
        module, schema_name, run_name = _MODELS[model_name]
        loaded = import_module(module)
        schema = getattr(loaded, schema_name)
        document = schema().model_dump(mode="json")
        return SweepModel(model_name, document, schema, getattr(loaded, run_name)), []
    if scenario_file is None or model_name is not None:
        return None, [
            Problem(
                file,
                "scenario",
                scenario_file,
                "give exactly one of 'scenario' (a scenario file) or 'model'",
                "e.g. scenario: ../scenarios/demo.yaml, or model: ishigami",
            )
        ]
    from sim.config.scenario import load_scenario, resolved_document
    from sim.model.schema import Scenario
    from sim.runs.simulation import run_replicate

    scenario_path = Path(scenario_file)
    if not scenario_path.is_absolute():
        scenario_path = folder / scenario_path
    if not scenario_path.is_file():
        return None, [
            Problem(
                file,
                "scenario",
                spec.scenario,
                "no such scenario file",
                f"looked for {scenario_path}",
            )
        ]
    try:
        scenario = load_scenario(scenario_path)
    except ScenarioError as error:
        return None, error.problems
    return SweepModel("scenario", resolved_document(scenario), Scenario, run_replicate), []


def _settings_problems(spec: ExperimentSpec, model: SweepModel, file: str) -> list[Problem]:
    candidates = list(leaf_paths(model.document))
    problems = []
    for path in spec.settings:
        try:
            get_path(model.document, path)
        except KeyError:
            problems.append(
                Problem(
                    file,
                    f"settings.{path}",
                    spec.settings[path],
                    "no such key in the base document",
                    _suggest(path, candidates),
                )
            )
    if not problems:
        try:
            _with_settings(model, spec.settings).build({}, 0)
        except ValidationError as error:
            problems += _value_problems(error, file, "settings", "change the setting")
    return problems


def _with_settings(model: SweepModel, settings: dict[str, Any]) -> SweepModel:
    document = copy.deepcopy(model.document)
    for path, value in settings.items():
        set_path(document, path, value)
    return SweepModel(model.kind, document, model.schema, model.run)


def _parameter_problems(
    spec: ExperimentSpec, model: SweepModel, file: str
) -> tuple[dict[str, str], list[Problem]]:
    candidates = [
        p for p in leaf_paths(model.document) if parameter_kind(model.schema, p) is not None
    ]
    kinds: dict[str, str] = {}
    problems = []
    for path in spec.parameters:
        key = f"parameters.{path}"
        try:
            get_path(model.document, path)
        except KeyError:
            problems.append(
                Problem(
                    file,
                    key,
                    path,
                    f"no such parameter in the {model.kind} document",
                    _suggest(path, candidates),
                )
            )
            continue
        kind = parameter_kind(model.schema, path)
        if kind is None:
            problems.append(
                Problem(
                    file,
                    key,
                    path,
                    "not a numeric or true/false parameter",
                    "sweep numbers, whole numbers or switches only",
                )
            )
            continue
        if kind == "bool" and parameter_spec(spec.parameters[path]).bounds != [0.0, 1.0]:
            problems.append(
                Problem(
                    file,
                    key,
                    spec.parameters[path],
                    "a switch is swept with bounds [0, 1] (off below 0.5, on above)",
                    "write [0, 1]",
                )
            )
            continue
        kinds[path] = kind
    return kinds, problems


def _range_problems(
    spec: ExperimentSpec, model: SweepModel, kinds: dict[str, str], file: str
) -> list[Problem]:
    """Check each parameter's extreme values against the model's own schema.

    Each end of each range is checked alone, then all low ends together and all high
    ends together, which catches ranges that are valid one by one but not jointly
    (shares that must not add up to more than 1, say). Other combinations inside the
    box can still be invalid; such runs fail with their message and are recorded.
    """
    problems = []
    corners: dict[str, dict[str, Any]] = {"low": {}, "high": {}}
    for path in kinds:
        parameter = parameter_spec(spec.parameters[path])
        if parameter.distribution in ("normal", "lognormal") or bounds_problems(
            path, parameter, file
        ):
            continue  # unbounded: values out of range fail as runs, with their error
        corners["low"][path] = as_kind(parameter.bounds[0], kinds[path])
        corners["high"][path] = as_kind(parameter.bounds[1], kinds[path])
        for end, x in (("low", parameter.bounds[0]), ("high", parameter.bounds[1])):
            try:
                model.build({path: as_kind(x, kinds[path])}, 0)
            except ValidationError as error:
                for detail in error.errors():
                    problems.append(
                        Problem(
                            file,
                            f"parameters.{path}.bounds",
                            parameter.bounds,
                            f"the {end} bound is not allowed: {detail['msg']}",
                            "keep the bounds inside the parameter's range",
                        )
                    )
    if problems:
        return problems
    for end, values in corners.items():
        try:
            model.build(values, 0)
        except ValidationError as error:
            for detail in error.errors():
                where = ".".join(str(part) for part in detail["loc"])
                problems.append(
                    Problem(
                        file,
                        "parameters",
                        f"all {end} bounds",
                        f"the parameters at their {end} bounds together are not allowed: "
                        f"{where}: {detail['msg']}",
                        "narrow the ranges of the parameters named so that they fit together",
                    )
                )
    return problems


def _value_problems(error: ValidationError, file: str, key: str, fix: str) -> list[Problem]:
    return [
        Problem(
            file, f"{key} ({'.'.join(str(p) for p in d['loc'])})", d.get("input"), d["msg"], fix
        )
        for d in error.errors()
    ]


def _output_problems(spec: ExperimentSpec, model: SweepModel, file: str) -> list[Problem]:
    """Check output names against a short probe run of the base document."""
    probe_document = dict(model.document)
    if "months" in probe_document:
        probe_document["months"] = min(2, int(probe_document["months"]))
    probe = SweepModel(model.kind, probe_document, model.schema, model.run)
    result = probe.run(probe.build({}, spec.seed), 0)
    summary_keys = sorted(result.summary)
    columns = [c for c in result.timeseries.columns if c != "month"]
    problems = []
    for index, output in enumerate(output_specs(spec)):
        if output.column is None and output.name not in result.summary:
            problems.append(
                Problem(
                    file,
                    f"outputs.{index}",
                    output.name,
                    "unknown output",
                    _suggest_plain(output.name, summary_keys, "summary value"),
                )
            )
        elif output.column is not None and output.column not in columns:
            problems.append(
                Problem(
                    file,
                    f"outputs.{index}.column",
                    output.column,
                    "unknown monthly column",
                    _suggest_plain(output.column, columns, "monthly column"),
                )
            )
    names = [o.name for o in output_specs(spec)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        problems.append(Problem(file, "outputs", repeated, "output names must be unique"))
    return problems


def _suggest_plain(name: str, known: list[str], what: str) -> str:
    close = [k for k in known if k.startswith(name) and name] or difflib.get_close_matches(
        name, known, n=3, cutoff=0.6
    )
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return f"known {what}s: " + ", ".join(known)
