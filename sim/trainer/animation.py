"""Shareable animations of the trainer's view, made with matplotlib's animation writers.

A GIF needs nothing beyond Pillow (a matplotlib dependency); an MP4 needs ``ffmpeg``
on the PATH, and its absence is a clear error.
"""

from __future__ import annotations

import logging
from pathlib import Path

from matplotlib.animation import FFMpegWriter, PillowWriter

from sim.errors import SimError
from sim.model.schema import Scenario
from sim.trainer.live import LiveRun
from sim.trainer.view import TrainerView

__all__ = ["AnimationError", "animate"]

log = logging.getLogger(__name__)


class AnimationError(SimError):
    """The animation cannot be written (unknown format, missing ffmpeg)."""


def animate(
    scenario: Scenario,
    out: Path,
    months: int | None = None,
    *,
    fps: int = 4,
    replicate: int = 0,
    dpi: int = 72,
) -> int:
    """Run ``scenario`` month by month and save the view as a GIF or MP4.

    Args:
        scenario: The scenario to show.
        out: The file to write; its suffix (``.gif`` or ``.mp4``) picks the format.
        months: Months to show (default: the scenario's ``months``).
        fps: Frames (months) a second.
        replicate: The replicate shown.
        dpi: Resolution.

    Returns:
        The number of frames written (month 0, then one a month).

    Raises:
        AnimationError: For another suffix, or an MP4 without ffmpeg.
    """
    suffix = out.suffix.lower()
    if suffix == ".gif":
        writer: PillowWriter | FFMpegWriter = PillowWriter(fps=fps)
    elif suffix == ".mp4":
        if not FFMpegWriter.isAvailable():
            raise AnimationError(
                f"cannot write {out}: MP4 needs ffmpeg on the PATH "
                "(e.g. apt-get install ffmpeg); a .gif needs nothing extra"
            )
        writer = FFMpegWriter(fps=fps)
    else:
        raise AnimationError(f"cannot write {out}: choose a .gif or .mp4 file name")
    months = scenario.months if months is None else months
    run = LiveRun(scenario, replicate)
    view = TrainerView([run], dpi=dpi, months=months)
    out.parent.mkdir(parents=True, exist_ok=True)
    frames = 0
    with writer.saving(view.figure, str(out), dpi):
        writer.grab_frame()
        frames += 1
        for _ in range(months):
            run.step()
            view.update()
            writer.grab_frame()
            frames += 1
            log.debug("month %d drawn", run.month)
    return frames
