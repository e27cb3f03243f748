"""The health-economic reading of a comparison: frontier, ICERs, net benefit, acceptability.

Options are compared on their mean discounted cost and mean effect in QoC points (one
point is 0.01 of the QoC index), both over the paired replicates:

- **Strong dominance**: another option costs no more and gives no less effect, one of
  them strictly. **Extended dominance**: an option whose ICER against the next cheaper
  option on the frontier is higher than that of the next more effective one; a mix of
  those two neighbours would give more effect for the money. The options left form the
  **efficiency frontier**, along which cost and effect both rise and the incremental
  cost-effectiveness ratio (ICER) against the next cheaper frontier option rises too.
  Options with identical cost and effect are read as one (the first named stands for
  the others).
- **Net monetary benefit** at a willingness to pay ``W`` per QoC point:
  ``NMB = W * effect - cost``; the option with the highest mean NMB is the best buy at
  ``W``, and it is always on the frontier.
- **Cost-effectiveness acceptability curve**: for each ``W``, the share of replicates in
  which an option has the highest NMB of all options in that replicate (paired, so every
  option is judged on the same random numbers). Options tied for the highest NMB in a
  replicate each count it, so identical options each show the chance that either of
  them is the best buy, and the shares of one ``W`` add up to more than 1 only where
  options tie.

Signs are never left to the reader: :func:`reading` says "cheaper and better" in words,
and no ratio is given where the extra cost or the extra effect is not positive.

References:
    Drummond MF, Sculpher MJ, Claxton K, Stoddart GL, Torrance GW. Methods for the
    economic evaluation of health care programmes, 4th ed. Oxford University Press, 2015
    (dominance, extended dominance and the frontier; net benefit; acceptability curves).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_EFFECT",
    "DEFAULT_WTP_PER_POINT",
    "EFFECTS",
    "FRONTIER",
    "EXTENDED",
    "SAME",
    "STRONG",
    "acceptability",
    "best_option",
    "budget_by_year",
    "efficiency_frontier",
    "net_benefit",
    "reading",
    "wtp_grid",
]

#: Default willingness to pay per QoC point (in the costs' currency); illustrative, like
#: the default unit costs: a planner states their own with ``--wtp``.
DEFAULT_WTP_PER_POINT = 20_000.0

#: The effects an economic reading can use: the summary column and what it means.
EFFECTS: dict[str, tuple[str, str]] = {
    "mean": ("qoc_mean", "mean QoC over the run"),
    "final": ("qoc_final", "QoC in the last month"),
}
#: The effect the economic reading uses unless told otherwise: it counts how soon care
#: improved, not only where it ended (final-month QoC saturates in long runs).
DEFAULT_EFFECT = "mean"

FRONTIER = "frontier"
STRONG = "strongly dominated"
EXTENDED = "extendedly dominated"
SAME = "same as"


def reading(extra_cost: float, extra_effect: float) -> str:
    """How an option compares with another, in words.

    Examples:
        >>> reading(-50.0, 2.0)
        'cheaper and better'
        >>> reading(100.0, 2.0)
        'costs more, better'
        >>> reading(0.0, 0.0)
        'same cost, same effect'
    """
    cost = "cheaper" if extra_cost < 0 else "costs more" if extra_cost > 0 else "same cost"
    if extra_effect > 0:
        effect = "better"
    elif extra_effect < 0:
        effect = "worse"
    else:
        effect = "same effect"
    joiner = " and " if (extra_cost < 0 and extra_effect > 0) else ", "
    return f"{cost}{joiner}{effect}"


def efficiency_frontier(cost: pd.Series, effect: pd.Series) -> pd.DataFrame:
    """Dominance, extended dominance and the ICERs along the frontier.

    Args:
        cost: Mean cost of each option, indexed by option name.
        effect: Mean effect (QoC points) of each option, same index.

    Returns:
        Indexed like ``cost``: ``cost``, ``effect``, ``status`` (:data:`FRONTIER`,
        :data:`STRONG`, :data:`EXTENDED`; options identical to an earlier one take its
        status and name it in ``same_as``), ``by`` (the dominating option, or the two
        frontier options whose mix dominates), ``next_option`` (the next cheaper option on
        the frontier; empty for the cheapest) and ``icer_vs_next`` (extra cost per extra
        point against it; empty off the frontier).

    Examples:
        >>> names = ["a", "b", "c", "d"]
        >>> f = efficiency_frontier(pd.Series([0, 10, 25, 30], names),
        ...                         pd.Series([0, 1, 1.5, 3], names))
        >>> f["status"].tolist()
        ['frontier', 'frontier', 'extendedly dominated', 'frontier']
        >>> f["icer_vs_next"].tolist()
        [nan, 10.0, nan, 10.0]
    """
    names = list(cost.index)
    c = cost.astype(float)
    e = effect.astype(float).reindex(cost.index)
    table = pd.DataFrame(
        {
            "cost": c,
            "effect": e,
            "status": FRONTIER,
            "by": "",
            "same_as": "",
            "next_option": "",
            "icer_vs_next": np.nan,
        },
        index=cost.index,
    )
    representatives: list[str] = []
    for name in names:
        twin = next(
            (r for r in representatives if c[r] == c[name] and e[r] == e[name]),
            None,
        )
        if twin is None:
            representatives.append(name)
        else:
            table.loc[name, "same_as"] = twin
    for name in representatives:
        dominators = [
            other
            for other in representatives
            if other != name
            and c[other] <= c[name]
            and e[other] >= e[name]
            and (c[other] < c[name] or e[other] > e[name])
        ]
        if dominators:
            best = min(dominators, key=lambda o: (c[o], -e[o]))
            table.loc[name, ["status", "by"]] = [STRONG, best]
    frontier = sorted(
        (n for n in representatives if table.loc[n, "status"] == FRONTIER),
        key=lambda n: (c[n], e[n]),
    )
    changed = True
    while changed and len(frontier) > 2:
        changed = False
        icers = [
            (c[frontier[i]] - c[frontier[i - 1]]) / (e[frontier[i]] - e[frontier[i - 1]])
            for i in range(1, len(frontier))
        ]
        for i in range(len(icers) - 1):
            if icers[i] > icers[i + 1]:
                name = frontier[i + 1]
                mix = f"{frontier[i]} and {frontier[i + 2]}"
                table.loc[name, ["status", "by"]] = [EXTENDED, mix]
                del frontier[i + 1]
                changed = True
                break
    for previous, name in zip(frontier, frontier[1:], strict=False):
        table.loc[name, "next_option"] = previous
        table.loc[name, "icer_vs_next"] = (c[name] - c[previous]) / (e[name] - e[previous])
    for name in names:
        twin = table.loc[name, "same_as"]
        if twin:
            table.loc[name, ["status", "by", "next_option", "icer_vs_next"]] = table.loc[
                twin, ["status", "by", "next_option", "icer_vs_next"]
            ].to_numpy()
    table["icer_vs_next"] = table["icer_vs_next"].astype(float)
    return table


def net_benefit(effect: pd.DataFrame, cost: pd.DataFrame, wtp: float) -> pd.DataFrame:
    """Net monetary benefit ``wtp * effect - cost``, element by element.

    Examples:
        >>> net_benefit(pd.DataFrame({"a": [2.0]}), pd.DataFrame({"a": [30.0]}), 20.0)["a"].tolist()
        [10.0]
    """
    return effect * float(wtp) - cost


def best_option(effect: pd.Series, cost: pd.Series, wtp: float) -> str:
    """The option with the highest mean net benefit at ``wtp``.

    On a tie: the cheaper option, then the more effective one, then the first named.

    Examples:
        >>> best_option(pd.Series({"a": 0.0, "b": 2.0}), pd.Series({"a": 0.0, "b": 30.0}), 10)
        'a'
        >>> best_option(pd.Series({"a": 0.0, "b": 2.0}), pd.Series({"a": 0.0, "b": 30.0}), 20)
        'b'
    """
    benefit = effect.astype(float) * float(wtp) - cost.astype(float)
    top = benefit.max()
    tied = [name for name in benefit.index if np.isclose(benefit[name], top, rtol=1e-12, atol=0)]
    order = list(benefit.index)
    return str(min(tied, key=lambda n: (cost[n], -effect[n], order.index(n))))


def acceptability(effect: pd.DataFrame, cost: pd.DataFrame, wtps: Sequence[float]) -> pd.DataFrame:
    """The cost-effectiveness acceptability curve, from paired replicates.

    Args:
        effect: Effect in QoC points; one column per option, one row per replicate.
        cost: Cost; same shape and labels.
        wtps: Willingness-to-pay values per QoC point.

    Returns:
        Long table: ``wtp``, ``scenario``, ``probability`` (share of replicates in which
        the option has the highest net benefit; options tied for it each count it).

    Examples:
        >>> e = pd.DataFrame({"a": [0.0, 0.0], "b": [1.0, 3.0], "c": [1.0, 3.0]})
        >>> c = pd.DataFrame({"a": [0.0, 0.0], "b": [20.0, 20.0], "c": [20.0, 20.0]})
        >>> curve = acceptability(e, c, [10.0])
        >>> curve.set_index("scenario")["probability"].to_dict()
        {'a': 0.5, 'b': 0.5, 'c': 0.5}
    """
    values_e = effect.to_numpy(float)
    values_c = cost[effect.columns].to_numpy(float)
    rows: list[dict[str, object]] = []
    for wtp in wtps:
        benefit = values_e * float(wtp) - values_c
        top = benefit.max(axis=1, keepdims=True)
        winners = np.isclose(
            benefit, top, rtol=1e-12, atol=1e-9 * max(1.0, float(np.abs(top).max()))
        )
        shares = winners.mean(axis=0)
        rows.extend(
            {"wtp": float(wtp), "scenario": name, "probability": float(share)}
            for name, share in zip(effect.columns, shares, strict=True)
        )
    return pd.DataFrame(rows)


def wtp_grid(wtp: float, icers: Sequence[float], points: int = 41) -> np.ndarray:
    """Willingness-to-pay values for the acceptability curve: 0 to past every frontier ICER.

    The grid reaches twice the stated ``wtp`` or 1.5 times the largest finite ICER,
    whichever is larger, and always holds ``wtp`` itself.

    Examples:
        >>> wtp_grid(100.0, [50.0, 400.0], points=5).tolist()
        [0.0, 100.0, 150.0, 300.0, 450.0, 600.0]
    """
    finite = [float(i) for i in icers if np.isfinite(i) and i > 0]
    top = max(2.0 * float(wtp), 1.5 * max(finite, default=0.0), 1.0)
    grid = np.linspace(0.0, top, points)
    return np.unique(np.append(grid, float(wtp)))


def budget_by_year(by_year: pd.DataFrame, annual_budget: float | None) -> pd.DataFrame:
    """Undiscounted cost per replicate and year, with the shortfall against the envelope.

    Args:
        by_year: :func:`sim.metrics.costs.cost_by_year`'s table.
        annual_budget: The envelope, or ``None`` (no shortfall is counted).

    Returns:
        One row per (``replicate``, ``year``): ``cost`` and ``shortfall`` (cost above the
        envelope, 0 if within it).

    Examples:
        >>> t = pd.DataFrame({"replicate": 0, "year": [0, 0, 1], "cost": [60.0, 50.0, 90.0]})
        >>> budget_by_year(t, 100.0)["shortfall"].tolist()
        [10.0, 0.0]
    """
    per_year = by_year.groupby(["replicate", "year"])["cost"].sum().reset_index()
    if annual_budget is None:
        per_year["shortfall"] = 0.0
    else:
        per_year["shortfall"] = (per_year["cost"] - float(annual_budget)).clip(lower=0.0)
    return per_year
