"""Exposure: the app's host, problems that never echo other files, Dask on loopback, umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sim.cli.main import main
from sim.runs.executors import DaskEvaluator, EvaluatorError, check_scheduler_address
from sim.runs.results import atomic_write


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    calls: list[tuple] = []
    import sim.trainer.app

    monkeypatch.setattr(sim.trainer.app, "serve", lambda *args: calls.append(args))
    return calls


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.7", "example.org"])
def test_the_app_refuses_a_host_other_computers_reach(host: str, served, capsys) -> None:
    assert main(["app", "--host", host]) == 2
    err = capsys.readouterr().err
    assert "--allow-remote" in err and "no authentication" in err, err
    assert served == [], "nothing is served"


def test_allow_remote_serves_with_a_warning(served, capsys) -> None:
    assert main(["app", "--host", "0.0.0.0", "--allow-remote", "--port", "9000"]) == 0
    assert served == [("0.0.0.0", 9000, None)]
    err = capsys.readouterr().err
    assert "warning" in err and "no authentication" in err, err


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_hosts_need_nothing_more(host: str, served) -> None:
    assert main(["app", "--host", host]) == 0
    assert served and served[0][0] == host


SECRET = "TOKEN=do-not-show-me-42"


def test_extends_never_echoes_another_file(tmp_path: Path, capsys) -> None:
    secret = tmp_path / "passwd"
    secret.write_text(f"root:x:0:0:{SECRET}:/root:/bin/bash\n")
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"extends: {secret}\nname: x\n")
    assert main(["validate", str(scenario)]) == 2
    out = capsys.readouterr().out
    assert SECRET not in out and ".yaml or .yml" in out, out


def test_a_renamed_non_yaml_file_is_reported_by_line_only(tmp_path: Path, capsys) -> None:
    secret = tmp_path / "environ"
    secret.write_text(f"{SECRET}: [unclosed\n")
    assert main(["validate", str(secret)]) == 2
    out = capsys.readouterr().out
    assert SECRET not in out and "line 2" in out, out


def test_a_facility_file_that_is_not_csv_is_not_read(tmp_path: Path, capsys) -> None:
    secret = tmp_path / "environ"
    secret.write_text(f"{SECRET}\0PATH=/bin\0")
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"name: x\ncountries:\n  - name: A\n    facility_file: {secret}\n")
    assert main(["validate", str(scenario)]) == 2
    out = capsys.readouterr().out
    assert SECRET not in out and "must name a .csv file" in out, out


def test_proc_self_environ_is_never_echoed(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("LHSIM_TEST_SECRET", SECRET)
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: x\ncountries:\n  - name: A\n    facility_file: /proc/self/environ\n")
    assert main(["validate", str(scenario)]) == 2
    assert main(["validate", "/proc/self/environ"]) == 2
    out = capsys.readouterr().out
    assert SECRET not in out, out


def test_a_local_dask_cluster_listens_on_loopback_without_a_dashboard(monkeypatch) -> None:
    import distributed

    seen: dict = {}

    class Recording:
        def __init__(self, **options) -> None:
            seen.update(options)
            raise OSError("recorded")

    monkeypatch.setattr(distributed, "LocalCluster", Recording)
    with pytest.raises(EvaluatorError):
        DaskEvaluator(workers=1).start()
    assert seen["host"] == "127.0.0.1" and seen["dashboard_address"] is None, seen
    seen.clear()
    with pytest.raises(EvaluatorError):
        DaskEvaluator(workers=1, processes=False).start()
    assert seen["dashboard_address"] is None and "host" not in seen, "threads: in-process"


@pytest.mark.parametrize(
    "address", ["notaurl", "http://10.0.0.5:8787", "tcp://", "tcp://host", "tcp://h:99999"]
)
def test_bad_scheduler_addresses_are_refused(address: str, capsys) -> None:
    with pytest.raises(EvaluatorError, match="scheduler address"):
        check_scheduler_address(address)
    for command in (["sweep", "e.yaml"], ["calibrate", "c.yaml"]):
        with pytest.raises(SystemExit) as exited:
            main([*command, "--executor", "dask", "--scheduler", address])
        assert exited.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_result_files_follow_the_umask(tmp_path: Path, mask: int) -> None:
    previous = os.umask(mask)
    try:
        atomic_write(tmp_path / "f.csv", lambda p: p.write_text("x"))
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "f.csv").stat().st_mode) == 0o666 & ~mask


def test_a_finished_run_is_readable_by_the_group_under_umask_002(tmp_path: Path) -> None:
    from test_folders import tiny

    from sim.runs.runner import run_scenario

    from fake_model import fake_replicate

    previous = os.umask(0o002)
    try:
        run_scenario(
            tiny(),
            replicates=1,
            out_dir=tmp_path / "r",
            progress=False,
            replicate_fn=fake_replicate,
        )
    finally:
        os.umask(previous)
    for path in (tmp_path / "r" / "summary.csv", tmp_path / "r" / "manifest.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o664, path


def test_animate_mp4_without_ffmpeg_is_a_clean_error(tmp_path: Path, monkeypatch, capsys):
    from matplotlib.animation import FFMpegWriter

    monkeypatch.setattr(FFMpegWriter, "isAvailable", classmethod(lambda cls: False))
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: x\nmonths: 2\ncountries: [{name: A, facilities: 5, districts: 1}]\n")
    assert main(["animate", str(scenario), "--out", str(tmp_path / "a.mp4")]) == 2
    err = capsys.readouterr().err
    assert "needs ffmpeg" in err and "Traceback" not in err, err


def test_compare_out_naming_a_file_is_a_clean_error(tmp_path: Path, capsys) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: x\nmonths: 2\ncountries: [{name: A, facilities: 5, districts: 1}]\n")
    (tmp_path / "taken").write_text("x")
    code = main(["compare", str(scenario), "--out", str(tmp_path / "taken"), "-q"])
    assert code == 2
    err = capsys.readouterr().err
    assert "is not a folder" in err and "Errno" not in err, err
