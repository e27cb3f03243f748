"""The Figure-1 countries: what the framework's sentences say, and the panel drawn from them."""

from pathlib import Path

import pandas as pd
import pytest

from sim.config.scenario import load_scenario, validate_files
from sim.model.ledger import CAUSES
from sim.planning.figure1 import country_outcomes, figure1_panel

FOLDER = Path("scenarios/figure1")
NAMES = "ABCDEFGHI"


def country(name):
    return load_scenario(FOLDER / f"{name}.yaml").countries[0]


def test_every_figure1_file_is_valid():
    found = validate_files(sorted(str(p) for p in FOLDER.glob("*.yaml")))
    assert len(found) == 10
    assert not any(found.values()), found


def test_world_holds_the_nine_countries_of_their_own_files():
    world = load_scenario(FOLDER / "world.yaml")
    assert [c.name for c in world.countries] == list(NAMES)
    for own in world.countries:
        assert own.model_dump() == country(own.name).model_dump(), own.name
    for name in NAMES:
        single = load_scenario(FOLDER / f"{name}.yaml")
        assert single.loops == world.loops and single.seed == world.seed, name


def test_global_links_are_the_text_groups():
    links = {frozenset(pair) for pair in load_scenario(FOLDER / "world.yaml").global_links}
    groups = ("BCD", "GHI")
    expected = {frozenset((a, b)) for g in groups for a in g for b in g if a < b}
    assert links == expected


@pytest.mark.parametrize("name", NAMES)
def test_facility_learning_passes_or_is_lost_as_the_text_says(name):
    c = country(name).channels
    passes = c.peer_network.enabled and c.learning_sessions.enabled
    assert passes == (name not in "BEG"), name


@pytest.mark.parametrize("name", NAMES)
def test_district_learning_and_national_systems(name):
    c = country(name)
    between_districts = c.channels.district_exchange.enabled and c.national.routing == "free"
    assert between_districts == (name in "EI"), name
    assert (c.learning_centres.count > 0) == (name in "HI"), name


def test_a_and_f_differ_only_in_name_and_description():
    a, f = country("A").model_dump(), country("F").model_dump()
    for key in ("name", "description"):
        a.pop(key), f.pop(key)
    assert a == f
    assert "does not tell" in country("A").description


def test_panel_shows_each_country_and_its_simulated_qoc():
    rows = []
    for replicate in range(2):
        for index, name in enumerate(NAMES):
            row = {"replicate": replicate, "month": 60, "country": name, "qoc": index / 10}
            row.update({"lessons_generated": 100, "lessons_passed": 40 + index})
            row.update({f"lost_{cause}": 10 for cause in CAUSES})
            row["lost_no_channel"] = 50 if name in "BEG" else 0
            rows.append(row)
    countries = pd.DataFrame(rows)
    outcomes = country_outcomes(countries)
    assert outcomes.loc["C", "qoc"] == pytest.approx(0.2)
    assert outcomes.loc["B", "lost_total"] == 4 * 10 + 50
    figure = figure1_panel(load_scenario(FOLDER / "world.yaml"), countries)
    titles = [axes.get_title() for axes in figure.axes]
    assert titles == [f"{n}: QoC {i / 10:.2f}" for i, n in enumerate(NAMES)]
    texts = [t.get_text() for t in figure.axes[1].texts]
    assert any("no channel 56%" in t for t in texts), texts
    assert any(t == "global: C, D" for t in texts), texts
    assert len(figure.axes) == 9


@pytest.mark.slow
def test_figure1_ranking_acceptance(tmp_path):
    from sim.planning.compare import run_comparison

    files = [FOLDER / f"{n}.yaml" for n in NAMES]
    run_comparison(files, baseline="B", replicates=12, out_dir=tmp_path, progress=False, workers=2)
    table = pd.read_csv(tmp_path / "comparison.csv").set_index("scenario")
    qoc = table["qoc_final_median"]
    assert min(qoc["H"], qoc["I"]) > max(qoc["B"], qoc["E"], qoc["G"]), qoc.to_dict()
    share = table["lost_no_channel_share"]
    assert min(share[list("BEG")]) > max(share[list("ACDFHI")]), share.to_dict()
