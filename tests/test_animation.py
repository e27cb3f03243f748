from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageSequence

from sim.cli.main import main
from sim.model.schema import Scenario
from sim.trainer.animation import AnimationError, animate

TINY = """
name: tiny
seed: 11
months: 24
practices: {count: 8}
countries:
  - name: A
    districts: 4
    facilities: 80
"""


def test_animate_writes_a_gif_whose_frames_differ(tmp_path: Path, capsys) -> None:
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY)
    out = tmp_path / "slides" / "demo.gif"
    assert main(["animate", str(scenario), "--out", str(out), "--months", "7"]) == 0
    assert "8 frames of 1280x720 pixels" in capsys.readouterr().out
    with Image.open(out) as gif:
        frames = [np.asarray(f.convert("RGB")).copy() for f in ImageSequence.Iterator(gif)]
    assert len(frames) >= 6, f"{len(frames)} frames"
    for a, b in zip(frames, frames[1:], strict=False):
        assert not np.array_equal(a, b), "consecutive frames must differ (the month moves on)"


def test_animate_refuses_other_formats(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["animate", "x.yaml", "--out", str(tmp_path / "demo.avi")])
    assert exited.value.code == 2
    assert "expected a .gif or .mp4" in capsys.readouterr().err
    scenario = Scenario(name="t", countries=[{"name": "A", "facilities": 20, "districts": 2}])
    with pytest.raises(AnimationError, match="gif or .mp4"):
        animate(scenario, tmp_path / "demo.webm", 2)


def test_animate_a_bad_scenario_exits_2(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ncountries:\n  - name: A\n    turnover: {anual: 0.2}\n")
    assert main(["animate", str(bad), "--out", str(tmp_path / "x.gif")]) == 2
    err = capsys.readouterr().err
    assert "anual" in err and "Traceback" not in err


@pytest.mark.parametrize("command", [["app"], ["animate"]])
def test_help_of_the_trainer_commands(command: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "usage: lhsim" in out
    assert "127.0.0.1" in out if command == ["app"] else ".gif" in out


def test_app_with_a_bad_scenario_exits_2_before_serving(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ncountries:\n  - name: A\n    blame: {facility: 3}\n")
    assert main(["app", "--scenario", str(bad), "--port", "9"]) == 2
    assert "blame.facility" in capsys.readouterr().err


def test_mp4_without_ffmpeg_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "sim.trainer.animation.FFMpegWriter.isAvailable", classmethod(lambda cls: False)
    )
    scenario = Scenario(name="t", countries=[{"name": "A", "facilities": 20, "districts": 2}])
    with pytest.raises(AnimationError, match="MP4 needs ffmpeg"):
        animate(scenario, tmp_path / "demo.mp4", 2)
    assert not (tmp_path / "demo.mp4").exists()


def test_animate_takes_size_resolution_and_frame_rate(tmp_path: Path, capsys) -> None:
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY)
    out = tmp_path / "small.gif"
    argv = ["animate", str(scenario), "--out", str(out), "--months", "3"]
    assert main([*argv, "--size", "480x270", "--dpi", "40", "--fps", "5"]) == 0
    assert "4 frames of 480x270 pixels, 5 a second" in capsys.readouterr().out
    with Image.open(out) as gif:
        assert gif.size == (480, 270)
        assert gif.info["duration"] == 200, "5 frames a second"
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--size", "big"])
    assert exited.value.code == 2
    assert "such as 1920x1080" in capsys.readouterr().err


def test_projector_mode_draws_large_text_on_a_1920_by_1080_picture(tmp_path: Path) -> None:
    from matplotlib.text import Text

    from sim.trainer.live import LiveRun
    from sim.trainer.view import TrainerView

    scenario = Scenario(name="t", countries=[{"name": "A", "facilities": 40, "districts": 4}])
    run = LiveRun(scenario)
    run.step()

    def pixel_sizes(view: TrainerView) -> list[float]:
        view.draw()
        return [
            t.get_fontsize() * view.dpi / 72
            for t in view.figure.findobj(Text)
            if t.get_visible() and t.get_text().strip()
        ]

    projector = TrainerView([run], (1920, 1080), 150, projector=True)
    projector.draw()
    assert projector.image().size == (1920, 1080)
    normal = TrainerView([run])
    normal.draw()
    assert normal.image().size == (1280, 720)
    assert min(pixel_sizes(projector)) >= 15, "every text at least 15 px in projector mode"
    assert min(pixel_sizes(projector)) > 1.8 * min(pixel_sizes(normal))


def test_every_picture_names_the_levers_that_differ_from_their_defaults() -> None:
    from sim.trainer.live import LiveRun
    from sim.trainer.view import TrainerView

    plain = Scenario(name="t", countries=[{"name": "A", "facilities": 40, "districts": 4}])
    view = TrainerView([LiveRun(plain)])
    assert view.map_axes[0].get_xlabel() == "Levers: every teaching lever at its default"
    moved = Scenario(
        name="t",
        months=12,
        loops={"triple": True, "review_interval_months": 3, "loss_share_trigger": 0.0},
        countries=[
            {
                "name": "A",
                "facilities": 80,
                "districts": 4,
                "turnover": {"annual": 0.4},
                "blame": {"facility": 0.9},
                "channels": {"coaching": {"enabled": False}},
            }
        ],
    )
    run = LiveRun(moved)
    view = TrainerView([run])
    words = " ".join(view.map_axes[0].get_xlabel().split())
    assert "Staff who leave each year 0.4" in words and "District coaching visits off" in words
    assert "Blame culture in facilities 0.9" in words
    for _ in range(12):
        run.step()
    view.update()
    now = run.lever_now("blame.facility")
    assert now < 0.9, "the reviews ease blame"
    words = " ".join(view.map_axes[0].get_xlabel().split())
    assert f"Blame culture in facilities {now:g}" in words, words


def test_district_names_never_run_together_on_the_map() -> None:
    from sim.trainer.live import LiveRun
    from sim.trainer.view import TrainerView

    scenario = Scenario(name="t", countries=[{"name": "A", "facilities": 200, "districts": 20}])
    runs = [LiveRun(scenario), LiveRun(scenario)]
    for projector, size, dpi in ((False, (1280, 720), 100), (True, (1920, 1080), 150)):
        view = TrainerView(runs, size, dpi, blit=True, projector=projector)
        view.draw()
        renderer = view.canvas.get_renderer()
        texts = [text for text, _, _ in view.district_names[0]]
        assert len(texts) == 20
        boxes = [text.get_window_extent(renderer) for text in texts]
        for a, b in itertools.combinations(boxes, 2):
            assert not a.overlaps(b), (projector, [t.get_text() for t in texts])
        if not projector:
            assert texts[6].get_text() == "District 7", "full names where they fit"
    assert texts[6].get_text() == "D7", "short names where full ones would touch"
