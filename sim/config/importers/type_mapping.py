"""Facility type names to the model's levels and staff, through an editable YAML file.

The default mapping ships as ``facility_types.yaml`` beside this module; its comments
describe the format. A type name matches a phrase when the phrase's words appear side
by side, as whole words, in the name written in lower case without accents or
punctuation; the longest matching phrase wins, then the rule listed first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from sim.errors import Problem, ScenarioError
from sim.model.facility_list import LEVELS

__all__ = ["DEFAULT_TYPES", "TypeMapping", "load_type_mapping", "normalise"]

DEFAULT_TYPES = Path(__file__).with_name("facility_types.yaml")
"""The mapping used when ``--types`` is not given."""

_KEYS = ("unmapped", "types", "private")


def normalise(text: str) -> str:
    """Lower case, no accents, words of letters and digits separated by single spaces.

    Examples:
        >>> normalise('Centre de Santé  "A"')
        'centre de sante a'
        >>> normalise("Maternal & Child Health Post")
        'maternal child health post'
    """
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join(re.findall(r"[a-z0-9]+", plain))


@dataclass(frozen=True)
class _Rule:
    phrase: str
    level: int
    staff: int
    order: int


@dataclass(frozen=True)
class TypeMapping:
    """A loaded mapping: rules from phrases to a level and staff, and private phrases.

    Attributes:
        file: The file it was read from.
        rules: Every phrase with its level code, staff and rule order.
        private: Ownership phrases meaning the private sector.
        unmapped: Level code given to types no phrase matches, or ``None`` (they are
            then an error).
    """

    file: str
    rules: tuple[_Rule, ...]
    private: tuple[str, ...]
    unmapped: int | None

    def classify(self, name: str) -> tuple[int, int] | None:
        """Level code and staff of one type name, or ``None`` when no phrase matches.

        Examples:
            >>> mapping = load_type_mapping()
            >>> mapping.classify("Community Health Centre")
            (1, 12)
            >>> mapping.classify("District Hospital")
            (0, 60)
            >>> mapping.classify("Veterinary office") is None
            True
        """
        words = f" {normalise(name)} "
        best: _Rule | None = None
        for rule in self.rules:
            if f" {rule.phrase} " in words and (
                best is None or len(rule.phrase.split()) > len(best.phrase.split())
            ):
                best = rule
        return None if best is None else (best.level, best.staff)

    def levels(self, types: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
        """Level codes and staff of an array of type names, and the unmapped names.

        Returns:
            ``level`` (``int8``, -1 where unmapped), ``staff`` (``int32``, 0 where
            unmapped) and the unmapped names with their counts (names sorted).
        """
        names, inverse, counts = np.unique(
            np.asarray(types, dtype=str), return_inverse=True, return_counts=True
        )
        level = np.full(names.size, -1, dtype=np.int8)
        staff = np.zeros(names.size, dtype=np.int32)
        unmapped: dict[str, int] = {}
        for index, name in enumerate(names.tolist()):
            found = self.classify(name)
            if found is None:
                unmapped[name] = int(counts[index])
            else:
                level[index], staff[index] = found
        return level[inverse], staff[inverse], unmapped

    def is_private(self, ownership: np.ndarray) -> np.ndarray:
        """Whether each ownership name means the private sector."""
        names, inverse = np.unique(np.asarray(ownership, dtype=str), return_inverse=True)
        phrases = [f" {p} " for p in self.private]
        private = np.array(
            [any(p in f" {normalise(name)} " for p in phrases) for name in names.tolist()],
            dtype=bool,
        )
        return private[inverse] if names.size else np.zeros(0, dtype=bool)


def load_type_mapping(path: str | Path | None = None) -> TypeMapping:
    """Read and check a mapping file (the shipped default when ``path`` is ``None``).

    Raises:
        ScenarioError: Listing every problem of the file (unreadable, not YAML, unknown
            keys, unknown levels, staff that is not a whole number of at least 1, empty
            phrases).
    """
    file = Path(path) if path is not None else DEFAULT_TYPES
    where = str(file)
    problems: list[Problem] = []
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise ScenarioError(
            [Problem(where, "", str(file), f"cannot read the file: {error.strerror or error}")]
        ) from None
    except yaml.YAMLError as error:
        raise ScenarioError(
            [Problem(where, "", str(file), f"not valid YAML: {error}", "check the indentation")]
        ) from None
    if not isinstance(data, dict):
        raise ScenarioError(
            [Problem(where, "", data, "expected a mapping with the keys " + ", ".join(_KEYS))]
        )
    for key in data:
        if key not in _KEYS:
            problems.append(
                Problem(where, str(key), data[key], "unknown key", "use " + ", ".join(_KEYS))
            )
    rules: list[_Rule] = []
    types = data.get("types")
    if not isinstance(types, list) or not types:
        problems.append(Problem(where, "types", types, "expected a list of rules"))
        types = []
    for order, rule in enumerate(types):
        rules += _rule(rule, order, where, problems)
    private = data.get("private", [])
    if not isinstance(private, list) or not all(isinstance(p, str) for p in private):
        problems.append(Problem(where, "private", private, "expected a list of phrases"))
        private = []
    unmapped = data.get("unmapped")
    if unmapped is not None and unmapped not in LEVELS:
        problems.append(
            Problem(where, "unmapped", unmapped, "not a level", "use null or " + ", ".join(LEVELS))
        )
    if problems:
        raise ScenarioError(problems)
    return TypeMapping(
        file=where,
        rules=tuple(rules),
        private=tuple(p for p in (normalise(p) for p in private) if p),
        unmapped=None if unmapped is None else LEVELS.index(unmapped),
    )


def _rule(rule: object, order: int, where: str, problems: list[Problem]) -> list[_Rule]:
    """The phrases of one rule of the ``types`` list; problems recorded, not raised."""
    key = f"types.{order}"
    if not isinstance(rule, dict):
        problems.append(Problem(where, key, rule, "expected a mapping: level, staff, match"))
        return []
    before = len(problems)
    for name in rule:
        if name not in ("level", "staff", "match"):
            problems.append(Problem(where, f"{key}.{name}", rule[name], "unknown key"))
    level = rule.get("level")
    if level not in LEVELS:
        problems.append(
            Problem(where, f"{key}.level", level, "not a level", "use " + ", ".join(LEVELS))
        )
    staff = rule.get("staff")
    if not isinstance(staff, int) or isinstance(staff, bool) or staff < 1:
        problems.append(
            Problem(where, f"{key}.staff", staff, "staff must be a whole number of at least 1")
        )
    match = rule.get("match")
    if not isinstance(match, list) or not match:
        problems.append(Problem(where, f"{key}.match", match, "expected a list of phrases"))
        match = []
    phrases = _phrases(match, f"{key}.match", where, problems)
    if len(problems) > before:
        return []
    return [_Rule(p, LEVELS.index(str(level)), int(str(staff)), order) for p in phrases]


def _phrases(items: Iterable[object], key: str, where: str, problems: list[Problem]) -> list[str]:
    phrases = []
    for index, item in enumerate(items):
        phrase = normalise(str(item)) if isinstance(item, str | int) else ""
        if not phrase:
            problems.append(Problem(where, f"{key}.{index}", item, "not a phrase of words"))
        else:
            phrases.append(phrase)
    return phrases
