"""A DHIS2 metadata export (JSON): the organisation-unit hierarchy as one country.

Read from the export (``/api/metadata`` with organisation units, their levels, groups
and group sets):

- ``organisationUnits``: ``id``, ``name``, ``parent`` (``{"id": ...}``), ``level`` and
  ``geometry`` (a ``Point`` with ``coordinates`` ``[longitude, latitude]``; the older
  ``coordinates`` text ``"[lon,lat]"`` is read too). The hierarchy is taken from the
  parent links; a ``level`` that disagrees with them is a problem.
- ``organisationUnitLevels``: the levels' names, for messages and the description.
- ``organisationUnitGroups`` and ``organisationUnitGroupSets``: a facility's type is
  its group in a group set whose name has the word "type", its ownership its group in a
  set whose name has "ownership" (without group sets: groups whose names the type
  mapping knows give the type). A facility in no type group is typed by its own name
  (DHIS2 names often end in the type: "Ngelehun CHC").

Facilities are the units at the facility level (default: the deepest); their district
is their ancestor at the district level (default: the level above the facilities).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.config.importers.common import FIELDS, SourceCountry
from sim.config.importers.type_mapping import TypeMapping, normalise
from sim.errors import Problem, ScenarioError

__all__ = ["Hierarchy", "dhis2_source", "read_hierarchy"]

MAX_LISTED = 10


@dataclass
class Hierarchy:
    """Organisation units by id: name, parent id, depth (1 = root), raw unit."""

    units: dict[str, dict[str, Any]]
    parent: dict[str, str | None]
    depth: dict[str, int]
    level_names: dict[int, str]
    document: dict[str, Any]


def read_hierarchy(path: Path) -> Hierarchy:
    """Read and check the units of an export.

    Raises:
        ScenarioError: Listing every problem: unreadable file or invalid JSON (with line
            and column), no ``organisationUnits`` list, units without an id, repeated
            ids, parents that are not units of the file, parent links that form a
            cycle, levels that disagree with the parent links.
    """
    where = str(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ScenarioError(
            [Problem(where, "", where, "file not found", "check the path")]
        ) from None
    except json.JSONDecodeError as error:
        raise ScenarioError(
            [Problem(where, f"line {error.lineno}, column {error.colno}", error.msg,
                     "not valid JSON", "export the metadata again, or fix the file there")]
        ) from None  # fmt: skip
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError([Problem(where, "", where, f"cannot read the file: {error}")]) from None
    raw = document.get("organisationUnits") if isinstance(document, dict) else None
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(
            [Problem(where, "organisationUnits", type(raw).__name__,
                     "expected a list of organisation units",
                     "export metadata with organisationUnits (DHIS2 /api/metadata)")]
        )  # fmt: skip
    problems: list[Problem] = []
    units: dict[str, dict[str, Any]] = {}
    repeated: dict[str, int] = {}
    for position, unit in enumerate(raw):
        uid = unit.get("id") if isinstance(unit, dict) else None
        if not isinstance(uid, str) or not uid.strip():
            problems.append(Problem(where, f"organisationUnits.{position}", uid, "unit has no id"))
            continue
        if uid in units:
            repeated[uid] = repeated.get(uid, 1) + 1
            continue
        units[uid] = unit
    for uid, count in sorted(repeated.items())[:MAX_LISTED]:
        problems.append(
            Problem(
                where,
                f"unit {uid}",
                count,
                f"id {uid!r} is used by {count} units",
                "give every organisation unit a different id",
            )  # fmt: skip
        )
    if len(repeated) > MAX_LISTED:
        problems.append(Problem(where, "", len(repeated) - MAX_LISTED, "more repeated ids"))
    parent: dict[str, str | None] = {}
    unknown = []
    for uid, unit in units.items():
        link = unit.get("parent")
        pid = link.get("id") if isinstance(link, dict) else link
        if pid in (None, ""):
            parent[uid] = None
        elif pid not in units:
            unknown.append((uid, pid))
            parent[uid] = None
        else:
            parent[uid] = str(pid)
    for uid, pid in unknown[:MAX_LISTED]:
        problems.append(
            Problem(
                where,
                f"unit {uid}, parent",
                pid,
                "parent is not a unit of the file",
                "export the parent units too, or correct the parent link",
            )  # fmt: skip
        )
    if len(unknown) > MAX_LISTED:
        problems.append(
            Problem(where, "parent", len(unknown) - MAX_LISTED, "more units with unknown parents")
        )
    depth, cycles = _depths(parent)
    for cycle in cycles[:MAX_LISTED]:
        problems.append(
            Problem(
                where,
                f"unit {cycle[0]}, parent",
                " -> ".join([*cycle, cycle[0]]),
                "parent links form a cycle",
                "a unit cannot be its own ancestor",
            )  # fmt: skip
        )
    orphans = {uid for uid, _ in unknown}
    wrong = [
        (uid, unit["level"], depth[uid])
        for uid, unit in units.items()
        if uid in depth and isinstance(unit.get("level"), int) and unit["level"] != depth[uid]
        and _root(parent, uid) not in orphans  # below an unknown parent: depth unknown
    ]  # fmt: skip
    for uid, level, found in wrong[:MAX_LISTED]:
        problems.append(
            Problem(where, f"unit {uid}, level", level,
                    f"its parent links put it at level {found}", "correct level or parent")
        )  # fmt: skip
    if problems:
        raise ScenarioError(problems)
    names: dict[int, str] = {}
    for item in document.get("organisationUnitLevels") or []:
        if isinstance(item, dict) and isinstance(item.get("level"), int):
            names[item["level"]] = str(item.get("name") or item.get("displayName") or "")
    return Hierarchy(units, parent, depth, names, document)


def _root(parent: dict[str, str | None], uid: str) -> str:
    """The top of a unit's chain of parents (call only for units outside cycles)."""
    node = uid
    while (above := parent[node]) is not None:
        node = above
    return node


def _depths(parent: dict[str, str | None]) -> tuple[dict[str, int], list[list[str]]]:
    """Depth of every unit (root 1) and the cycles found (each once, as a unit list)."""
    depth: dict[str, int] = {}
    cycles: list[list[str]] = []
    in_cycle: set[str] = set()
    for start in sorted(parent):
        chain: list[str] = []
        seen: dict[str, int] = {}
        node: str | None = start
        while node is not None and node not in depth and node not in in_cycle:
            if node in seen:
                cycle = chain[seen[node] :]
                cycles.append(cycle)
                in_cycle.update(cycle)
                break
            seen[node] = len(chain)
            chain.append(node)
            node = parent[node]
        base = 0 if node is None else depth.get(node)
        for member in reversed(chain):
            if member in in_cycle or base is None:
                base = None
                continue
            base += 1
            depth[member] = base
    return depth, cycles


def dhis2_source(
    path: Path,
    mapping: TypeMapping,
    facility_level: int | None = None,
    district_level: int | None = None,
    country: str | None = None,
) -> tuple[SourceCountry, str]:
    """The facilities of an export as one country, and a sentence on what was read.

    Raises:
        ScenarioError: The problems of :func:`read_hierarchy`, levels outside the
            hierarchy, a district level not above the facility level, and units deeper
            than the facility level.
    """
    tree = read_hierarchy(path)
    where = str(path)
    deepest = max(tree.depth.values())
    facility_level = deepest if facility_level is None else facility_level
    district_level = facility_level - 1 if district_level is None else district_level
    problems = []
    if not 2 <= facility_level <= deepest:
        problems.append(
            Problem(
                where,
                "--facility-level",
                facility_level,
                "no such level below the top",
                f"the file's levels are 1 to {deepest}",
            )  # fmt: skip
        )
    if not 1 <= district_level < facility_level:
        problems.append(
            Problem(
                where,
                "--district-level",
                district_level,
                "the district level must be above the facility level",
                f"use a level from 1 to {facility_level - 1}",
            )  # fmt: skip
        )
    deeper = sorted(uid for uid, d in tree.depth.items() if d > facility_level)
    if deeper and facility_level <= deepest:
        listed = ", ".join(deeper[:MAX_LISTED]) + (" ..." if len(deeper) > MAX_LISTED else "")
        problems.append(
            Problem(where, "--facility-level", facility_level,
                    f"{len(deeper)} units are deeper than the facility level: {listed}",
                    f"use --facility-level {deepest} (the deepest), or export without them")
        )  # fmt: skip
    if problems:
        raise ScenarioError(problems)

    facilities = sorted(uid for uid, d in tree.depth.items() if d == facility_level)
    district = {uid: _ancestor(tree, uid, district_level) for uid in facilities}
    district_names = _unique_names(tree, sorted(set(district.values())))
    kinds = _group_memberships(tree, mapping)
    rows = []
    for uid in facilities:
        unit = tree.units[uid]
        name = str(unit.get("name") or unit.get("displayName") or uid)
        lat, lon = _point(unit)
        types = kinds["type"].get(uid, [])
        rows.append(
            {
                "id": uid,
                "name": name,
                "district": district_names[district[uid]],
                "region": "",
                "type": _best_type(types, mapping) if types else name,
                "ownership": ", ".join(kinds["ownership"].get(uid, [])),
                "lat": lat,
                "lon": lon,
            }
        )
    frame = pd.DataFrame(rows, columns=list(FIELDS), index=pd.Index(facilities))
    roots = {_ancestor(tree, uid, 1) for uid in facilities}
    top = sorted(str(tree.units[r].get("name") or r) for r in roots)
    label = tree.level_names.get(district_level) or f"level {district_level}"
    flabel = tree.level_names.get(facility_level) or f"level {facility_level}"
    summary = (
        f"Facilities are the {len(facilities)} organisation units at {flabel} "
        f"(level {facility_level}) of the DHIS2 export {path.name}; districts are the "
        f"{len(district_names)} units at {label} (level {district_level})."
    )
    source = SourceCountry(
        name=country or " and ".join(top),
        source=where,
        frame=frame,
        districts_given=True,
        where="unit",
    )
    return source, summary


def _ancestor(tree: Hierarchy, uid: str, level: int) -> str:
    node = uid
    while tree.depth[node] > level and (parent := tree.parent[node]) is not None:
        node = parent
    return node


def _unique_names(tree: Hierarchy, uids: list[str]) -> dict[str, str]:
    """Unit names, with the parent's name added where two units share one."""
    names = {uid: str(tree.units[uid].get("name") or uid) for uid in uids}
    counts = pd.Series(list(names.values()), dtype=object).value_counts()
    for uid, name in names.items():
        if counts[name] > 1:
            parent = tree.parent[uid]
            above = str(tree.units[parent].get("name") or parent) if parent else uid
            names[uid] = f"{name} ({above})"
    return names


def _group_memberships(tree: Hierarchy, mapping: TypeMapping) -> dict[str, dict[str, list[str]]]:
    """Each unit's type groups and ownership groups (names, sorted)."""
    groups = {
        str(g.get("id")): g
        for g in tree.document.get("organisationUnitGroups") or []
        if isinstance(g, dict)
    }
    role: dict[str, str] = {}
    for group_set in tree.document.get("organisationUnitGroupSets") or []:
        if not isinstance(group_set, dict):
            continue
        words = f" {normalise(str(group_set.get('name', '')))} "
        kind = "type" if " type " in words else "ownership" if " ownership " in words else ""
        for member in group_set.get("organisationUnitGroups") or []:
            gid = member.get("id") if isinstance(member, dict) else member
            if kind and str(gid) in groups:
                role[str(gid)] = kind
    if not role:  # no group sets: groups named like a facility type give the type
        for gid, group in groups.items():
            if mapping.classify(str(group.get("name", ""))) is not None:
                role[gid] = "type"
    found: dict[str, dict[str, list[str]]] = {"type": {}, "ownership": {}}
    for gid, kind in role.items():
        name = str(groups[gid].get("name") or gid)
        for member in groups[gid].get("organisationUnits") or []:
            uid = member.get("id") if isinstance(member, dict) else member
            found[kind].setdefault(str(uid), []).append(name)
    for table in found.values():
        for names in table.values():
            names.sort()
    return found


def _best_type(types: list[str], mapping: TypeMapping) -> str:
    """Of several type groups, the one giving the highest level (then the first name)."""
    ranked = sorted(types, key=lambda name: ((mapping.classify(name) or (9, 0))[0], name))
    return ranked[0]


def _point(unit: dict[str, Any]) -> tuple[str, str]:
    """Latitude and longitude text of a unit's point geometry ("" when it has none)."""
    geometry = unit.get("geometry")
    coordinates: Any = None
    if isinstance(geometry, dict) and geometry.get("type") == "Point":
        coordinates = geometry.get("coordinates")
    elif isinstance(unit.get("coordinates"), str) and unit.get("featureType") == "POINT":
        try:
            coordinates = json.loads(unit["coordinates"])
        except json.JSONDecodeError:
            coordinates = None
    if (
        isinstance(coordinates, list)
        and len(coordinates) >= 2
        and all(isinstance(c, int | float) and not isinstance(c, bool) for c in coordinates[:2])
    ):
        return repr(float(coordinates[1])), repr(float(coordinates[0]))
    return "", ""
