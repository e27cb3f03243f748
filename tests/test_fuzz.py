"""The command line under generated bad arguments and files: a message and a status, never a
traceback.

Each example calls ``main([...])`` in this process with a command, a few options drawn
from every option the commands take (with well-formed, malformed and out-of-range values)
and input files of generated text. The model is replaced by a stand-in and the app's
server by a recorder, so no example starts a long simulation or serves anything.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli.main import main

from fake_model import fake_replicate

COMMANDS = [
    ["validate"],
    ["run"],
    ["sweep"],
    ["analyze"],
    ["report"],
    ["calibrate"],
    ["animate"],
    ["compare"],
    ["app"],
    ["import", "csv"],
]
OPTIONS = [
    "--replicates",
    "--seed",
    "--workers",
    "--out",
    "--executor",
    "--scheduler",
    "--months",
    "--fps",
    "--port",
    "--host",
    "--holdout",
    "--baseline",
    "--country",
    "--neighbours",
    "--decay-km",
    "--scenario",
]
FLAGS = ["--force", "--resume", "--quick", "-q", "--allow-remote"]

numbers = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["0", "-1", "1e9", "nan", "inf", "0x10", "1_000", " 7", "", "٣"]),
)
words = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=24,
)
FILE_TEXTS = [
    "",
    "name: x\n",
    "name: ..\ncountries: [{name: A}]\n",
    "[[[[[[[[",
    "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "a: &a [*a]\n",
    "name: x\nmonths: 1\x0c\n",
    "name: x\nreplicates: true\ncountries: [{name: A}]\n",
    "id,district,level,sector,staff\nf1,D,health_post,public,99999999999\n",
    "name: e\nmodel: ishigami\nparameters: {x1: [1, 0]}\nmethod: sobol\nsamples: 3\noutputs: [y]\n",
    "extends: /etc/passwd\nname: x\n",
    "name: x\ncountries:\n  - name: A\n    facility_file: /proc/self/environ\n",
]
file_texts = st.one_of(st.sampled_from(FILE_TEXTS), words)


@st.composite
def command_lines(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str]]]:
    files = [
        (draw(st.sampled_from(["in.yaml", "in.csv", "in.yml", "in"])), draw(file_texts))
        for _ in range(draw(st.integers(1, 2)))
    ]
    paths = [name for name, _ in files] + ["missing.yaml", ".", "/dev/null", "sub/"]
    arguments = list(draw(st.sampled_from(COMMANDS)))
    arguments += draw(st.lists(st.sampled_from(paths), min_size=0, max_size=2))
    for _ in range(draw(st.integers(0, 4))):
        option = draw(st.sampled_from(OPTIONS + FLAGS))
        arguments.append(option)
        if option in OPTIONS:
            arguments.append(draw(st.one_of(numbers, words, st.sampled_from(paths))))
    return arguments, files


@pytest.fixture(autouse=True)
def no_long_work(monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.trainer.app

    monkeypatch.setattr("sim.runs.runner.run_replicate", fake_replicate)
    monkeypatch.setattr(sim.trainer.app, "serve", lambda *args: None)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=command_lines())
def test_bad_arguments_and_files_never_give_a_traceback(
    case: tuple[list[str], list[tuple[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    arguments, files = case
    with tempfile.TemporaryDirectory() as folder:
        monkeypatch.chdir(folder)
        for name, text in files:
            Path(folder, name).write_text(text, encoding="utf-8")
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(arguments)
            except SystemExit as exited:  # argparse: usage errors
                code = exited.code if isinstance(exited.code, int) else 2
    assert code in (0, 2), f"{arguments}: exit status {code}\n{err.getvalue()}"
    assert "Traceback" not in err.getvalue(), f"{arguments}\n{err.getvalue()}"
