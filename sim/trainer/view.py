"""The trainer's view of live runs, drawn with matplotlib: one figure, updated in place.

The view has one map per run (facilities grouped by district, or drawn at their
coordinates with each district outlined when the facility files give them, coloured by
their stage with the practice on show, the month's first news drawn as lines from where it came
from) and two charts below: QoC, and lessons lost by cause (the loss ledger). Where
programmes fund a channel in some districts of a run, QoC has a line for those districts
and one for the rest, and the ledger a bar for each
(:class:`~sim.trainer.districts.DistrictSplit`). The app shows it as an image each month;
``lhsim animate`` saves its frames as a GIF or MP4. Artists are created once and updated
each month, which keeps a frame cheap.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_rgba, to_rgba_array
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox, IdentityTransform
from PIL import Image

from sim.model.ledger import CAUSES
from sim.model.state import Source, Stage
from sim.reporting.palette import CAUSE_COLOURS, CAUSE_WORDS
from sim.trainer.colours import (
    CHANNEL_COLOURS,
    COPY_HATCHES,
    COPY_LINES,
    GROUP_INK,
    INK,
    STAGE_COLOURS,
    view_colours,
)
from sim.trainer.levers import format_value, levers
from sim.trainer.live import Flows, LiveRun, ledger_series
from sim.trainer.map_layout import MapLayout, map_layout
from sim.trainer.narration import district_label, practice_label

__all__ = [
    "CHANNEL_COLOURS",
    "INK",
    "STAGE_COLOURS",
    "MapLayout",
    "TrainerView",
    "map_layout",
    "view_colours",
]

TEACHING_LEVERS = levers()

_STAGE_RGBA = to_rgba_array([STAGE_COLOURS[Stage(code)] for code in range(len(Stage))])


class TrainerView:
    r"""One figure showing one or two runs: maps above, QoC and loss ledger below.

    Every picture names, per run, the practice on show and the teaching levers whose
    value differs from their documented default (as they are now, after any move by the
    model), so a screenshot or a GIF frame says what it shows.

    Args:
        runs: The runs to show (one, or two or more in lockstep).
        size: Width and height of the picture in pixels.
        dpi: Pixels per inch: text and lines are sized in points, so a higher dpi draws
            them larger on a picture of the same size.
        blit: Draw only what changes each month over a cached background (fast, for
            the app); without it every draw redraws everything (for ``savefig`` and
            matplotlib's animation writers).
        months: Length of the charts' time axis (default: the scenario's months).
        projector: Projector mode: larger text, thicker lines and larger dots, black
            ink, for a room at the back of which a 1920 x 1080 picture must be read.

    Examples:
        >>> from sim.model.schema import Scenario
        >>> s = Scenario(name="t", countries=[{"name": "A", "facilities": 40,
        ...              "districts": 4}])
        >>> run = LiveRun(s)
        >>> view = TrainerView([run])
        >>> run.step(); view.update()
        >>> view.png()[:4]
        b'\x89PNG'
    """

    def __init__(
        self,
        runs: Sequence[LiveRun],
        size: tuple[int, int] = (1280, 720),
        dpi: int = 100,
        *,
        blit: bool = False,
        months: int | None = None,
        projector: bool = False,
    ) -> None:
        self.runs = list(runs)
        self.months = months or self.runs[0].scenario.months
        self.size = size
        self.dpi = dpi
        self.blit = blit
        self.projector = projector
        self._background: object | None = None
        self.text_scale = 1.25 if projector else 1.0
        self.line_scale = 2.0 if projector else 1.0
        n = len(self.runs)
        self._layout = ConstrainedLayoutEngine(w_pad=0.04, h_pad=0.04, wspace=0.03, hspace=0.03)
        self._relayout = True
        self.figure = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi, layout=self._layout)
        self.canvas = FigureCanvasAgg(self.figure)
        self.layouts = [map_layout(run) for run in self.runs]
        if n == 1:
            grid = self.figure.add_gridspec(2, 2, width_ratios=(1.25, 1))
            self.map_axes = [self.figure.add_subplot(grid[:, 0])]
            self.qoc_axes = self.figure.add_subplot(grid[0, 1])
            self.loss_axes = self.figure.add_subplot(grid[1, 1])
        else:
            grid = self.figure.add_gridspec(2, n, height_ratios=(1.7, 1))
            self.map_axes = [self.figure.add_subplot(grid[0, i]) for i in range(n)]
            self.qoc_axes = self.figure.add_subplot(grid[1, 0])
            self.loss_axes = self.figure.add_subplot(grid[1, 1:])
        self._build_maps()
        self._build_charts()
        self._legend()
        self.update()

    # ------------------------------------------------------------------ set-up
    def _font(self, size: float) -> float:
        return size * self.text_scale

    def _build_maps(self) -> None:
        self.dots, self.flow_lines, self.loss_marks, self.titles = [], [], [], []
        self.district_names: list[list[tuple[Text, str, str]]] = []
        for run, layout, ax in zip(self.runs, self.layouts, self.map_axes, strict=True):
            ax.set_xlim(0, layout.columns)
            ax.set_ylim(0, layout.rows + 1.0)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_aspect("equal")
            ax.set_anchor("W")  # titles and lever lines start at the left of the cell
            for spine in ax.spines.values():
                spine.set_visible(False)
            if layout.hulls:
                ax.add_collection(
                    PolyCollection(
                        layout.hulls, facecolors="none", edgecolors=INK["outline"], linewidths=0.5,
                        zorder=0,
                    )
                )  # fmt: skip
            small = len(layout.hub) <= (12 if layout.hulls else 40)  # room for the names
            ax.plot(*layout.hub.T, "s", color=INK["hub"], markersize=3 * self.line_scale, zorder=3)
            funded = set(run.split.districts[0].tolist()) if run.split is not None else set()
            names = []
            for d, (x, y) in enumerate(layout.hub if small else []):
                label = district_label(run.model, d)
                text = ax.text(
                    x, y + 0.41, label, ha="center", va="bottom",
                    fontsize=self._font(6), fontweight="bold" if d in funded else "normal",
                    color=INK["funded districts"] if d in funded else INK["hub"],
                )  # fmt: skip
                names.append((text, label, re.sub(r"^District (\d+)", r"D\1", label)))
            self.district_names.append(names)
            ax.plot(
                *layout.national, marker="*", color=INK["national"],
                markersize=10 * self.line_scale, zorder=3,
            )  # fmt: skip
            x, y = layout.national
            ax.text(x + 0.2, y, "national body", fontsize=self._font(7), va="center")
            # dots scale with the picture (points squared), more in projector mode
            area = (self.size[0] / self.dpi / 11.0) ** 2 * (1.2 if self.projector else 1.0)
            size = max(2.0, min(18.0, 9000.0 / max(layout.shown.size, 1))) * area
            self.dots.append(
                ax.scatter(layout.xy[:, 0], layout.xy[:, 1], s=size, linewidths=0, zorder=2)
            )
            lines = LineCollection([], linewidths=0.8 * self.line_scale, zorder=1)
            ax.add_collection(lines)
            self.flow_lines.append(lines)
            self.loss_marks.append(
                ax.scatter(
                    [],
                    [],
                    s=size * 4,
                    marker="x",
                    color=INK["lost mark"],
                    linewidths=self.line_scale,
                    zorder=4,
                )
            )
            self.titles.append(ax.set_title("", fontsize=self._font(9), loc="left"))

    def _build_charts(self) -> None:
        months = self.months
        self.qoc_lines = []
        for run, style in zip(self.runs, COPY_LINES, strict=False):
            alone = len(self.runs) == 1 and run.split is not None
            (line,) = self.qoc_axes.plot(
                [], [], style, color=INK["qoc"], label="All districts" if alone
                else run.label, linewidth=1.5 * self.line_scale,
            )  # fmt: skip
            self.qoc_lines.append(line)
        self.group_lines: list[tuple[Line2D, list[float]]] = []
        for run, style in zip(self.runs, COPY_LINES, strict=False):
            if run.split is None:
                continue
            for label, series, colour in zip(
                run.split.labels, run.split.qoc, GROUP_INK, strict=True
            ):
                name = f"{run.label}, {label}" if len(self.runs) > 1 else label
                (line,) = self.qoc_axes.plot(
                    [], [], style, color=colour, label=name, linewidth=1.2 * self.line_scale
                )
                self.group_lines.append((line, series))
        self.qoc_axes.set_title("Quality of care (QoC index)", fontsize=self._font(9))
        self.qoc_axes.set_xlim(0, months)
        self.qoc_axes.set_ylim(0, 1)
        self.qoc_axes.set_xlabel("month", fontsize=self._font(8))
        self.qoc_axes.tick_params(labelsize=self._font(7))
        if len(self.runs) > 1 or self.group_lines:
            self.qoc_axes.legend(fontsize=self._font(7), loc="upper left")
        self._build_ledger()

    def _build_ledger(self) -> None:
        """The loss ledger: one row per cause that has happened, a bar per run.

        Bars show lessons lost per 100 lessons created (count in brackets); causes that
        have not happened are named below the chart, not drawn as empty bars.
        """
        ax = self.loss_axes
        self.series = ledger_series(self.runs)
        n = len(self.series)
        self.loss_bars: list[dict[str, Rectangle]] = []
        self.loss_texts: list[dict[str, Text]] = []
        height = 0.8 / n
        for i in range(n):
            bars, texts = {}, {}
            for cause in CAUSES:
                colour = CAUSE_COLOURS[cause]
                bar = Rectangle(
                    (0, 0), 0, height, facecolor=colour if i == 0 else "white",
                    edgecolor=colour, hatch=COPY_HATCHES[i],
                    linewidth=1.2 * self.line_scale,
                    visible=False,
                )  # fmt: skip
                ax.add_patch(bar)
                bars[cause] = bar
                texts[cause] = ax.text(
                    0, 0, "", va="center", fontsize=self._font(7), visible=False, clip_on=False
                )
            self.loss_bars.append(bars)
            self.loss_texts.append(texts)
        title = "Lessons lost per 100 created, by cause (count)"
        font_pixels = self._font(9) * self.dpi / 72
        width = max(30, int(self.size[0] * 0.45 / (font_pixels * 0.6)))
        if n == 2:
            title += "\n" + textwrap.fill(
                f"solid: {self.series[0][0]}; hatched: {self.series[1][0]}", width=width
            )
        elif n > 2:
            title += "\n" + textwrap.fill(
                "solid, ///, ..., xx: " + "; ".join(label for label, _, _ in self.series),
                width=width,
            )
        ax.set_title(title, fontsize=self._font(9))
        ax.tick_params(labelsize=self._font(7))
        ax.tick_params(axis="y", labelsize=self._font(8), length=0)
        self._present: tuple[str, ...] | None = None
        self._rate_high = 0.0
        self._ledger_stale = False
        self._ledger_box: Bbox | None = None

    def _legend(self) -> None:
        stages = [
            Patch(color=c, label=s.name.lower().replace("_", " ")) for s, c in STAGE_COLOURS.items()
        ]
        news = [
            Line2D([], [], color=c, label=f"news: {s.name.lower().replace('_', ' ')}")
            for s, c in CHANNEL_COLOURS.items()
        ]
        lost = Line2D(
            [], [], marker="x", color=INK["lost mark"], linestyle="", label="lost to turnover"
        )
        self.figure.legend(
            handles=[*stages, lost, *news],
            loc="outside lower center",
            ncol=7,
            fontsize=self._font(7),
            frameon=False,
        )

    # ------------------------------------------------------------------ update
    def update(self) -> None:
        """Redraw the view from the runs' current state."""
        for i, (run, layout) in enumerate(zip(self.runs, self.layouts, strict=True)):
            stage = run.model.population.stage[layout.shown, run.practice]
            self.dots[i].set_facecolor(_STAGE_RGBA[stage])
            recent = run.recent_flows()
            segments, colours = [], []
            for age, flows in enumerate(recent):
                new_segments, new_colours = _flow_segments(run, layout, flows)
                alpha = 0.9 - 0.7 * age / max(len(recent), 1)  # older news fades
                segments += new_segments
                colours += [to_rgba(c, alpha) for c in new_colours]
            self.flow_lines[i].set_segments(segments)
            self.flow_lines[i].set_color(colours)
            lost_cells = [f.lost for f in recent] or [run.flows.lost]
            lost = layout.position[np.concatenate(lost_cells)]
            self.loss_marks[i].set_offsets(lost[~np.isnan(lost[:, 0])].reshape(-1, 2))
            # while blitting, the month and QoC are shown beside the image, so the
            # title changes (and the background is redrawn) only with the practice
            reading = "" if self.blit else f": month {run.month}, QoC {run.qoc[-1]:.3f}"
            shown = (
                f"facilities {'where they are' if layout.hulls else 'by district'}, "
                f"stage of {practice_label(run.model, run.practice)}"
            )
            title = f"{run.label}{reading}\n{shown}"
            if title != self.titles[i].get_text():
                self._relayout |= shown not in self.titles[i].get_text()
                self.titles[i].set_text(title)
                self._background = None
            words = self._lever_words(run)
            if words != self.map_axes[i].get_xlabel():
                self.map_axes[i].set_xlabel(words, fontsize=self._font(7.5), loc="left")
                self._background = None
                self._relayout = True
        for i, run in enumerate(self.runs):
            self.qoc_lines[i].set_data(np.arange(len(run.qoc)), run.qoc)
        for line, qoc in self.group_lines:
            line.set_data(np.arange(len(qoc)), qoc)
        self._update_ledger()

    def _lever_words(self, run: LiveRun) -> str:
        """The teaching levers whose value now differs from their default, wrapped."""
        changed = [
            f"{lever.label} {format_value(value)}"
            for lever in TEACHING_LEVERS
            if (value := run.lever_now(lever.path, 0)) != lever.default
        ]
        if run.split is not None:
            changed.append(run.split.labels[0])
        world = run.model.world
        where = f" in {world.country_names[0]}" if world.n_countries > 1 else ""
        text = (
            f"Levers{where}: " + "; ".join(changed)
            if changed
            else f"Levers{where}: every teaching lever at its default"
        )
        share = 0.5 if len(self.runs) == 1 else 0.95 / len(self.runs)
        font_pixels = self._font(7.5) * self.dpi / 72
        return textwrap.fill(text, width=max(30, int(self.size[0] * share / (font_pixels * 0.6))))

    def _update_ledger(self) -> None:
        # QoC keeps its whole 0-1 scale; the ledger's scale grows in a few large steps
        # and its rows change only when a cause first happens: only then is the
        # background redrawn
        ledgers = [run.ledger(group) for _, run, group in self.series]
        present = tuple(
            cause for j, cause in enumerate(CAUSES) if any(not lg[j].absent for lg in ledgers)
        )
        top = max([line.per_100_created for lg in ledgers for line in lg] + [1.0])
        if top > self._rate_high:
            self._rate_high = min(100.0, _nice_ceiling(top * 1.3))
            self.loss_axes.set_xlim(0, self._rate_high)
            self._ledger_stale = True
        n = len(self.series)
        height = 0.8 / n
        if present != self._present:
            self._present = present
            ax = self.loss_axes
            ax.set_ylim(len(present) - 0.5 if present else 0.5, -0.5)
            ax.set_yticks(range(len(present)), [CAUSE_WORDS[c] for c in present])
            ax.set_xlabel(self._ledger_words(present), fontsize=self._font(8))
            self._ledger_stale = True  # within the room the layout left (_lay_out)
        for i, ledger in enumerate(ledgers):
            for line in ledger:
                bar, text = self.loss_bars[i][line.cause], self.loss_texts[i][line.cause]
                shown = line.cause in present
                bar.set_visible(shown)
                text.set_visible(shown)
                if not shown:
                    continue
                y = present.index(line.cause) - 0.4 + i * height
                bar.set_xy((0, y))
                bar.set_width(line.per_100_created)
                text.set_position((line.per_100_created + self._rate_high * 0.01, y + height / 2))
                text.set_text(f"{line.per_100_created:.1f} ({line.lost:,})")

    def _ledger_words(self, present: tuple[str, ...]) -> str:
        """The ledger's axis label: its unit, then the causes absent so far."""
        absent = [CAUSE_WORDS[c] for c in CAUSES if c not in present]
        words = "lost per 100 lessons created"
        if absent:
            share = 0.4 if len(self.runs) == 1 else 0.45
            font_pixels = self._font(8) * self.dpi / 72
            words += "\n" + textwrap.fill(
                "absent so far (no lesson lost to it): " + ", ".join(absent),
                width=max(30, int(self.size[0] * share / (font_pixels * 0.6))),
            )
        return words

    def _lay_out(self) -> None:
        """Lay the figure out with room for every ledger row and the longest label.

        The ledger's rows and its list of absent causes change as causes first happen;
        laying out once for the widest rows and the tallest label lets them change later
        with a redraw only, without a new layout (the dearest part of a full draw).
        """
        ax = self.loss_axes
        ylim, ticks = ax.get_ylim(), ax.get_yticks()
        labels = [label.get_text() for label in ax.get_yticklabels()]
        xlabel = ax.get_xlabel()
        ax.set_yticks(range(len(CAUSES)), [CAUSE_WORDS[c] for c in CAUSES])
        ax.set_xlabel(self._ledger_words(()))
        self._layout.execute(self.figure)
        self.figure.set_layout_engine("none")  # keep these positions until the next layout
        renderer = self.canvas.get_renderer()
        self._ledger_box = ax.get_tightbbox(renderer)
        ax.set_yticks(ticks, labels)
        ax.set_ylim(ylim)
        ax.set_xlabel(xlabel)
        for map_axes, names in zip(self.map_axes, self.district_names, strict=True):
            self._fit_district_names(map_axes, names, renderer)

    @staticmethod
    def _fit_district_names(
        ax: Axes, names: list[tuple[Text, str, str]], renderer: RendererBase
    ) -> None:
        """Name districts in full where the names fit between clusters, else ``D7``."""
        if not names:
            return
        ax.apply_aspect()  # the map's equal aspect shrinks its box only when drawn
        spacing = ax.transData.transform((1.0, 0.0))[0] - ax.transData.transform((0.0, 0.0))[0]
        for text, full, _ in names:
            text.set_text(full)
        widest = max(text.get_window_extent(renderer).width for text, _, _ in names)
        if widest > 0.9 * spacing:
            for text, _, short in names:
                text.set_text(short)

    def _redraw_ledger(self) -> None:
        """Redraw the ledger's still parts (rows, scale, labels) on the background only.

        Its rows and scale change a few times a run; painting over the room the layout
        left it and drawing it again there costs a fraction of a full draw.
        """
        renderer = self.canvas.get_renderer()
        boxes = [self._ledger_box, self.loss_axes.get_tightbbox(renderer)]
        box = Bbox.union([b for b in boxes if b is not None])
        self.canvas.restore_region(self._background)
        eraser = Rectangle(
            (box.x0, box.y0), box.width, box.height, transform=IdentityTransform(),
            facecolor=self.figure.get_facecolor(), edgecolor="none",
        )  # fmt: skip
        eraser.set_figure(self.figure)
        eraser.draw(renderer)
        self.loss_axes.draw(renderer)
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)

    def _changing(self) -> list[Artist]:
        bars = [bar for group in self.loss_bars for bar in group.values()]
        texts = [text for group in self.loss_texts for text in group.values()]
        return [
            *self.flow_lines, *self.dots, *self.loss_marks, *self.qoc_lines,
            *(line for line, _ in self.group_lines), *bars, *texts,
        ]  # fmt: skip

    def _full_draw(self) -> None:
        """Draw everything; lay the figure out again only when its texts changed shape.

        Constrained layout is the dearest part of a full draw; between text changes
        (lever lines, the practice on show) the layout is kept, and the ledger's rows
        change within the room :meth:`_lay_out` left for them.
        """
        if self._relayout:
            self._lay_out()
            self._relayout = False
        self.canvas.draw()

    def draw(self) -> None:
        """Draw the view on its canvas (only the changing parts when blitting)."""
        if not self.blit:
            self._full_draw()
            return
        changing = self._changing()
        if self._background is None:
            for artist in changing:
                artist.set_animated(True)
            self._full_draw()
            self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        elif self._ledger_stale and self._ledger_box is not None:
            self._redraw_ledger()
        else:
            self.canvas.restore_region(self._background)
        self._ledger_stale = False
        for artist in changing:
            self.figure.draw_artist(artist)

    def png(self) -> bytes:
        """The current view as PNG bytes."""
        self.draw()
        buffer = io.BytesIO()
        self.image().save(buffer, format="png", compress_level=1)
        return buffer.getvalue()

    def jpeg(self, quality: int = 88) -> bytes:
        """The current view as JPEG bytes (quicker to make and send than PNG)."""
        self.draw()
        buffer = io.BytesIO()
        self.image().save(buffer, format="jpeg", quality=quality)
        return buffer.getvalue()

    def pixels(self) -> np.ndarray:
        """The view as drawn last, as an RGB array (height x width x 3)."""
        return np.asarray(self.image())

    def image(self) -> Image.Image:
        """The view as drawn last, as an RGB image."""
        width, height = self.canvas.get_width_height()
        rgba = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw")
        return rgba.convert("RGB")


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2 or 5 times a power of ten that is at least ``value``.

    Examples:
        >>> _nice_ceiling(0.23), _nice_ceiling(130.0)
        (0.5, 200.0)
    """
    power = 10.0 ** math.floor(math.log10(value))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if factor * power >= value * (1 - 1e-12):
            return factor * power
    return 10.0 * power


def _flow_segments(
    run: LiveRun, layout: MapLayout, flows: Flows
) -> tuple[list[np.ndarray], list[str]]:
    """Lines from where each piece of news came (hub, national body, peer) to its receiver."""
    ends = layout.position[flows.facility]
    district = run.model.world.facility_district[flows.facility]
    starts = layout.hub[district].copy()
    starts[flows.source == int(Source.GUIDANCE)] = layout.national
    peer = flows.peer >= 0
    starts[peer] = layout.position[flows.peer[peer]]
    drawn = np.isin(flows.source, [int(s) for s in CHANNEL_COLOURS])
    drawn &= ~(np.isnan(ends[:, 0]) | np.isnan(starts[:, 0]))
    segments = list(np.stack([starts[drawn], ends[drawn]], axis=1))
    colours = [CHANNEL_COLOURS[Source(int(s))] for s in flows.source[drawn]]
    return segments, colours
