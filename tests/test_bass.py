"""The mean-field limit: one practice, full mixing and guidance give the Bass curve."""

from pathlib import Path

import numpy as np

from sim.config.scenario import load_scenario
from sim.runs.simulation import run_replicate

BASS = Path(__file__).parents[1] / "scenarios" / "validation" / "bass.yaml"


def bass_curve(t, p, q):
    decay = np.exp(-(p + q) * t)
    return (1 - decay) / (1 + (q / p) * decay)


def simulated_share(scenario, replicates):
    runs = [run_replicate(scenario, r).timeseries for r in range(replicates)]
    months = runs[0]["month"].to_numpy()
    share = np.mean([run["coverage_mean"].to_numpy() for run in runs], axis=0)
    return months, share


def test_bass_scenario_matches_the_closed_form():
    scenario = load_scenario(BASS)
    country = scenario.countries[0]
    assert country.facilities >= 5000
    p = country.channels.guidance.reach
    q = country.channels.peer_network.full_mixing_rate
    months, share = simulated_share(scenario, replicates=4)
    deviation = np.abs(share - bass_curve(months, p, q)).max()
    assert deviation < 0.03, f"largest gap to the Bass curve is {deviation:.4f}"


def test_bass_check_would_notice_a_wrong_imitation_rate():
    scenario = load_scenario(BASS)
    country = scenario.countries[0]
    p = country.channels.guidance.reach
    q = country.channels.peer_network.full_mixing_rate
    months, share = simulated_share(scenario, replicates=1)
    deviation = np.abs(share - bass_curve(months, p, 1.5 * q)).max()
    assert deviation > 0.03, "a 50 % error in q went unnoticed: the check is too loose"
