"""The loss ledger's causes as people see them: one colour, name and explanation each.

The one source of truth for how a cause looks and reads, used by the trainer's page, the
animations (``lhsim animate``) and the report figures, so a cause has the same colour
everywhere. The colours are the Okabe-Ito palette (Okabe and Ito, *Color Universal
Design*, 2008), chosen to stay distinct for the common forms of colour blindness and in
greyscale: no two causes share a hue family, and the five differ in lightness.

References:
    Okabe, M. and Ito, K. (2008). Color Universal Design (CUD): How to make figures and
    presentations that are friendly to colorblind people. https://jfly.uni-koeln.de/color/
"""

from __future__ import annotations

from sim.model.ledger import CAUSES

__all__ = ["CAUSE_COLOURS", "CAUSE_EXPLANATIONS", "CAUSE_WORDS", "OKABE_ITO"]

#: The eight Okabe-Ito colours by name.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}

#: The colour of each cause of the loss ledger, fixed (keys in :data:`CAUSES` order).
CAUSE_COLOURS: dict[str, str] = {
    "turnover": OKABE_ITO["vermillion"],
    "bottleneck": OKABE_ITO["blue"],
    "blame": OKABE_ITO["reddish purple"],
    "no_story": OKABE_ITO["orange"],
    "no_channel": OKABE_ITO["black"],
}

#: The words used for each cause.
CAUSE_WORDS: dict[str, str] = {
    "turnover": "staff turnover",
    "bottleneck": "the national bottleneck",
    "blame": "blame culture",
    "no_story": "no how-to story",
    "no_channel": "no channel",
}

#: One line per cause: what it means for a lesson to be lost to it.
CAUSE_EXPLANATIONS: dict[str, str] = {
    "turnover": "the staff member who carried the lesson left before it was passed on",
    "bottleneck": "the lesson waited in the national queue until it expired",
    "blame": "a failure (or a success) was kept quiet for fear of blame",
    "no_story": "it worked, but arrived without its how-to story and was too complex to copy",
    "no_channel": "it faded where it was learned: no channel carried it on in time",
}

if not tuple(CAUSE_COLOURS) == tuple(CAUSE_WORDS) == tuple(CAUSE_EXPLANATIONS) == CAUSES:
    raise ImportError(f"the palette must name every loss cause, in the ledger's order {CAUSES}")
