"""Named random streams derived from the scenario seed.

Every mechanism draws from its own :class:`numpy.random.Generator`, spawned from
``SeedSequence(seed, spawn_key=(replicate, mechanism, *extra))``. Streams depend on
the seed, the replicate and the mechanism's name only, so two scenarios that differ
in one lever still share the random numbers of every other mechanism (common random
numbers), and results do not depend on which process runs a replicate.
"""

from __future__ import annotations

import numpy as np
from numba.typed import List as TypedList

__all__ = ["BLOCKS", "MECHANISMS", "PARALLEL_FROM", "Streams", "block_count"]

#: Stable numbers of the mechanisms that draw random numbers. Never renumber: the
#: regression baseline and every stored result depend on them.
MECHANISMS: dict[str, int] = {
    "world": 0,
    "practices": 1,
    "turnover": 2,
    "innovation": 3,
    "peer_network": 4,
    "learning_sessions": 5,
    "messaging_group": 6,
    "exchange_visits": 7,
    "coaching": 8,
    "guidance": 9,
    "community_of_practice": 10,
    "district_exchange": 11,
    "global_learning": 12,
    "receive": 13,
    "trials": 14,
    "internal": 15,
    "lessons": 16,
    "loops": 17,
    "upward_reporting": 18,
    "posterior": 19,
}


#: Blocks of facility rows that compiled kernels process in parallel in large models,
#: each block with a stream of its own (:meth:`Streams.blocks`), and the number of
#: facilities from which they do. Below it, one block: blocks of a few hundred rows gain
#: nothing from threads. The number of blocks depends on the number of facilities alone,
#: so results do not depend on the number of threads. Never change: stored results
#: depend on them.
BLOCKS = 16
PARALLEL_FROM = 20_000


def block_count(rows: int) -> int:
    """The number of row blocks (and streams) of kernels that draw, for ``rows`` facilities.

    Examples:
        >>> block_count(600), block_count(PARALLEL_FROM), block_count(200_000)
        (1, 16, 16)
    """
    return BLOCKS if rows >= PARALLEL_FROM else 1


class Streams:
    """The random streams of one replicate.

    Args:
        seed: The scenario's root seed.
        replicate: The replicate index.

    Examples:
        >>> a = Streams(7, 0)["turnover"].random(3)
        >>> b = Streams(7, 0)["turnover"].random(3)
        >>> bool((a == b).all())
        True
        >>> bool((Streams(7, 1)["turnover"].random(3) == a).all())
        False
    """

    def __init__(self, seed: int, replicate: int) -> None:
        self.seed = int(seed)
        self.replicate = int(replicate)
        self._cache: dict[tuple[str, int], np.random.Generator] = {}
        self._blocks: dict[tuple[str, int], tuple[np.random.Generator, ...]] = {}
        self._kernel_blocks: dict[tuple[str, int], TypedList] = {}

    def __getitem__(self, mechanism: str) -> np.random.Generator:
        return self.get(mechanism)

    def get(self, mechanism: str, part: int = 0) -> np.random.Generator:
        """Return the stream of ``mechanism`` (and of ``part``, e.g. a country index).

        Raises:
            KeyError: If ``mechanism`` is not one of :data:`MECHANISMS`.
        """
        key = (mechanism, part)
        if key not in self._cache:
            self._cache[key] = self._generator(mechanism, part)
        return self._cache[key]

    def _generator(self, mechanism: str, *key: int) -> np.random.Generator:
        """A new generator of ``SeedSequence(seed, spawn_key=(replicate, mechanism, *key))``."""
        if mechanism not in MECHANISMS:
            raise KeyError(f"unknown random stream {mechanism!r}; known: {sorted(MECHANISMS)}")
        sequence = np.random.SeedSequence(
            self.seed, spawn_key=(self.replicate, MECHANISMS[mechanism], *key)
        )
        return np.random.Generator(np.random.PCG64(sequence))

    def _mechanism_blocks(self, mechanism: str, rows: int) -> tuple[np.random.Generator, ...]:
        """One stream per block of ``rows`` facility rows, for kernels that draw in parallel.

        With ``B = block_count(rows)`` blocks, block ``b`` of ``mechanism`` draws from
        ``SeedSequence(seed, spawn_key=(replicate, mechanism, B, b))``; the tuple is
        made once and kept.

        Examples:
            >>> streams = Streams(7, 0)
            >>> len(streams.blocks("internal", 200_000)) == BLOCKS
            True
            >>> streams.blocks("internal", 600) is streams.blocks("internal", 600)
            True
        """
        count = block_count(rows)
        key = (mechanism, count)
        if key not in self._blocks:
            self._blocks[key] = tuple(self._generator(mechanism, count, b) for b in range(count))
        return self._blocks[key]

    def _mechanism_kernel_blocks(self, mechanism: str, rows: int) -> TypedList:
        """The streams of :meth:`blocks` as a numba typed list, for compiled kernels.

        Handing a kernel a typed list costs about a microsecond; a tuple of generators
        costs about 8 microseconds per generator, as numba inspects each. The list
        holds the same generators: draws in a kernel advance them.

        Examples:
            >>> streams = Streams(7, 0)
            >>> listed = streams.kernel_blocks("loops", 600)
            >>> listed is streams.kernel_blocks("loops", 600), len(listed)
            (True, 1)
        """
        key = (mechanism, block_count(rows))
        if key not in self._kernel_blocks:
            self._kernel_blocks[key] = TypedList(self._mechanism_blocks(mechanism, rows))
        return self._kernel_blocks[key]

    # -- decisions (transitional: mapped onto the mechanism streams above) ------------
    def draw(self, mechanism: str, decision: str) -> np.random.Generator:
        """The stream of ``decision`` of ``mechanism``."""
        return self.get(*_LEGACY[(mechanism, decision)])

    def setup(self, mechanism: str, decision: str) -> np.random.Generator:
        """The stream of a decision taken once, when the model is built."""
        return self.get(*_LEGACY[(mechanism, decision)])

    def keyed_uniforms(self, mechanism: str, decision: str, ids: np.ndarray) -> np.ndarray:
        """One uniform number per id for ``decision``."""
        return self.draw(mechanism, decision).random(ids.size)

    def lesson_uniforms(self, mechanism: str, decision: str, ledger: object) -> np.ndarray:
        """One uniform number per held lesson for ``decision``."""
        return self.keyed_uniforms(mechanism, decision, ledger.uid)  # type: ignore[attr-defined]

    def blocks(self, mechanism: str, decision: str, rows: int) -> tuple:
        """Block streams of a kernel's decision."""
        return self._mechanism_blocks(_BLOCKS[(mechanism, decision)], rows)

    def kernel_blocks(self, mechanism: str, decision: str, rows: int) -> TypedList:
        """Block streams of a kernel's decision, as a typed list."""
        return self._mechanism_kernel_blocks(_BLOCKS[(mechanism, decision)], rows)


_L = ("lessons", 0)
_LEGACY = {
    ("turnover", "departures"): ("turnover", 0),
    ("turnover", "lessons"): ("turnover", 2),
    ("innovation", "tries"): ("innovation", 0),
    ("peer_network", "contacts"): ("peer_network", 0),
    ("learning_sessions", "invitations"): ("learning_sessions", 0),
    ("learning_sessions", "places"): ("learning_sessions", 0),
    ("messaging_group", "membership"): ("messaging_group", 1),
    ("exchange_visits", "pairs"): ("exchange_visits", 0),
    ("coaching", "visits"): ("coaching", 0),
    ("receiving", "story"): ("receive", 0),
    ("passing_on", "story"): _L,
    ("passing_on", "hard"): _L,
    ("upward_reporting", "coached story"): _L,
    ("upward_reporting", "reported story"): _L,
    ("district_exchange", "peers"): ("district_exchange", 0),
    ("district_exchange", "stories"): ("district_exchange", 0),
    ("district_exchange", "failures"): ("district_exchange", 0),
    ("district_exchange", "blame"): _L,
    ("district_exchange", "story"): _L,
    ("district_exchange", "hard"): _L,
    ("district_pools", "blame"): _L,
    ("district_pools", "story"): _L,
    ("district_pools", "hard"): _L,
    ("national_queue", "blame"): _L,
    ("trials", "blame"): _L,
    ("global_learning", "takeover"): ("global_learning", 0),
    ("community_of_practice", "membership"): ("community_of_practice", 1),
}
_BLOCKS = {
    ("turnover", "holders"): "turnover",
    ("receiving", "uniforms"): "receive",
    ("trials", "results"): "trials",
    ("internal_learning", "teaching"): "internal",
    ("single_loop", "review"): "loops",
}
