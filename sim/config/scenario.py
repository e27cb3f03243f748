"""Read scenario files: YAML in, a validated :class:`~sim.model.schema.Scenario` out.

A scenario file is a YAML mapping checked against :class:`sim.model.schema.Scenario`. Three
keys are handled here, before that check:

``extends: base.yaml``
    The file is a set of changes to another scenario file (a path relative to the file
    that names it; the base may itself extend another file). The file is deep-merged
    over its base: mappings merge key by key, scalars and lists replace the base's,
    except ``countries``, whose items are matched by ``name``: an item naming a country
    of the base merges into it; an item with a name the base lacks is a problem (a
    misspelling would add a default country) unless it says ``new_country: true``, which
    appends it. A chain that loops
    back to a file already in it is a problem.
``country_defaults:``
    A mapping merged under every country (a country's own keys win), after ``extends``
    is resolved, so a base's defaults and a child's merge like any other mapping.
``facility_file`` / ``edge_file`` of a country
    Relative paths are read from the folder of the YAML file that set them and stored
    as absolute paths. The CSV files are read and checked too (see
    :mod:`sim.model.facility_list`), so ``lhsim validate`` reports their problems.

The YAML reading and merging live in :mod:`sim.config.sources`, the wording of
problems in :mod:`sim.config.explain`. Every problem found is reported at once, as a
:class:`~sim.errors.ScenarioError` whose :class:`~sim.errors.Problem` items name the
file that set the key, the dotted key (``countries.0.turnover.annual``), the value, what
is wrong and what is allowed.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.config.explain import (
    cross_reference_problems,
    section_problems,
    unique,
    validation_problems,
)
from sim.config.sources import (
    COUNTRY_DEFAULTS,
    EXTENDS,
    Document,
    TrackedList,
    TrackedMapping,
    load_chain,
    merge_tracked,
    origin_of,
    plain,
)
from sim.errors import Problem, ScenarioError
from sim.model.facility_list import read_facility_table
from sim.model.maturity import file_overrides
from sim.model.mechanisms.programmes import (
    district_names,
    idle_channel,
    inert_programmes,
    unknown_districts,
)
from sim.model.schema import Scenario

__all__ = [
    "COUNTRY_DEFAULTS",
    "EXTENDS",
    "load_scenario",
    "resolved_document",
    "setting_notes",
    "validate_files",
    "with_seed",
]

PATH_KEYS: tuple[str, ...] = ("facility_file", "edge_file")
"""Country keys holding file paths, resolved relative to the YAML file that set them."""


def load_scenario(path: str | Path) -> Scenario:
    r"""Read, merge and validate a scenario file.

    Args:
        path: The YAML file. Its ``extends`` chain, ``country_defaults`` and the facility
            CSV files of its countries are read too.

    Returns:
        The validated scenario; ``facility_file`` and ``edge_file`` hold absolute paths.

    Raises:
        ScenarioError: Listing every problem found: unreadable files, YAML syntax errors,
            repeated keys, ``extends`` loops, unknown keys, values of the wrong type or
            out of range, inconsistent settings and problems in facility CSV files.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     base = Path(folder) / "base.yaml"
        ...     _ = base.write_text("name: demo\ncountries:\n  - name: A\n  - name: B\n")
        ...     high = Path(folder) / "high.yaml"
        ...     _ = high.write_text(
        ...         "extends: base.yaml\n"
        ...         "countries:\n  - name: B\n    turnover: {annual: 0.3}\n"
        ...     )
        ...     scenario = load_scenario(high)
        >>> [(c.name, c.turnover.annual) for c in scenario.countries]
        [('A', 0.21), ('B', 0.3)]
    """
    top = str(path)
    data, problems = load_chain(Path(path), top, [])
    doc = Document(data, top)
    problems += _apply_country_defaults(doc)
    _resolve_paths(data)
    _resolve_posterior(data)
    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        problems += validation_problems(error, doc)
        problems += section_problems(error, doc)
        problems += cross_reference_problems(doc)
    problems += _facility_file_problems(doc)
    if scenario is not None and not problems:
        problems += _programme_problems(scenario, doc)
    if scenario is not None and scenario.posterior is not None and not problems:
        problems += _posterior_problems(scenario, doc)
    if problems or scenario is None:
        raise ScenarioError(unique(problems))
    return scenario


def validate_files(paths: Iterable[str | Path]) -> dict[str, list[Problem]]:
    r"""Check scenario files; map each path to its problems (an empty list when valid).

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     good = Path(folder) / "good.yaml"
        ...     _ = good.write_text("name: ok\ncountries: [{name: A}]\n")
        ...     bad = Path(folder) / "bad.yaml"
        ...     _ = bad.write_text("name: bad\ncountries: [{name: A, districs: 3}]\n")
        ...     report = validate_files([good, bad])
        >>> [len(problems) for problems in report.values()]
        [0, 1]
        >>> report[str(bad)][0].fix
        "did you mean 'districts'?"
    """
    report: dict[str, list[Problem]] = {}
    for path in paths:
        try:
            load_scenario(path)
        except ScenarioError as error:
            report[str(path)] = error.problems
        else:
            report[str(path)] = []
    return report


def resolved_document(scenario: Scenario) -> dict[str, Any]:
    """Return the scenario as plain JSON-ready data, every default filled in.

    Examples:
        >>> scenario = Scenario.model_validate({"name": "x", "countries": [{"name": "A"}]})
        >>> resolved_document(scenario)["countries"][0]["turnover"]
        {'annual': 0.21}
    """
    return scenario.model_dump(mode="json")


def _apply_country_defaults(doc: Document) -> list[Problem]:
    """Merge ``country_defaults`` under every country and remove it."""
    defaults, origin = doc.data.drop(COUNTRY_DEFAULTS)
    if defaults is None:
        return []
    if not isinstance(defaults, TrackedMapping):
        return [
            Problem(
                origin or "",
                COUNTRY_DEFAULTS,
                plain(defaults),
                "country_defaults must be a mapping of country keys",
                "e.g. country_defaults: {turnover: {annual: 0.2}}",
            )
        ]
    countries = doc.data.get("countries")
    if isinstance(countries, TrackedList):
        doc.defaults, doc.defaults_origin = defaults, origin or doc.top
        doc.own_countries = list(countries)
        for index, country in enumerate(countries):
            if isinstance(country, TrackedMapping):
                countries[index] = merge_tracked(defaults, country, ("countries", index))
    return []


def _resolve_paths(document: TrackedMapping) -> None:
    """Make relative facility and edge file paths absolute, from the file that set them."""
    countries = document.get("countries")
    if not isinstance(countries, TrackedList):
        return
    for country in countries:
        if not isinstance(country, TrackedMapping):
            continue
        for key in PATH_KEYS:
            value = country.get(key)
            if isinstance(value, str) and value.strip():
                folder = Path(country.origins[key]).parent
                country[key] = os.path.abspath(folder / Path(value).expanduser())


def _resolve_posterior(document: TrackedMapping) -> None:
    """Make a relative ``posterior.samples`` path absolute, from the file that set it."""
    posterior = document.get("posterior")
    if isinstance(posterior, TrackedMapping):
        value = posterior.get("samples")
        if isinstance(value, str) and value.strip():
            folder = Path(posterior.origins["samples"]).parent
            posterior["samples"] = os.path.abspath(folder / Path(value).expanduser())


def _posterior_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    """Check the posterior samples file and that its first draw makes a valid scenario."""
    from sim.config.posterior import apply_posterior, posterior_problems

    posterior = scenario.posterior
    if posterior is None:
        return []
    file = origin_of(doc.data, ("posterior", "samples"), doc.top)
    if not Path(posterior.samples).is_file():
        return [
            Problem(
                file,
                "posterior.samples",
                posterior.samples,
                "file not found",
                f"relative paths are read from the folder of {file}",
            )
        ]
    problems = posterior_problems(posterior, file)
    if not problems:
        try:
            apply_posterior(scenario, 0)
        except ScenarioError as error:
            problems += error.problems
    return problems


def _programme_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    """Districts that programmes target must exist in their country."""
    problems = []
    for c, country in enumerate(scenario.countries):
        if not any(p.districts for p in country.programmes):
            continue
        known = district_names(country)
        for p, programme in enumerate(country.programmes):
            unknown = unknown_districts(programme, country, known)
            if unknown:
                shown = ", ".join(known[:5]) + (", ..." if len(known) > 5 else "")
                close = difflib.get_close_matches(unknown[0], known, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                problems.append(
                    Problem(
                        *doc.locate(("countries", c, "programmes", p, "districts")),
                        unknown,
                        f"unknown district{'s' if len(unknown) > 1 else ''} of {country.name}",
                        f"{hint}districts of {country.name}: {shown}",
                    )
                )
    return problems


def setting_notes(scenario: Scenario) -> list[tuple[str, str]]:
    """Settings of a valid scenario that can change nothing: (dotted key, reason).

    Examples:
        >>> s = Scenario(name="s", countries=[{"name": "A",
        ...     "programmes": [{"name": "p", "lever": "coaching"}]}])
        >>> [key for key, _ in setting_notes(s)]
        ['countries.0.programmes.0']
    """
    notes = []
    for c, country in enumerate(scenario.countries):
        for p, reason in inert_programmes(country):
            notes.append((f"countries.{c}.programmes.{p}", reason))
        for domain, path, value, profile in file_overrides(country.model_dump(mode="json")):
            notes.append(
                (
                    f"countries.{c}.{path}",
                    f"the maturity profile's {domain} level would set {profile!r}; the "
                    f"file's {value!r} is kept",
                )
            )
        practice = country.channels.community_of_practice
        explicit = "enabled" in practice.model_fields_set and practice.enabled
        if explicit and (idle := idle_channel(country, "community_of_practice")):
            notes.append((f"countries.{c}.channels.community_of_practice.enabled", idle))
    global_learning = scenario.global_learning
    if (
        "enabled" in global_learning.model_fields_set
        and global_learning.enabled
        and not scenario.global_links
    ):
        notes.append(
            (
                "global_learning.enabled",
                "national bodies learn only along global_links, and the scenario lists none",
            )
        )
    return notes


def _facility_file_problems(doc: Document) -> list[Problem]:
    """Check that facility and edge files exist, and read them for their own problems."""
    countries = doc.data.get("countries")
    if not isinstance(countries, TrackedList):
        return []
    problems: list[Problem] = []
    read: set[tuple[str, str | None]] = set()
    for index, country in enumerate(countries):
        if not isinstance(country, TrackedMapping):
            continue
        present: dict[str, str | None] = {}
        for key in PATH_KEYS:
            value = country.get(key)
            if not isinstance(value, str) or not value.strip():
                present[key] = None
                continue
            present[key] = value
            if Path(value).suffix.lower() != ".csv":
                problems.append(
                    Problem(
                        *doc.locate(("countries", index, key)),
                        value,
                        f"{key} must name a .csv file",
                        "export the list as CSV (see 'lhsim import' for other formats)",
                    )
                )
                present[key] = None
            elif not Path(value).is_file():
                origin = country.origins[key]
                problems.append(
                    Problem(
                        *doc.locate(("countries", index, key)),
                        value,
                        "file not found",
                        f"relative paths are read from the folder of {origin}",
                    )
                )
                present[key] = None
        facility_file, edge_file = present["facility_file"], present["edge_file"]
        if facility_file is None:
            continue
        try:
            table = read_facility_table(facility_file, edge_file)
        except ScenarioError as error:
            if (facility_file, edge_file) not in read:
                problems += error.problems
            read.add((facility_file, edge_file))
            continue
        declared = country.get("districts")
        found = len(set(table.district.tolist()))
        if isinstance(declared, int) and declared > found:
            problems.append(
                Problem(
                    *doc.locate(("countries", index, "districts")),
                    declared,
                    f"{declared - found} of the {declared} districts would have no facilities: "
                    f"{facility_file} places facilities in {found} district"
                    f"{'s' if found != 1 else ''}",
                    f"set districts to {found}, or drop it (the file's districts are used)",
                )
            )
    return problems


def with_seed(scenario: Scenario, seed: int, file: str | Path) -> Scenario:
    """Return ``scenario`` with its root seed replaced (``--seed``), validated again."""
    if scenario.seed == seed:
        return scenario
    try:
        return type(scenario).model_validate({**scenario.model_dump(), "seed": seed})
    except ValidationError as error:
        raise ScenarioError(
            [
                Problem(
                    file=str(file),
                    key="seed (--seed)",
                    value=seed,
                    message=detail["msg"],
                    fix="give a seed between 0 and 2**63 - 1",
                )
                for detail in error.errors()
            ]
        ) from error
