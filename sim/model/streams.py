"""Random numbers per decision, derived from the scenario seed.

Every random decision of the model is named by its mechanism and its own name
(``("coaching", "visits")``, ``("national_queue", "blame")``), and draws from numbers
that depend on the seed, the replicate, that name and, for monthly decisions, the month,
and on nothing else. So two scenarios that differ in one lever share the random numbers
of every decision the lever does not touch (common random numbers), whatever else
draws more or fewer numbers, and results do not depend on which process or thread runs
a replicate. Names enter the seed as a CRC-32 of their text, so no table of numbers has
to be kept in step.

Four kinds of streams:

* :meth:`Streams.setup`: decisions taken once, when the model is built (the world, the
  practices, memberships): ``SeedSequence(seed, spawn_key=(replicate, mechanism,
  decision, *part))``.
* :meth:`Streams.draw`: monthly decisions over facilities, districts, countries or links:
  a generator of ``(replicate, mechanism, decision, month)``, so a decision's numbers in
  a month do not depend on what it drew in earlier months.
* :meth:`Streams.keyed_uniforms`: decisions about lessons or cells, one number per
  identity: a counter-based hash (SplitMix64) of a key of ``(replicate, mechanism,
  decision, month)`` and the identity, so the same lesson draws the same number in two
  scenarios wherever it sits in the ledger.
* :meth:`Streams.blocks`: the compiled kernels' streams, one per block of facility rows
  (``(replicate, mechanism, decision, blocks, block)``), kept for the whole run.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from numba.typed import List as TypedList

if TYPE_CHECKING:
    from sim.model.ledger import LessonLedger

__all__ = ["BLOCKS", "PARALLEL_FROM", "Streams", "block_count", "name_key", "splitmix_uniforms"]


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


def name_key(name: str) -> int:
    """The number a mechanism's or decision's name stands for in a seed (CRC-32 of it).

    Examples:
        >>> name_key("coaching") == name_key("coaching") != name_key("visits")
        True
    """
    return zlib.crc32(name.encode("utf-8"))


@njit(cache=True, nogil=True)
def splitmix_uniforms(key: np.uint64, ids: np.ndarray) -> np.ndarray:
    """One uniform number in [0, 1) per id: SplitMix64's output at step ``id`` from ``key``.

    SplitMix64 (Steele, Lea and Flood 2014; the seeding generator of Java's
    ``SplittableRandom`` and of xoshiro) adds a fixed odd constant to its state at each
    step and mixes the state into the output; evaluated at ``key + id * constant`` it is
    a counter-based generator whose numbers for distinct ids are independent for
    practical purposes. numpy has no vectorised counter-based generator, hence these
    few lines. The top 53 bits make the float.
    """
    out = np.empty(ids.size, dtype=np.float64)
    golden = np.uint64(0x9E3779B97F4A7C15)
    m1 = np.uint64(0xBF58476D1CE4E5B9)
    m2 = np.uint64(0x94D049BB133111EB)
    scale = 1.0 / 9007199254740992.0  # 2**-53
    for i in range(ids.size):
        z = key + np.uint64(ids[i]) * golden
        z = (z ^ (z >> np.uint64(30))) * m1
        z = (z ^ (z >> np.uint64(27))) * m2
        z = z ^ (z >> np.uint64(31))
        out[i] = np.float64(z >> np.uint64(11)) * scale
    return out


class Streams:
    """The random streams of one replicate.

    Args:
        seed: The scenario's root seed.
        replicate: The replicate index.

    Attributes:
        month: The month being simulated (set by the model at the start of each month).

    Examples:
        >>> a = Streams(7, 0).setup("world", "layout", 0).random(3)
        >>> bool((Streams(7, 0).setup("world", "layout", 0).random(3) == a).all())
        True
        >>> bool((Streams(7, 1).setup("world", "layout", 0).random(3) == a).all())
        False
        >>> s = Streams(7, 0)
        >>> s.month = 4
        >>> first = s.draw("coaching", "visits").random(2)
        >>> s.month = 5
        >>> _ = s.draw("coaching", "visits").random(1000)  # another month draws more
        >>> s.month = 4  # the month's numbers do not depend on it
        >>> s2 = Streams(7, 0); s2.month = 4
        >>> bool((s2.draw("coaching", "visits").random(2) == first).all())
        True
    """

    def __init__(self, seed: int, replicate: int) -> None:
        self.seed = int(seed)
        self.replicate = int(replicate)
        self.month = 0
        self._monthly: dict[tuple[str, str], tuple[int, np.random.Generator]] = {}
        self._blocks: dict[tuple[str, str, int], tuple[np.random.Generator, ...]] = {}
        self._kernel_blocks: dict[tuple[str, str, int], TypedList] = {}
        self.used: set[tuple[str, str]] = set()

    def _sequence(self, mechanism: str, decision: str, *key: int) -> np.random.SeedSequence:
        self.used.add((mechanism, decision))
        return np.random.SeedSequence(
            self.seed,
            spawn_key=(self.replicate, name_key(mechanism), name_key(decision), *key),
        )

    def setup(self, mechanism: str, decision: str, *part: int) -> np.random.Generator:
        """A new stream for a decision taken when the model is built (``part``: e.g. a country)."""
        return np.random.Generator(np.random.PCG64(self._sequence(mechanism, decision, *part)))

    def draw(self, mechanism: str, decision: str) -> np.random.Generator:
        """This month's stream of a monthly decision (the same object all month)."""
        kept = self._monthly.get((mechanism, decision))
        if kept is not None and kept[0] == self.month:
            return kept[1]
        sequence = self._sequence(mechanism, decision, self.month)
        generator = np.random.Generator(np.random.PCG64(sequence))
        self._monthly[(mechanism, decision)] = (self.month, generator)
        return generator

    def keyed_uniforms(self, mechanism: str, decision: str, ids: np.ndarray) -> np.ndarray:
        """This month's uniform number of each identity in ``ids`` for the decision.

        The same identity gets the same number whatever else ``ids`` holds.

        Examples:
            >>> s = Streams(3, 0); s.month = 2
            >>> a = s.keyed_uniforms("trials", "blame", np.array([5, 9, 11]))
            >>> b = s.keyed_uniforms("trials", "blame", np.array([11, 5]))
            >>> bool(a[2] == b[0] and a[0] == b[1]), bool(((0 <= a) & (a < 1)).all())
            (True, True)
        """
        if ids.size == 0:
            return np.zeros(0)
        key = self._sequence(mechanism, decision, self.month, 0).generate_state(1, np.uint64)[0]
        return splitmix_uniforms(np.uint64(key), np.ascontiguousarray(ids, dtype=np.int64))

    def lesson_uniforms(self, mechanism: str, decision: str, ledger: LessonLedger) -> np.ndarray:
        """This month's number of each held lesson of ``ledger`` for the decision."""
        return self.keyed_uniforms(mechanism, decision, ledger.uid)

    def blocks(self, mechanism: str, decision: str, rows: int) -> tuple[np.random.Generator, ...]:
        """One stream per block of ``rows`` facility rows, for a kernel that draws in parallel.

        With ``B = block_count(rows)`` blocks, block ``b`` draws from
        ``SeedSequence(seed, spawn_key=(replicate, mechanism, decision, B, b, 0))``; the
        streams are made once and kept for the run.

        Examples:
            >>> streams = Streams(7, 0)
            >>> len(streams.blocks("internal_learning", "teaching", 200_000)) == BLOCKS
            True
            >>> a = streams.blocks("internal_learning", "teaching", 600)
            >>> a is streams.blocks("internal_learning", "teaching", 600)
            True
        """
        count = block_count(rows)
        key = (mechanism, decision, count)
        if key not in self._blocks:
            self._blocks[key] = tuple(
                np.random.Generator(
                    np.random.PCG64(self._sequence(mechanism, decision, count, b, 0))
                )
                for b in range(count)
            )
        return self._blocks[key]

    def kernel_blocks(self, mechanism: str, decision: str, rows: int) -> TypedList:
        """The streams of :meth:`blocks` as a numba typed list, for compiled kernels.

        Handing a kernel a typed list costs about a microsecond; a tuple of generators
        costs about 8 microseconds per generator, as numba inspects each. The list
        holds the same generators: draws in a kernel advance them.

        Examples:
            >>> streams = Streams(7, 0)
            >>> listed = streams.kernel_blocks("single_loop", "review", 600)
            >>> listed is streams.kernel_blocks("single_loop", "review", 600), len(listed)
            (True, 1)
        """
        key = (mechanism, decision, block_count(rows))
        if key not in self._kernel_blocks:
            self._kernel_blocks[key] = TypedList(self.blocks(mechanism, decision, rows))
        return self._kernel_blocks[key]

    def trace(self) -> dict[tuple[str, str], object]:
        """The state of every stream kept so far (to compare what two runs drew).

        Monthly streams show their month and state; block streams the state of each block.
        """
        out: dict[tuple[str, str], object] = {}
        for (mechanism, decision), (month, generator) in self._monthly.items():
            out[(mechanism, decision)] = (month, generator.bit_generator.state["state"])
        for (mechanism, decision, _), generators in self._blocks.items():
            out[(mechanism, decision)] = tuple(g.bit_generator.state["state"] for g in generators)
        return out
