"""The model: parameters, state, mechanisms, organisational agents and the monthly step.

``LearningHealthSystem`` is imported lazily, so that reading the parameter schema does
not load the compiled kernels.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = ["LearningHealthSystem"]


def __getattr__(name: str) -> Any:
    if name == "LearningHealthSystem":
        from sim.model.model import LearningHealthSystem

        return LearningHealthSystem
    raise AttributeError(f"module 'sim.model' has no attribute {name!r}")
