"""The exceptions lhsim raises. The command line turns them into messages and exit codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Problem", "RunError", "ScenarioError", "SimError"]


class SimError(Exception):
    """Base of every error lhsim raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where, what, and how to fix it."""

    file: str
    key: str
    value: Any
    message: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.file}: {self.key or '<top>'}: {self.message}"
        if self.value is not None:
            text += f" (got {self.value!r})"
        return f"{text}; {self.fix}" if self.fix else text


class ScenarioError(SimError, ValueError):
    """An input file is invalid. ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} found"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class RunError(SimError, RuntimeError):
    """A simulation run failed; carries the scenario name, replicate and seed to redo it."""

    def __init__(self, message: str, *, scenario: str, replicate: int, seed: int) -> None:
        self.scenario = scenario
        self.replicate = replicate
        self.seed = seed
        super().__init__(f"{message} (scenario {scenario!r}, replicate {replicate}, seed {seed})")
