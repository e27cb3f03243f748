"""Print the CKM fit and leave-one-city-out results as Markdown tables.

Run after ``lhsim calibrate calibration/ckm.yaml`` and, for each city,
``lhsim calibrate calibration/ckm.yaml --holdout CITY`` (default output folders):

    python calibration/summarise_ckm.py [results/calibration]
"""

import json
import sys
from pathlib import Path

import pandas as pd

CITIES = ("Peoria", "Bloomington", "Quincy", "Galesburg")


def markdown(frame: pd.DataFrame) -> str:
    """``frame`` as a Markdown table, floats to four significant figures."""

    def cell(value: object) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |"]
    lines.append("|" + "---|" * len(frame.columns))
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)


def main(root: Path) -> None:
    """Print the full fit and the held-out cities' scores found under ``root``."""
    full = root / "ckm"
    diagnostics = json.loads((full / "diagnostics.json").read_text())
    print("Full fit (all four cities):\n")
    print(markdown(pd.read_csv(full / "posterior_summary.csv")))
    print()
    scores = pd.read_csv(full / "scores.csv")
    print(markdown(scores.drop(columns="held_out")))
    print(
        f"\nBand coverage of the fitted cities: {diagnostics['band_coverage_fitted']:.1%}; "
        f"{diagnostics['total_simulations']} simulations; ABC {diagnostics['abc_seconds']} s, "
        f"predictive {diagnostics['predictive_seconds']} s\n"
    )
    rows = []
    for city in CITIES:
        folder = root / f"ckm-holdout-{city}"
        if not (folder / "diagnostics.json").is_file():
            continue
        d = json.loads((folder / "diagnostics.json").read_text())
        s = pd.read_csv(folder / "scores.csv").set_index("group").loc[city]
        p = pd.read_csv(folder / "posterior_summary.csv").set_index("parameter")
        rows.append(
            {
                "held-out city": city,
                "band coverage": f"{s['band_coverage']:.0%}",
                "RMSE median (adopters)": round(s["rmse_median"], 2),
                "RMSE Bass (adopters)": round(s["rmse_bass"], 2),
                "final observed": int(s["final_observed"]),
                "final median": s["final_median"],
                "final Bass": round(s["final_bass"], 1),
                "coverage of fitted cities": f"{d['band_coverage_fitted']:.0%}",
                "outside_rate median": round(p.loc["outside_rate", "median"], 3),
                "tie_contact median": round(p.loc["tie_contact", "median"], 3),
                "simulations": d["total_simulations"],
                "seconds": round(d["abc_seconds"] + d["predictive_seconds"]),
            }
        )
    print("Leave one city out:\n")
    print(markdown(pd.DataFrame(rows)))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results/calibration"))
