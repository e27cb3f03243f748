"""One colour per cause everywhere: the page, the animation and the report figures."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import to_hex, to_rgb
from PIL import Image, ImageSequence

from sim.model.ledger import CAUSES
from sim.model.schema import Scenario
from sim.planning.figures import loss_ledger_comparison_figure
from sim.reporting.palette import CAUSE_COLOURS, CAUSE_EXPLANATIONS, OKABE_ITO
from sim.reporting.plots import loss_ledger_figure
from sim.trainer.animation import animate, gif_palette
from sim.trainer.live import LiveRun
from sim.trainer.view import TrainerView

from builders import small


def _grey(colour: str) -> float:
    r, g, b = to_rgb(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_causes_have_distinct_okabe_ito_colours_that_differ_in_grey_too() -> None:
    assert tuple(CAUSE_COLOURS) == CAUSES
    assert set(CAUSE_COLOURS.values()) <= set(OKABE_ITO.values())
    assert len(set(CAUSE_COLOURS.values())) == len(CAUSES)
    for a, b in itertools.combinations(CAUSE_COLOURS.values(), 2):
        assert abs(_grey(a) - _grey(b)) >= 0.05, f"{a} and {b} look alike in greyscale"
    assert all(len(line) <= 90 for line in CAUSE_EXPLANATIONS.values()), "one short line each"


def test_report_figures_colour_each_cause_from_the_palette() -> None:
    summary = pd.DataFrame({f"lost_{c}": [1.0 + i, 2.0 + i] for i, c in enumerate(CAUSES)})
    bars = loss_ledger_figure(summary).axes[0].patches
    assert [to_hex(bar.get_facecolor()).upper() for bar in bars] == [
        CAUSE_COLOURS[c].upper() for c in CAUSES
    ]
    table = pd.DataFrame(
        {"scenario": ["a", "b"], **{f"lost_{c}_share": [0.2, 0.2] for c in CAUSES}}
    )
    stacked = loss_ledger_comparison_figure(table).axes[0].patches
    colours = [to_hex(bar.get_facecolor()).upper() for bar in stacked[::2]]
    assert colours == [CAUSE_COLOURS[c].upper() for c in CAUSES]


def test_the_ledger_gives_rates_and_leaves_absent_causes_out_of_the_chart() -> None:
    run = LiveRun(small({"national": {"capacity": None}}, months=12))
    view = TrainerView([run])
    for _ in range(12):
        run.step()
    view.update()
    lines = {line.cause: line for line in run.ledger()}
    created = run.created[-1]
    assert created > 0
    for cause, line in lines.items():
        assert line.lost == run.model.ledger.lost[0, CAUSES.index(cause)]
        assert line.per_100_created == 100 * line.lost / created
        assert line.per_practice == line.lost / run.model.catalogue.size
    assert lines["bottleneck"].absent, "unlimited national capacity loses nothing to the queue"
    bars = view.loss_bars[0]
    assert not bars["bottleneck"].get_visible()
    assert "absent so far" in view.loss_axes.get_xlabel()
    assert "the national bottleneck" in view.loss_axes.get_xlabel()
    present = [c for c, line in lines.items() if not line.absent]
    assert present, "a year loses some lessons"
    for cause in present:
        assert bars[cause].get_visible()
        assert bars[cause].get_width() == lines[cause].per_100_created
        assert to_hex(bars[cause].get_facecolor()).upper() == CAUSE_COLOURS[cause].upper()
        assert cause.replace("_", " ") not in view.loss_axes.get_xlabel()


def test_gif_frames_share_one_fixed_palette(tmp_path: Path) -> None:
    scenario = Scenario(
        name="t",
        months=8,
        practices={"count": 8},
        countries=[{"name": "A", "facilities": 80, "districts": 4, "turnover": {"annual": 0.6}}],
    )
    out = tmp_path / "demo.gif"
    assert animate(scenario, out) == 9
    flat = gif_palette().getpalette()
    allowed = {tuple(flat[i : i + 3]) for i in range(0, len(flat), 3)}
    for colour in CAUSE_COLOURS.values():
        assert tuple(round(255 * c) for c in to_rgb(colour)) in allowed
    seen: set[tuple[int, ...]] = set()
    with Image.open(out) as gif:
        for frame in ImageSequence.Iterator(gif):
            pixels = np.asarray(frame.convert("RGB")).reshape(-1, 3)
            colours = {tuple(int(v) for v in p) for p in np.unique(pixels, axis=0)}
            assert colours <= allowed, f"frame {frame.tell()}: {colours - allowed}"
            seen |= colours
    run = LiveRun(scenario)
    for _ in range(8):
        run.step()
    present = {
        tuple(round(255 * c) for c in to_rgb(line.colour))
        for line in run.ledger()
        if not line.absent
    }
    assert present and present <= seen, "the causes' own colours appear unchanged in frames"


def test_the_blitted_view_after_ledger_changes_matches_a_full_draw() -> None:
    runs = [LiveRun(small(months=12)), LiveRun(small({"turnover": {"annual": 0.4}}, months=12))]
    playing = TrainerView(runs, blit=True)  # a contrast: the ledger beside the QoC chart
    playing.draw()
    rows = set()
    for _ in range(8):
        for run in runs:
            run.step()
        playing.update()
        assert playing._background is not None, "no full draw: the ledger is redrawn alone"
        playing.draw()
        rows.add(playing._present)
    assert len(rows) > 2, f"the ledger's rows change during the months: {rows}"
    renderer = playing.canvas.get_renderer()
    ledger = playing.loss_axes.get_tightbbox(renderer)
    assert playing.figure.bbox.contains(ledger.x0, ledger.y0)
    for other in (playing.qoc_axes, *playing.map_axes):
        assert not ledger.overlaps(other.get_tightbbox(renderer)), "the layout left it room"
    played = playing.pixels()
    playing._background = None  # the same view drawn whole, in the same layout
    playing.draw()
    drawn = playing.pixels()
    differing = np.any(played != drawn, axis=2).mean()
    assert differing < 1e-4, f"{differing:.2%} of the pixels differ"
