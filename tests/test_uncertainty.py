"""Parameter uncertainty in comparisons: one draw per replicate, shared by every scenario."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.cli.main import main
from sim.config.posterior import apply_posterior
from sim.errors import ScenarioError
from sim.model.schema import Country, Scenario, iter_parameters
from sim.planning.compare import run_comparison
from sim.planning.uncertainty import (
    UncertaintySpec,
    attach,
    draw_samples,
    load_uncertainty,
    value_of_information,
)

SPEC = UncertaintySpec(
    draws=400,
    parameters={
        "turnover.annual": {"low": 0.05, "high": 0.35},
        "blame.facility": {"distribution": "triangular", "low": 0.2, "mode": 0.5, "high": 0.8},
    },
)


def scenario(name: str, **country: object) -> Scenario:
    return Scenario(
        name=name,
        months=12,
        countries=[{"name": "A", "districts": 2, "facilities": 30, **country}],
    )


def test_draws_are_reproducible_and_each_parameter_has_its_own_stream() -> None:
    first, again = draw_samples(SPEC, 11), draw_samples(SPEC, 11)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(draw_samples(SPEC, 12))
    alone = UncertaintySpec(
        draws=400, parameters={"turnover.annual": SPEC.parameters["turnover.annual"]}
    )
    np.testing.assert_array_equal(
        draw_samples(alone, 11)["turnover.annual"], first["turnover.annual"]
    )
    assert first["blame.facility"].between(0.2, 0.8).all()


def test_every_scenario_of_a_replicate_takes_the_same_draw(tmp_path: Path) -> None:
    samples = tmp_path / "draws.csv"
    draw_samples(SPEC, 5).to_csv(samples, index=False)
    table = pd.read_csv(samples)
    a = attach(scenario("a"), samples, SPEC, "a.yaml")
    b = attach(scenario("b", channels={"coaching": {"enabled": False}}), samples, SPEC, "b.yaml")
    rows = []
    for replicate in range(6):
        drawn_a, row_a = apply_posterior(a, replicate)
        drawn_b, row_b = apply_posterior(b, replicate)
        assert row_a == row_b
        rows.append(row_a)
        for drawn in (drawn_a, drawn_b):
            country = drawn.countries[0]
            assert country.turnover.annual == pytest.approx(table["turnover.annual"][row_a])
            assert country.blame.facility == pytest.approx(table["blame.facility"][row_a])
    assert len(set(rows)) > 1, "replicates draw different rows"


def test_a_scenario_with_its_own_posterior_cannot_take_uncertainty_draws(tmp_path: Path) -> None:
    samples = tmp_path / "draws.csv"
    draw_samples(SPEC, 5).to_csv(samples, index=False)
    once = attach(scenario("a"), samples, SPEC, "a.yaml")
    with pytest.raises(ScenarioError, match="cannot take --uncertainty draws"):
        attach(once, samples, SPEC, "a.yaml")


def test_bad_uncertainty_files_name_the_key_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "u.yaml"
    path.write_text(
        "parameters:\n"
        "  turnover.anual: {low: 0.1, high: 0.3}\n"
        "  channels.coaching.capacity: {low: 1, high: 3}\n"
        "  blame.facility: {low: 0.5, high: 1.5}\n"
    )
    with pytest.raises(ScenarioError) as caught:
        load_uncertainty(path)
    text = str(caught.value)
    assert "parameters.turnover.anual" in text and "did you mean 'annual'?" in text
    assert "channels.coaching.capacity: not a continuous parameter" in text
    assert "blame.facility: outside the parameter's valid range [0.0, 1.0]" in text
    path.write_text(
        "parameters:\n  blame.facility: {distribution: triangular, low: 0.1, high: 0.3}\n"
    )
    with pytest.raises(ScenarioError, match="triangular distribution needs low <= mode <= high"):
        load_uncertainty(path)


@given(arrays(np.float64, (12, 3), elements=st.floats(-1e4, 1e4)))
def test_the_value_of_perfect_information_is_never_negative(values: np.ndarray) -> None:
    benefit = pd.DataFrame(values, columns=["a", "b", "c"])
    draws = pd.DataFrame({"x": np.arange(12.0)})
    best = str(benefit.mean().idxmax())
    evpi, _ = value_of_information(benefit, draws, best)
    assert evpi >= 0
    dominant = benefit.assign(a=benefit.max(axis=1) + 1.0)
    assert value_of_information(dominant, draws, "a")[0] == pytest.approx(0.0, abs=1e-6)


def test_a_comparison_with_uncertainty_reports_what_we_do_not_know(tmp_path: Path) -> None:
    files = []
    for name, country in (("base", {"channels": {"coaching": {"enabled": False}}}), ("lever", {})):
        path = tmp_path / f"{name}.yaml"
        document = scenario(name, **country).model_dump(mode="json", exclude_defaults=True)
        path.write_text(yaml.safe_dump({**document, "name": name}))
        files.append(path)
    spec = tmp_path / "u.yaml"
    spec.write_text("draws: 50\nparameters:\n  turnover.annual: {low: 0.05, high: 0.35}\n")
    out = tmp_path / "out"
    run_comparison(
        files, baseline="base", replicates=4, out_dir=out, progress=False, uncertainty=spec
    )
    rows = [
        pd.read_csv(out / "scenarios" / n / "summary.csv")["posterior_row"]
        for n in ("base", "lever")
    ]
    pd.testing.assert_series_equal(rows[0], rows[1])
    information = pd.read_csv(out / "value_of_information.csv")
    assert information["parameter"].tolist() == ["turnover.annual"]
    brief = (out / "report.html").read_text(encoding="utf-8")
    assert "expected value of perfect information" in brief
    code = main(["compare", *map(str, files), "--replicates", "2", "--out", str(tmp_path / "bad"),
                 "--uncertainty", str(tmp_path / "missing.yaml"), "-q"])  # fmt: skip
    assert code == 2


def _files(tmp_path: Path, *pairs: tuple[str, dict[str, object]]) -> list[Path]:
    files = []
    for name, country in pairs:
        path = tmp_path / f"{name}.yaml"
        document = scenario(name, **country).model_dump(mode="json", exclude_defaults=True)
        path.write_text(yaml.safe_dump({**document, "name": name}))
        files.append(path)
    return files


def test_without_a_file_the_documented_plausible_ranges_are_drawn_except_levers(
    tmp_path: Path,
) -> None:
    files = _files(tmp_path, ("base", {}), ("less_blame", {"blame": {"facility": 0.3}}))
    out = tmp_path / "out"
    code = main(["compare", *map(str, files), "--replicates", "2", "--out", str(out), "-q",
                 "--uncertainty"])  # fmt: skip
    assert code == 0
    drawn = pd.read_csv(out / "uncertainty_samples.csv")
    documented = {p.path: p for p in iter_parameters(Country) if p.plausible is not None}
    assert "blame.facility" not in drawn.columns, "the compared lever is never drawn"
    assert set(drawn.columns) == set(documented) - {"blame.facility"}
    for key in drawn.columns:
        low, high = documented[key].plausible  # type: ignore[misc]
        assert drawn[key].between(low, high).all(), key
    written = load_uncertainty(out / "uncertainty.yaml")  # the file is reusable as input
    assert set(written.parameters) == set(drawn.columns)
    text = (out / "uncertainty.yaml").read_text(encoding="utf-8")
    assert "# not drawn: blame.facility (set to 0.3 in scenario less_blame, country A)" in text
    assert written.parameters["innovation.rate"].distribution == "loguniform"


def test_a_file_that_draws_a_compared_lever_is_refused(tmp_path: Path, capsys) -> None:
    files = _files(tmp_path, ("base", {}), ("high", {"turnover": {"annual": 0.35}}))
    spec = tmp_path / "u.yaml"
    spec.write_text("parameters:\n  turnover.annual: {low: 0.05, high: 0.35}\n")
    code = main(["compare", *map(str, files), "--replicates", "2", "-q",
                 "--out", str(tmp_path / "out"), "--uncertainty", str(spec)])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "parameters.turnover.annual" in err and "set it differently" in err
    assert not (tmp_path / "out").exists(), "nothing ran"
