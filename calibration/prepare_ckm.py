"""Write the CKM physicians in the calibration CSV format (nodes and edges).

Reads the project's copy of the Coleman-Katz-Menzel data (see the data README) and
writes ``data/ckm_nodes.csv`` (``id, group, adoption_time, at_risk``) and
``data/ckm_edges.csv`` (``source, target, kind``) next to this script. Only the 125
physicians with prescription data (``in_netdiffuseR_125 == 1``) were at risk of
adopting; the others are written with ``at_risk = 0``.

Usage: python calibration/prepare_ckm.py [PATH_TO_SHARED_DATA_CKM]
"""

import sys
from pathlib import Path

import pandas as pd

DEFAULT_SOURCE = Path(__file__).resolve().parents[3] / "shared" / "data" / "ckm"


def main(source: Path) -> None:
    """Write the CKM adoption record and network under ``calibration/data`` from ``source``."""
    nodes = pd.read_csv(source / "ckm_nodes.csv")
    edges = pd.read_csv(source / "ckm_edges.csv")
    adopted = nodes["adoption_month"]
    table = pd.DataFrame(
        {
            "id": nodes["id"],
            "group": nodes["city_name"],
            "adoption_time": adopted.map(lambda m: "" if pd.isna(m) else str(int(m))),
            "at_risk": nodes["in_netdiffuseR_125"].astype(int),
        }
    )
    target = Path(__file__).resolve().parent / "data"
    target.mkdir(exist_ok=True)
    table.to_csv(target / "ckm_nodes.csv", index=False)
    edges.rename(columns={"relation": "kind"})[["source", "target", "kind"]].to_csv(
        target / "ckm_edges.csv", index=False
    )
    at_risk = table[table["at_risk"] == 1]
    print(f"{len(table)} physicians, {len(at_risk)} at risk, {len(edges)} ties")
    print(at_risk.groupby("group")["adoption_time"].apply(lambda s: (s != "").sum()))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE)
