"""The colours and line styles of the trainer's view, in one place.

The view (:mod:`sim.trainer.view`) draws with these; the animation maps every frame onto
a palette built from :func:`view_colours`, so a colour added here is never shifted in a
GIF. The loss ledger's causes take their colours from :mod:`sim.reporting.palette`.
"""

from __future__ import annotations

from sim.model.state import Source, Stage
from sim.reporting.palette import CAUSE_COLOURS

__all__ = [
    "CHANNEL_COLOURS",
    "COPY_HATCHES",
    "COPY_LINES",
    "GROUP_INK",
    "INK",
    "STAGE_COLOURS",
    "view_colours",
]

#: Colour of each practice stage on the map.
STAGE_COLOURS: dict[Stage, str] = {
    Stage.UNKNOWN: "#d9d9d9",
    Stage.AWARE: "#9ecae1",
    Stage.TRIAL: "#fdae6b",
    Stage.ADOPTED: "#74c476",
    Stage.INSTITUTIONALISED: "#006d2c",
    Stage.REJECTED: "#807dba",
    Stage.LOST: "#e6550d",
    Stage.NEVER: "#737373",
}

#: Colour of the line drawn for news carried by each channel.
CHANNEL_COLOURS: dict[Source, str] = {
    Source.PEER_NETWORK: "#3182bd",
    Source.LEARNING_SESSIONS: "#e6ab02",
    Source.MESSAGING_GROUP: "#66a61e",
    Source.EXCHANGE_VISITS: "#a6761d",
    Source.COACHING: "#d95f02",
    Source.GUIDANCE: "#7570b3",
}

#: Line style of each copy's QoC line, and the hatching of its ledger bars.
COPY_LINES = ("-", "--", ":", "-.")
COPY_HATCHES = (None, "///", "...", "xx")

#: Every other colour the view draws with (hubs, outlines, marks, lines, text).
INK: dict[str, str] = {
    "hub": "#525252",
    "outline": "#969696",
    "national": "#7570b3",
    "lost mark": "#b30000",
    "qoc": "#08519c",
    "text": "#222222",
    "funded districts": "#1b9e77",
    "other districts": "#7f7f7f",
}

#: Colour of each group's QoC line where a run's districts are split (funded first).
GROUP_INK = (INK["funded districts"], INK["other districts"])


def view_colours() -> list[str]:
    """Every colour the view draws with: stages, channels, causes and ink."""
    return [
        *STAGE_COLOURS.values(), *CHANNEL_COLOURS.values(), *CAUSE_COLOURS.values(),
        *INK.values(),
    ]  # fmt: skip
