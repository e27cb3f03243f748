"""The scenario folder the trainer's page offers: where it is and the scenarios in it.

The page lists every scenario file of the folder (``scenarios/`` of the working folder
unless :data:`sim.trainer.app.FOLDER_VARIABLE` names another); its ``presets/``
sub-folder holds the demonstration presets (:mod:`sim.trainer.presets`), which are not
scenarios.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PRESETS_FOLDER", "default_scenario_folder", "scenario_files"]


def default_scenario_folder() -> Path:
    """``scenarios/`` of the working folder, or else the one beside the package."""
    here = Path("scenarios")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parent.parent / "scenarios"


#: Sub-folder of the scenario folder that holds demonstration presets, not scenarios.
PRESETS_FOLDER = "presets"


def scenario_files(folder: Path) -> list[Path]:
    """Every YAML file under ``folder`` (sub-folders included), sorted by path.

    Files under ``presets/`` are demonstration presets (:mod:`sim.trainer.presets`),
    not scenarios, and are left out.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = (Path(d) / "figure1").mkdir()
        ...     _ = (Path(d) / "presets").mkdir()
        ...     for name in ("b.yaml", "figure1/a.yaml", "notes.txt", "presets/p.yaml"):
        ...         _ = (Path(d) / name).write_text("")
        ...     [p.relative_to(d).as_posix() for p in scenario_files(Path(d))]
        ['b.yaml', 'figure1/a.yaml']
    """
    if not folder.is_dir():
        return []
    found = [
        p
        for p in [*folder.rglob("*.yaml"), *folder.rglob("*.yml")]
        if p.relative_to(folder).parts[0] != PRESETS_FOLDER
    ]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())
