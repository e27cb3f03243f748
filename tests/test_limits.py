"""Input limits: YAML size, values, depth and characters; sweep sizes; ranged CLI numbers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sim.cli.main import main
from sim.config.scenario import load_scenario
from sim.config.yaml_reader import MAX_YAML_BYTES, MAX_YAML_NODES, read_yaml
from sim.errors import ScenarioError
from sim.sweeps.experiment_file import load_experiment

BOMB = """\
name: bomb
a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
countries: [{name: A}]
"""


def write(folder: Path, text: str, name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_an_alias_bomb_fails_fast_with_a_clear_problem(tmp_path: Path) -> None:
    """The issue's reproducer took 55 s and 2.7 GB before a MemoryError traceback."""
    started = time.perf_counter()
    with pytest.raises(ScenarioError, match="aliases .* are expanded"):
        load_scenario(write(tmp_path, BOMB))
    assert time.perf_counter() - started < 2.0


def test_aliases_within_the_limit_still_work(tmp_path: Path) -> None:
    text = "name: ok\nbase: &b {name: A, facilities: 5, districts: 1}\ncountries: [*b]\n"
    data, _ = read_yaml(write(tmp_path, text), "s.yaml")
    assert data["countries"][0]["facilities"] == 5


def test_many_plain_values_are_counted_too(tmp_path: Path) -> None:
    text = "values: [" + ",".join("1" for _ in range(MAX_YAML_NODES + 10)) + "]\n"
    with pytest.raises(ScenarioError, match="more than 200,000 values"):
        read_yaml(write(tmp_path, text), "s.yaml")


def test_a_self_referring_alias_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="an alias refers to itself"):
        read_yaml(write(tmp_path, "a: &a [1, *a]\n"), "s.yaml")


@pytest.mark.parametrize("depth", [65, 5000])
def test_deep_nesting_is_a_problem_not_a_recursion_error(tmp_path: Path, depth: int) -> None:
    text = "a: " + "[" * depth + "]" * depth + "\n"
    with pytest.raises(ScenarioError, match="nests mappings and lists more than 64 deep"):
        read_yaml(write(tmp_path, text), "s.yaml")


def test_validate_dev_zero_is_a_clean_error(capsys) -> None:
    assert main(["validate", "/dev/zero"]) == 2
    out = capsys.readouterr().out
    assert "not a regular file" in out, out


def test_a_file_above_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as handle:
        handle.truncate(MAX_YAML_BYTES + 1)
    with pytest.raises(ScenarioError, match="larger than 4 MB"):
        read_yaml(path, "huge.yaml")


@pytest.mark.parametrize(
    ("character", "named"),
    [("\x0c", "form feed"), ("\x00", "NUL"), ("\x1b", "escape"), ("\x07", "U+0007")],
)
def test_control_characters_are_a_problem_with_their_place(
    tmp_path: Path, character: str, named: str, capsys
) -> None:
    path = write(tmp_path, f"name: demo\nmonths: 1{character}2\ncountries: [{{name: A}}]\n")
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr().out
    assert named in out and "line 2, column 10" in out and "Traceback" not in out, out


def test_a_sobol_sample_too_large_is_refused_with_its_cost(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: big\nmodel: ishigami\nparameters: {x1: [-3, 3], x2: [-3, 3], x3: [-3, 3]}\n"
        "method: sobol\nsamples: 1073741824\noutputs: [y]\n",
        "e.yaml",
    )
    started = time.perf_counter()
    with pytest.raises(ScenarioError, match=r"5,368,709,120 runs .* 1,000,000 .* TB .* core-hours"):
        load_experiment(path)
    assert time.perf_counter() - started < 5


def test_a_morris_sample_too_large_is_refused_before_sampling(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: big\nmodel: ishigami\nparameters: {x1: [-3, 3], x2: [-3, 3], x3: [-3, 3]}\n"
        "method: morris\nsamples: 100000000\noutputs: [y]\n",
        "e.yaml",
    )
    with pytest.raises(ScenarioError, match="400,000,000 runs"):
        load_experiment(path)


@pytest.mark.parametrize(
    "arguments",
    [
        ["app", "--port", "70000"],
        ["app", "--port", "0"],
        ["animate", "x.yaml", "--months", "100000"],
        ["animate", "x.yaml", "--fps", "1000"],
        ["run", "x.yaml", "--replicates", "100001"],
        ["run", "x.yaml", "--workers", "100000"],
        ["run", "x.yaml", "--seed", "-1"],
        ["run", "x.yaml", "--seed", "9" * 40],
        ["sweep", "x.yaml", "--workers", "0"],
        ["compare", "a.yaml", "--replicates", "1e9"],
        ["calibrate", "x.yaml", "--workers", "999"],
        ["import", "csv", "x.csv", "--country", "A", "--out", "o", "--neighbours", "51"],
        ["import", "csv", "x.csv", "--country", "A", "--out", "o", "--decay-km", "inf"],
    ],
)
def test_every_number_on_the_command_line_is_ranged(arguments: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(arguments)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument" in err and "Traceback" not in err, err


def test_a_world_too_large_for_memory_is_refused_with_its_cost(tmp_path: Path) -> None:
    countries = "".join(f"  - {{name: C{i}, facilities: 2000000}}\n" for i in range(60))
    path = write(tmp_path, f"name: huge\ncountries:\n{countries}")
    with pytest.raises(ScenarioError, match=r"2,880,000,000 facility-practice cells.* GB .*hours"):
        load_scenario(path)


def test_the_national_benchmark_is_within_the_limits() -> None:
    root = Path(__file__).resolve().parents[1]
    assert load_scenario(root / "scenarios" / "national.yaml").countries
