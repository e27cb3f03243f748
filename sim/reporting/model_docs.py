"""Keep the parameter tables of ``docs/model.md`` generated from :mod:`sim.model.schema`.

The document holds blocks between ``<!-- parameters: SECTION -->`` and
``<!-- end parameters -->``; :func:`render` replaces each block's body with the
table of that section (``maturity``: the maturity mapping of :mod:`sim.model.maturity`),
so the tables cannot drift from the code.

Run ``python -m sim.reporting.model_docs`` to rewrite the file; the test suite fails if it is stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from pydantic import BaseModel

from sim.model import schema as params
from sim.model.maturity import mapping_table

__all__ = ["SECTIONS", "render"]

#: Sections that may be named in a block, with the key prefix their table shows.
SECTIONS: dict[str, tuple[type[BaseModel], str, bool]] = {
    "scenario": (params.Scenario, "", False),
    "practices": (params.PracticeCatalogue, "practices.", True),
    "country": (params.Country, "countries.N.", True),
    "loops": (params.Loops, "loops.", True),
    "global_learning": (params.GlobalLearningParameters, "global_learning.", True),
    "costs": (params.Costs, "costs.", True),
}

_BLOCK = re.compile(
    r"(<!-- parameters: (?P<name>\w+) -->\n)(?P<body>.*?)(<!-- end parameters -->)", re.DOTALL
)


def render(text: str) -> str:
    r"""Return ``text`` with every parameter block regenerated.

    Raises:
        KeyError: If a block names an unknown section.

    Examples:
        >>> out = render("<!-- parameters: loops -->\nold\n<!-- end parameters -->")
        >>> "`loops.single`" in out and "old" not in out
        True
    """

    def table(match: re.Match[str]) -> str:
        name = match.group("name")
        if name == "maturity":
            return match.group(1) + mapping_table() + "\n" + match.group(4)
        if name not in SECTIONS:
            raise KeyError(f"unknown parameter section {name!r}; known: {sorted(SECTIONS)}")
        model, prefix, nested = SECTIONS[name]
        table_text = params.parameter_table(model, prefix, nested=nested)
        return match.group(1) + table_text + "\n" + match.group(4)

    return _BLOCK.sub(table, text)


def main(argv: list[str] | None = None) -> int:
    """Rewrite docs/model.md (or the file given) in place; ``--check`` only compares."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [a for a in args if a != "--check"] or ["docs/model.md"]
    stale = []
    for name in paths:
        path = Path(name)
        text = path.read_text(encoding="utf-8")
        new = render(text)
        if new != text:
            stale.append(name)
            if not check:
                path.write_text(new, encoding="utf-8")
    if check and stale:
        print(
            "parameter tables out of date: "
            + ", ".join(stale)
            + " (run python -m sim.reporting.model_docs)"
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
