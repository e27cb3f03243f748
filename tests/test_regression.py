import json

from regression import BASELINE, compute, differences


def test_output_matches_fixed_seed_baseline():
    expected = json.loads(BASELINE.read_text())
    problems = differences(expected, compute())
    assert not problems, (
        "model output drifted from tests/data/baseline.json; if the change is deliberate, "
        "run `make baseline` and review the diff:\n" + "\n".join(problems)
    )


def test_differences_are_detected():
    base = {"0": {"qoc_final": 0.5, "lost_blame": 3.0}}
    assert differences(base, {"0": {"qoc_final": 0.5, "lost_blame": 3.0}}) == []
    assert len(differences(base, {"0": {"qoc_final": 0.51, "lost_blame": 3.0}})) == 1
