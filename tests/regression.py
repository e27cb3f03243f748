"""The fixed-seed regression baseline: what the model gives for two scenarios.

One small scenario with every mechanism on (the triple loop and district exchange
included), and the shipped demo, so both the mechanisms and the embedded default are
pinned.

``python tests/regression.py --update`` rewrites ``tests/data/baseline.json`` after a
deliberate change of the model's behaviour; review its diff before committing it.
``tests/test_regression.py`` fails whenever the model's output drifts from it.

The same runs with requests for support switched off in every country are pinned in
``tests/data/baseline_without_support_requests.json`` (``--update`` rewrites both). It
was first written as the baseline of the model before requests for support existed, so
switching them off must give the model as it was (``tests/test_support_requests.py``).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from sim.model.schema import Scenario
from sim.runs.simulation import run_replicate

BASELINE = Path(__file__).parent / "data" / "baseline.json"
WITHOUT_SUPPORT_REQUESTS = Path(__file__).parent / "data" / "baseline_without_support_requests.json"
REPLICATES = (0, 1)
COLUMNS = (
    "qoc_final",
    "qoc_mean",
    "coverage_final",
    "lost_turnover",
    "lost_bottleneck",
    "lost_blame",
    "lost_no_story",
    "lost_no_channel",
    "duplication_waste",
    "lessons_generated",
    "lessons_passed",
    "trials_started_total",
    "coaching_visits_total",
    "session_attendees_total",
)


def scenario() -> Scenario:
    """The baseline scenario: small, every mechanism on."""
    return Scenario(
        name="regression",
        seed=8675309,
        months=24,
        practices={"count": 10},
        loops={"triple": True},
        countries=[
            {
                "name": "Regressia",
                "districts": 6,
                "facilities": 180,
                "channels": {
                    "messaging_group": {"enabled": True},
                    "exchange_visits": {"enabled": True},
                    "district_exchange": {"enabled": True},
                },
                "learning_centres": {"count": 1},
                "national": {"capacity": 15},
            }
        ],
    )


DEMO = Path(__file__).parents[1] / "scenarios" / "demo.yaml"


def without_support_requests(chosen: Scenario) -> Scenario:
    """``chosen`` with requests for support switched off in every country."""
    countries = [
        c.model_copy(
            update={"support_requests": c.support_requests.model_copy(update={"enabled": False})}
        )
        for c in chosen.countries
    ]
    return chosen.model_copy(update={"countries": countries})


def compute(support_requests: bool = True) -> dict[str, dict[str, float]]:
    """Summary values of each baseline run, keyed ``"<scenario>/<replicate>"``.

    Args:
        support_requests: False switches requests for support off in every country.
    """
    from sim.config.scenario import load_scenario

    runs = [(scenario(), r) for r in REPLICATES] + [(load_scenario(DEMO), 0)]
    if not support_requests:
        runs = [(without_support_requests(chosen), r) for chosen, r in runs]
    out = {}
    for chosen, replicate in runs:
        summary = run_replicate(chosen, replicate).summary
        out[f"{chosen.name}/{replicate}"] = {column: summary[column] for column in COLUMNS}
    return out


def differences(expected: dict, actual: dict, rel: float = 1e-9) -> list[str]:
    """Human-readable differences between two baselines."""
    problems = []
    for replicate, values in expected.items():
        for column, value in values.items():
            got = actual.get(replicate, {}).get(column)
            same = got is not None and (
                (math.isnan(value) and math.isnan(got))
                or math.isclose(value, got, rel_tol=rel, abs_tol=1e-12)
            )
            if not same:
                problems.append(f"{replicate}, {column}: baseline {value}, now {got}")
    return problems


def main(argv: list[str]) -> int:
    """Print differences from the baseline, or rewrite it with ``--update``."""
    values = compute()
    if "--update" in argv:
        BASELINE.parent.mkdir(parents=True, exist_ok=True)
        for path, written in ((BASELINE, values), (WITHOUT_SUPPORT_REQUESTS, compute(False))):
            path.write_text(json.dumps(written, indent=2, sort_keys=True) + "\n")
            print(f"baseline written to {path}")
        return 0
    problems = differences(json.loads(BASELINE.read_text()), values)
    print("\n".join(problems) or "matches the baseline")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
