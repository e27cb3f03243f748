"""The ``lhsim import`` commands (registered by :mod:`sim.cli.main`).

``lhsim import maina|csv|dhis2 ... --out DIR`` writes ``DIR/scenario.yaml``, the facility
and edge CSV files it names and ``DIR/map.png``; the library is
:mod:`sim.config.importers`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from sim.cli.arguments import seed_int, whole_number

__all__ = ["add_import_commands"]

MAX_WARNINGS = 10
"""Most warnings printed one by one (a world of many countries would print dozens)."""


def add_import_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``import`` (with its sources ``maina``, ``csv`` and ``dhis2``) to ``lhsim``."""
    shared = argparse.ArgumentParser(add_help=False, parents=[common])
    shared.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="folder to write the scenario to"
    )
    shared.add_argument(
        "--types",
        type=Path,
        metavar="FILE",
        help="type mapping (YAML) from facility types to levels and staff "
        "(default: the shipped sim/config/importers/facility_types.yaml)",
    )
    shared.add_argument(
        "--seed",
        type=seed_int,
        default=20261122,
        metavar="S",
        help="seed of derived districts and network draws, and the scenario's seed "
        "(default 20261122)",
    )
    shared.add_argument(
        "--neighbours",
        type=whole_number(0, 50),
        default=4,
        metavar="K",
        help="nearest facilities tied within a district (default 4)",
    )
    shared.add_argument(
        "--cross-ties",
        type=whole_number(0, 1000),
        default=2,
        metavar="N",
        help="ties from each district to nearby facilities of other districts (default 2)",
    )
    shared.add_argument(
        "--decay-km",
        type=_positive_float,
        default=25.0,
        metavar="KM",
        help="distance over which a cross-district tie's weight falls by e (default 25)",
    )
    shared.add_argument(
        "--district-size",
        type=whole_number(1, 2_000_000),
        default=25,
        metavar="N",
        help="facilities per derived district, where a list has only regions (default 25)",
    )
    shared.add_argument("--no-map", action="store_true", help="do not draw DIR/map.png")

    parser = commands.add_parser(
        "import",
        parents=[common],
        help="make a scenario from a facility list or a DHIS2 export",
        description="Write a ready scenario (DIR/scenario.yaml, the facility and edge CSV "
        "files it names, DIR/map.png) from the shipped Maina et al. 2019 list, a facility "
        "list in CSV or a DHIS2 metadata export. See docs/planners.md.",
    )
    sources = parser.add_subparsers(dest="source", metavar="SOURCE", required=True)

    maina = sources.add_parser(
        "maina",
        parents=[shared],
        help="a country of the Maina et al. 2019 list of public facilities (shipped)",
        description="Import countries of the list of public health facilities of "
        "sub-Saharan Africa by Maina et al. 2019 (Scientific Data 6:134, CC BY 4.0), which "
        "ships with lhsim. Its regions are split into derived districts.",
    )
    maina.add_argument(
        "--country",
        action="append",
        required=True,
        metavar="NAME",
        help="country name or ISO3 code (repeat for a multi-country world; 'all' for every "
        "country of the list)",
    )
    maina.set_defaults(handler=_import_maina)

    csv = sources.add_parser(
        "csv",
        parents=[shared],
        help="a facility list in CSV, its columns named with --column",
        description="Import a facility list in CSV. Name its columns with --column "
        "FIELD=HEADER (fields: id, name, district, region, type, ownership, lat, lon); a "
        "field is also read from a column of its own name. type is needed, and a district "
        "column, or a region column or coordinates to derive districts from.",
    )
    csv.add_argument("file", type=Path, metavar="FILE", help="the facility list (CSV, UTF-8)")
    csv.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="FIELD=HEADER",
        help="which column holds a field (repeatable)",
    )
    csv.add_argument("--country", metavar="NAME", help="country name (default: the file's name)")
    csv.add_argument("--sep", default=",", metavar="CHAR", help="column separator (default ,)")
    csv.set_defaults(handler=_import_csv)

    dhis2 = sources.add_parser(
        "dhis2",
        parents=[shared],
        help="the organisation units of a DHIS2 metadata export (JSON)",
        description="Import the organisation-unit hierarchy of a DHIS2 metadata export: "
        "units at the facility level become facilities, their ancestors at the district "
        "level their districts; type and ownership come from the unit groups.",
    )
    dhis2.add_argument("file", type=Path, metavar="FILE", help="metadata export (JSON)")
    dhis2.add_argument(
        "--facility-level",
        type=whole_number(1, 100),
        metavar="N",
        help="organisation-unit level of facilities (default: the deepest)",
    )
    dhis2.add_argument(
        "--district-level",
        type=whole_number(1, 100),
        metavar="N",
        help="organisation-unit level of districts (default: the level above facilities)",
    )
    dhis2.add_argument("--country", metavar="NAME", help="country name (default: the top unit's)")
    dhis2.set_defaults(handler=_import_dhis2)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value <= 20_000:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 20,000, got {value}")
    return value


def _options(arguments: argparse.Namespace) -> Any:
    from sim.config.importers import ImportOptions
    from sim.config.importers.type_mapping import load_type_mapping

    return ImportOptions(
        types=load_type_mapping(arguments.types),
        district_size=arguments.district_size,
        seed=arguments.seed,
        neighbours=arguments.neighbours,
        cross_ties=arguments.cross_ties,
        decay_km=arguments.decay_km,
    )


def _command(arguments: argparse.Namespace) -> str:
    return shlex.join(["lhsim", *arguments.argv])


def _import_maina(arguments: argparse.Namespace) -> int:
    from sim.config.importers import import_maina

    started = time.perf_counter()
    result = import_maina(
        arguments.country,
        arguments.out,
        _options(arguments),
        command=_command(arguments),
        draw=not arguments.no_map,
    )
    return _report(result, time.perf_counter() - started)


def _import_csv(arguments: argparse.Namespace) -> int:
    from sim.config.importers import import_csv
    from sim.config.importers.csv_list import parse_columns

    started = time.perf_counter()
    result = import_csv(
        arguments.file,
        parse_columns(arguments.column),
        arguments.out,
        _options(arguments),
        country=arguments.country,
        separator=arguments.sep,
        command=_command(arguments),
        draw=not arguments.no_map,
    )
    return _report(result, time.perf_counter() - started)


def _import_dhis2(arguments: argparse.Namespace) -> int:
    from sim.config.importers import import_dhis2

    started = time.perf_counter()
    result = import_dhis2(
        arguments.file,
        arguments.out,
        _options(arguments),
        facility_level=arguments.facility_level,
        district_level=arguments.district_level,
        country=arguments.country,
        command=_command(arguments),
        draw=not arguments.no_map,
    )
    return _report(result, time.perf_counter() - started)


def _report(result: Any, seconds: float) -> int:
    for warning in result.warnings[:MAX_WARNINGS]:
        print(f"lhsim: warning: {warning}", file=sys.stderr)
    hidden = len(result.warnings) - MAX_WARNINGS
    if hidden > 0:
        print(f"lhsim: warning: and {hidden} more warnings like these", file=sys.stderr)
    countries = len(result.countries)
    where = f"{countries} countries" if countries > 1 else result.countries[0].name
    lines = [
        f"Imported {where}: {result.facilities:,} facilities, {result.districts:,} districts, "
        f"{result.ties:,} ties in {seconds:.1f} s",
        f"  scenario: {result.files.scenario}",
    ]
    if result.map is not None:
        lines.append(f"  map:      {result.map}")
    lines.append(f"  next:     lhsim validate {result.files.scenario}")
    print("\n".join(lines))
    return 0
