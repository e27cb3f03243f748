"""Shareable animations of the trainer's view: a GIF (Pillow) or an MP4 (ffmpeg).

A GIF needs nothing beyond Pillow (a matplotlib dependency); an MP4 needs ``ffmpeg``
on the PATH, and its absence is a clear error. A GIF holds at most 256 colours a
frame; left to itself, Pillow picks each frame's own palette, so a colour can shift
from frame to frame. Every frame is therefore mapped onto one fixed palette
(:func:`gif_palette`): the view's own colours exactly, their blends with white (the
edges of drawn shapes), and greys.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from matplotlib.animation import FFMpegWriter
from matplotlib.colors import to_rgb
from PIL import Image

from sim.errors import SimError
from sim.model.schema import Scenario
from sim.trainer.live import LiveRun
from sim.trainer.view import TrainerView, view_colours

__all__ = ["AnimationError", "animate", "gif_palette"]

log = logging.getLogger(__name__)


class AnimationError(SimError):
    """The animation cannot be written (unknown format, missing ffmpeg)."""


def gif_palette() -> Image.Image:
    """The fixed palette of every GIF frame, as a palette image.

    It holds every colour of :func:`~sim.trainer.view.view_colours` exactly, each blended
    with white at 1/4, 1/2 and 3/4, and 17 greys from black to white.

    Examples:
        >>> colours = gif_palette().getpalette()
        >>> len(colours) // 3 <= 256, tuple(colours[:3])
        (True, (0, 0, 0))
    """
    rgb: list[tuple[int, int, int]] = []

    def add(colour: tuple[float, float, float]) -> None:
        entry = tuple(int(round(255 * c)) for c in colour)
        if entry not in rgb:
            rgb.append(entry)  # type: ignore[arg-type]

    for level in range(17):
        add((level / 16,) * 3)
    for colour in view_colours():
        base = to_rgb(colour)
        for white in (0.0, 0.25, 0.5, 0.75):
            add(tuple(c + (1 - c) * white for c in base))  # type: ignore[arg-type]
    if len(rgb) > 256:
        raise AnimationError(f"the view uses too many colours for one GIF palette ({len(rgb)})")
    flat = [value for entry in rgb for value in entry]
    palette = Image.new("P", (1, 1))
    palette.putpalette(flat + flat[-3:] * (256 - len(rgb)))
    return palette


def animate(
    scenario: Scenario,
    out: Path,
    months: int | None = None,
    *,
    fps: int = 4,
    replicate: int = 0,
    size: tuple[int, int] = (1280, 720),
    dpi: int = 100,
    projector: bool = False,
) -> int:
    """Run ``scenario`` month by month and save the view as a GIF or MP4.

    Args:
        scenario: The scenario to show.
        out: The file to write; its suffix (``.gif`` or ``.mp4``) picks the format.
        months: Months to show (default: the scenario's ``months``).
        fps: Frames (months) a second.
        replicate: The replicate shown.
        size: Width and height of each frame in pixels.
        dpi: Pixels per inch: text and lines are sized in points, so at one size a
            higher dpi draws them larger.
        projector: Projector mode (larger text, thicker lines, see
            :class:`~sim.trainer.view.TrainerView`).

    Returns:
        The number of frames written (month 0, then one a month).

    Raises:
        AnimationError: For another suffix, or an MP4 without ffmpeg.
    """
    suffix = out.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise AnimationError(f"cannot write {out}: choose a .gif or .mp4 file name")
    if suffix == ".mp4" and not FFMpegWriter.isAvailable():
        raise AnimationError(
            f"cannot write {out}: MP4 needs ffmpeg on the PATH "
            "(e.g. apt-get install ffmpeg); a .gif needs nothing extra"
        )
    months = scenario.months if months is None else months
    run = LiveRun(scenario, replicate)
    view = TrainerView([run], size, dpi, months=months, projector=projector)
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".mp4":
        writer = FFMpegWriter(fps=fps)
        with writer.saving(view.figure, str(out), dpi):
            for _ in _months(run, view, months):
                writer.grab_frame()
        return months + 1
    palette = gif_palette()

    def frames() -> Iterator[Image.Image]:
        for _ in _months(run, view, months):
            view.draw()
            yield view.image().quantize(palette=palette, dither=Image.Dither.NONE)

    images = frames()
    first = next(images)
    first.save(
        out, save_all=True, append_images=images, duration=round(1000 / fps), loop=0,
        optimize=False,
    )  # fmt: skip
    return months + 1


def _months(run: LiveRun, view: TrainerView, months: int) -> Iterator[int]:
    """Month 0, then each month simulated, with the view updated."""
    yield run.month
    for _ in range(months):
        run.step()
        view.update()
        log.debug("month %d drawn", run.month)
        yield run.month
