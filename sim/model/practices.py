"""The practice catalogue: what can be discovered, tested, shared and lost."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field, model_validator

from sim.model.parameters import FRAMEWORK, P, Section

__all__ = ["Catalogue", "PracticeCatalogue", "PracticeSpec", "build_catalogue"]


class PracticeSpec(Section):
    """One practice of a catalogue listed explicitly in the scenario."""

    name: str = Field(description="Practice name, unique in the catalogue.")
    topic: str = Field("general", description="Clinical topic of the practice.")
    effect: float = P(1.0, -5.0, 5.0, unit="QoC points", description="True mean effect on QoC.")
    context_spread: float = P(
        0.5, 0.0, 5.0, unit="QoC points", description="Spread of the effect across facilities."
    )
    complexity: float = P(
        0.5, 0.0, 1.0, description="Chance that trying it without a how-to story fails."
    )
    in_guidance: bool = Field(
        False, description="National guidance on this practice exists at month 0."
    )


class PracticeCatalogue(Section):
    """The practices that can be discovered, tested, shared and lost."""

    count: int = P(24, 1, 500, unit="practices", description="Number of generated practices.")
    effective_share: float = P(
        0.6, 0.0, 1.0, description="Share of generated practices that truly improve care."
    )
    harmful_share: float = P(
        0.1, 0.0, 1.0, description="Share of generated practices that truly harm care."
    )
    effect_effective: float = P(
        1.0, 0.0, 5.0, unit="QoC points", description="Mean effect of an effective practice."
    )
    effect_harmful: float = P(
        -0.5, -5.0, 0.0, unit="QoC points", description="Mean effect of a harmful practice."
    )
    effect_sd: float = P(
        0.3, 0.0, 5.0, unit="QoC points", description="Spread of mean effects between practices."
    )
    context_spread: float = P(
        0.5,
        0.0,
        5.0,
        unit="QoC points",
        description="Spread of a practice's effect across facilities ('learning is local').",
        source=FRAMEWORK,
    )
    complexity_mean: float = P(0.5, 0.0, 1.0, description="Mean complexity of generated practices.")
    guidance_share: float = P(
        0.0, 0.0, 1.0, description="Share of effective practices in national guidance at month 0."
    )
    initial_adoption: float = P(
        0.02,
        0.0,
        1.0,
        description="Share of facilities already using each effective practice at month 0.",
    )
    topics: list[str] = Field(
        default_factory=lambda: [
            "postpartum haemorrhage",
            "early breastfeeding",
            "newborn resuscitation",
            "kangaroo mother care",
            "respectful care",
            "infection prevention",
        ],
        description="Clinical topics assigned in turn to generated practices.",
    )
    catalogue: list[PracticeSpec] | None = Field(
        None, description="An explicit catalogue; when given, the generator is not used."
    )

    @model_validator(mode="after")
    def _shares_fit(self) -> PracticeCatalogue:
        if self.effective_share + self.harmful_share > 1.0:
            raise ValueError(
                "effective_share + harmful_share must not exceed 1 "
                f"(got {self.effective_share} + {self.harmful_share})"
            )
        if self.catalogue is not None:
            names = [p.name for p in self.catalogue]
            duplicated = sorted({n for n in names if names.count(n) > 1})
            if duplicated:
                raise ValueError(f"practice names must be unique; repeated: {duplicated}")
            if not names:
                raise ValueError("catalogue must list at least one practice")
        return self


@dataclass(frozen=True)
class Catalogue:
    """Practices as arrays indexed by practice number ``k``.

    Attributes:
        names: Practice names.
        topics: Clinical topic of each practice.
        effect: True mean effect on QoC (negative for a harmful practice).
        context_spread: Standard deviation of the effect across facilities.
        complexity: Chance that an attempt without a how-to story fails.
        in_guidance: National guidance exists at month 0.
    """

    names: tuple[str, ...]
    topics: tuple[str, ...]
    effect: np.ndarray
    context_spread: np.ndarray
    complexity: np.ndarray
    in_guidance: np.ndarray

    @property
    def size(self) -> int:
        """Number of practices."""
        return len(self.names)

    @property
    def ineffective(self) -> np.ndarray:
        """Practices whose true mean effect is zero or below."""
        return self.effect <= 0.0

    @property
    def harmful(self) -> np.ndarray:
        """Practices whose true mean effect is below zero."""
        return self.effect < 0.0


def build_catalogue(spec: PracticeCatalogue, rng: np.random.Generator) -> Catalogue:
    """Return the scenario's catalogue: the listed one, or one generated from ``spec``.

    Generated practices come in three kinds: effective (mean ``effect_effective``),
    harmful (mean ``effect_harmful``) and useless (mean 0), each mean varied by
    ``effect_sd``; complexity is Beta distributed with mean ``complexity_mean``.

    Examples:
                >>> cat = build_catalogue(PracticeCatalogue(count=10), np.random.default_rng(1))
        >>> cat.size, int((cat.effect > 0.5).sum())
        (10, 6)
    """
    if spec.catalogue is not None:
        items = spec.catalogue
        return Catalogue(
            names=tuple(p.name for p in items),
            topics=tuple(p.topic for p in items),
            effect=np.array([p.effect for p in items], dtype=np.float64),
            context_spread=np.array([p.context_spread for p in items], dtype=np.float64),
            complexity=np.array([p.complexity for p in items], dtype=np.float64),
            in_guidance=np.array([p.in_guidance for p in items], dtype=bool),
        )
    count = spec.count
    n_effective = int(round(spec.effective_share * count))
    n_harmful = min(int(round(spec.harmful_share * count)), count - n_effective)
    means = np.zeros(count)
    means[:n_effective] = spec.effect_effective
    means[n_effective : n_effective + n_harmful] = spec.effect_harmful
    varied = means + rng.normal(0.0, spec.effect_sd, count)
    effect = np.where(
        np.arange(count) < n_effective,
        np.maximum(varied, 0.05),
        np.where(np.arange(count) < n_effective + n_harmful, np.minimum(varied, -0.05), 0.0),
    )
    mean = min(max(spec.complexity_mean, 1e-3), 1 - 1e-3)
    complexity = rng.beta(4 * mean, 4 * (1 - mean), count)
    in_guidance = np.zeros(count, dtype=bool)
    n_guided = int(round(spec.guidance_share * n_effective))
    in_guidance[:n_guided] = True
    topics = spec.topics or ["general"]
    return Catalogue(
        names=tuple(f"P{k + 1:02d}" for k in range(count)),
        topics=tuple(topics[k % len(topics)] for k in range(count)),
        effect=effect,
        context_spread=np.full(count, spec.context_spread),
        complexity=complexity,
        in_guidance=in_guidance,
    )
