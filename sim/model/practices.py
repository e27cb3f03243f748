"""The practice catalogue: what can be discovered, tested, shared and lost."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.schema import PracticeCatalogue

__all__ = ["Catalogue", "build_catalogue"]


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
        >>> from sim.model.schema import PracticeCatalogue
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
