"""docs/model.md stays in step with the code: parameter tables, schedule, parameters, outputs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.model import schema as params
from sim.model.ledger import CAUSES
from sim.model.schema import Country, Scenario
from sim.reporting import model_docs as docs
from sim.runs.simulation import run_replicate

MODEL_MD = Path(__file__).parents[1] / "docs" / "model.md"

#: Short words that carry no meaning of their own in a schedule step's name.
_STOPWORDS = {"and", "are", "the", "their", "with", "from", "into", "each", "every", "past"}


@pytest.fixture(scope="module")
def text() -> str:
    return MODEL_MD.read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    """The body of the level-2 section whose heading contains ``heading``."""
    match = re.search(
        rf"^## [^\n]*{re.escape(heading)}[^\n]*\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL
    )
    assert match, f"docs/model.md has no section titled '...{heading}...'"
    return match.group(1)


def _numbered_items(text: str) -> dict[int, str]:
    """Items of the numbered lists in ``text`` (continuation lines included), by number."""
    items = re.findall(r"^\s*(\d+)\. (.*?)(?=^\s*\d+\. |\n\n|\Z)", text, re.MULTILINE | re.DOTALL)
    return {int(number): " ".join(body.split()) for number, body in items}


def _step_keywords(step: str) -> list[str]:
    """Significant words of a schedule step's name (the text before its first : ; or ,)."""
    name = re.split(r"[:;,.]", step, maxsplit=1)[0]
    words = re.findall(r"[a-z]+", name.lower())
    return [w for w in words if len(w) >= 4 and w not in _STOPWORDS]


def test_parameter_tables_are_up_to_date(text):
    assert docs.render(text) == text, (
        "docs/model.md parameter tables differ from the schema; "
        "run `python -m sim.reporting.model_docs`"
    )


def test_every_parameter_section_has_a_table(text):
    for name in docs.SECTIONS:
        assert f"<!-- parameters: {name} -->" in text, f"no generated table for section {name!r}"


def test_the_process_overview_cites_every_submodel(text):
    overview = _section(text, "Process overview and scheduling")
    cited: set[int] = set()
    for first, last in re.findall(r"7\.(\d+)(?:-7\.(\d+))?", overview):
        cited.update(range(int(first), int(last or first) + 1))
    submodels = {int(n) for n in re.findall(r"^### 7\.(\d+) ", text, re.M)} - {0}
    assert submodels and cited == submodels, (
        f"section 3 cites submodels {sorted(cited)}; section 7 has {sorted(submodels)}"
    )


@pytest.mark.parametrize(
    ("model", "prefix"), [(Country, "countries.N."), (Scenario, "")], ids=["country", "scenario"]
)
def test_every_parameter_is_documented(text, model, prefix):
    missing = [p.path for p in params.iter_parameters(model) if f"`{prefix}{p.path}`" not in text]
    assert not missing, f"parameters missing from docs/model.md: {missing}"


def test_every_loss_cause_is_defined(text):
    ledger = _section(text, "Design concepts")
    for cause in CAUSES:
        assert f"`lost_{cause}`" in ledger, f"output column lost_{cause} not documented"
        label = cause.replace("_", " ")
        assert f"**{label}**" in ledger, f"loss cause {label!r} has no definition"


def test_every_output_column_is_documented(text):
    scenario = Scenario(
        name="docs", months=2, countries=[{"name": "A", "districts": 2, "facilities": 30}]
    )
    result = run_replicate(scenario, 0)
    columns = set(result.summary)
    for table in ("timeseries", "countries", "practices", "time_to_scale"):
        columns |= set(getattr(result, table).columns)
    observation = _section(text, "Design concepts")

    def documented(column: str) -> bool:
        if f"`{column}`" in observation:
            return True
        if column.startswith("reached_by_"):
            return f"`{column.removeprefix('reached_by_')}`" in observation
        if column.endswith("_total"):
            return f"`{column.removesuffix('_total')}`" in observation
        return False

    missing = sorted(c for c in columns if not documented(c))
    assert not missing, f"output columns not described under Observation: {missing}"
