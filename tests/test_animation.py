from __future__ import annotations

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
    assert "8 frames" in capsys.readouterr().out
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
