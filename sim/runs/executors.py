"""Where the runs of a sweep execute: here, in local processes, or on a Dask cluster.

An evaluator knows nothing about models or sweeps. It takes a picklable function and a
stream of arguments (chunks of runs) and yields each result as soon as it is ready,
keeping only a bounded number of tasks in flight, so that the caller may decide the next
chunk from what has finished. Because every run's random streams derive from the
experiment seed and its run id (never from the process or the order), the results do
not depend on the evaluator or the number of workers.

* :class:`SerialEvaluator`: one after the other, in this process.
* :class:`ProcessEvaluator`: a local process pool (``forkserver`` where available).
* :class:`DaskEvaluator`: ``dask.distributed``; a ``LocalCluster`` when no scheduler
  address is given, else a running scheduler (how a sweep moves to a cluster).
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from sim.errors import SimError
from sim.model import kernels

__all__ = [
    "EXECUTORS",
    "DaskEvaluator",
    "Evaluator",
    "EvaluatorError",
    "ProcessEvaluator",
    "SerialEvaluator",
    "check_scheduler_address",
    "make_evaluator",
]

log = logging.getLogger(__name__)

_END = object()

#: The ``--executor`` choices.
EXECUTORS = ("serial", "processes", "dask")


class EvaluatorError(SimError):
    """An executor could not be started or reached (not a failure of a run)."""


class Evaluator(ABC):
    """Runs a function over arguments somewhere; a context manager owning its workers.

    Attributes:
        workers: How many tasks may run at once.
    """

    workers: int = 1

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close(cancel=error is not None)

    def start(self) -> None:  # noqa: B027 - a hook: most evaluators need no start-up
        """Start the workers."""

    def close(self, cancel: bool = False) -> None:  # noqa: B027 - a hook
        """Stop the workers; with ``cancel``, drop tasks not yet started."""

    @abstractmethod
    def imap_unordered(
        self, function: Callable[[Any], Any], arguments: Iterable[Any]
    ) -> Iterator[Any]:
        """Yield ``function(argument)`` for each argument, in the order they finish.

        ``arguments`` is read lazily, never more than a few tasks ahead of the results.
        An exception raised by ``function`` is raised here.
        """

    def map(self, function: Callable[[Any], Any], arguments: Iterable[Any]) -> list[Any]:
        """Return ``[function(a) for a in arguments]``, computed by the workers, in order.

        Examples:
            >>> SerialEvaluator().map(abs, [-2, 3])
            [2, 3]
        """
        results = dict(self.imap_unordered(_Numbered(function), enumerate(arguments)))
        return [results[index] for index in range(len(results))]

    @property
    def description(self) -> str:
        """A short description for logs and the manifest."""
        return f"{type(self).__name__}(workers={self.workers})"


@dataclass(frozen=True)
class _Numbered:
    """``function`` applied to ``(index, argument)`` pairs, the index kept (it pickles)."""

    function: Callable[[Any], Any]

    def __call__(self, item: tuple[int, Any]) -> tuple[int, Any]:
        index, argument = item
        return index, self.function(argument)


class SerialEvaluator(Evaluator):
    """Run everything in this process, one after the other."""

    def imap_unordered(
        self, function: Callable[[Any], Any], arguments: Iterable[Any]
    ) -> Iterator[Any]:
        """Yield ``function(argument)`` for each argument, in order."""
        for argument in arguments:
            yield function(argument)


class _FutureEvaluator(Evaluator):
    """Shared bookkeeping of evaluators built on futures: keep the pool busy, not flooded."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1 (got {workers})")
        self.workers = workers

    @property
    def in_flight(self) -> int:
        """Tasks submitted ahead of the results: two per worker keep every worker busy."""
        return 2 * self.workers

    @abstractmethod
    def _submit(self, function: Callable[[Any], Any], argument: Any) -> Any: ...

    @abstractmethod
    def _wait_any(self, futures: set[Any]) -> set[Any]: ...

    def imap_unordered(
        self, function: Callable[[Any], Any], arguments: Iterable[Any]
    ) -> Iterator[Any]:
        """Yield results as tasks finish, topping the pool up after each."""
        source = iter(arguments)
        running: set[Any] = set()
        exhausted = False
        while True:
            while not exhausted and len(running) < self.in_flight:
                try:
                    argument = next(source)
                except StopIteration:
                    exhausted = True
                    break
                running.add(self._submit(function, argument))
            if not running:
                return
            for future in self._wait_any(running):
                running.discard(future)
                yield future.result()


class ProcessEvaluator(_FutureEvaluator):
    """Run tasks in a pool of local worker processes."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the process pool (``forkserver`` where available, else ``spawn``)."""
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=context, initializer=kernels.one_thread
        )

    def close(self, cancel: bool = False) -> None:
        """Shut the pool down; with ``cancel``, without waiting for queued tasks."""
        if self._pool is not None:
            self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
            self._pool = None

    def _submit(self, function: Callable[[Any], Any], argument: Any) -> Future[Any]:
        if self._pool is None:
            raise EvaluatorError("the process pool is not running; use the evaluator in a with")
        return self._pool.submit(function, argument)

    def _wait_any(self, futures: set[Any]) -> set[Any]:
        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        return set(done)


class DaskEvaluator(_FutureEvaluator):
    """Run tasks on ``dask.distributed``: a local cluster, or a running scheduler.

    Args:
        workers: Workers of the local cluster (ignored with ``scheduler``, whose workers
            are counted when it is reached).
        scheduler: Address of a running scheduler (``tcp://host:8786``), or ``None`` to
            start a ``LocalCluster``.
        processes: Local cluster only: workers in processes (the default) or in threads
            of this process (quick to start; for tests).
    """

    def __init__(
        self, workers: int = 2, scheduler: str | None = None, processes: bool = True
    ) -> None:
        super().__init__(workers)
        self.scheduler = scheduler
        self.processes = processes
        self._client: Any = None
        self._cluster: Any = None

    def start(self) -> None:
        """Start a ``LocalCluster`` or connect to the scheduler.

        Raises:
            EvaluatorError: The scheduler cannot be reached.
        """
        from distributed import Client, LocalCluster

        if self.scheduler is None:
            try:
                # processes talk over TCP on loopback only; threads use an in-process
                # transport, which listens on nothing
                where = {"host": "127.0.0.1"} if self.processes else {}
                self._cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=self.processes,
                    dashboard_address=None,  # no dashboard: nothing served
                    **where,
                )
            except (OSError, RuntimeError, TimeoutError) as error:
                raise EvaluatorError(f"cannot start a Dask LocalCluster: {error}") from error
            self._client = Client(self._cluster)
            if self.processes:  # replicates side by side already use the cores
                self._client.run(kernels.one_thread)
        else:
            try:
                self._client = Client(self.scheduler, timeout="10s")
            except (OSError, TimeoutError) as error:
                raise EvaluatorError(
                    f"cannot reach the Dask scheduler at {self.scheduler!r}: {error}; "
                    "check the address (e.g. tcp://host:8786) and that it is running"
                ) from None
            count = len(self._client.scheduler_info().get("workers", {}))
            self.workers = max(1, count)
            log.info("connected to %s with %d workers", self.scheduler, count)

    def close(self, cancel: bool = False) -> None:
        """Close the client and, if one was started, the local cluster."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def _submit(self, function: Callable[[Any], Any], argument: Any) -> Any:
        if self._client is None:
            raise EvaluatorError("the Dask client is not running; use the evaluator in a with")
        return self._client.submit(function, argument, pure=False)

    def _wait_any(self, futures: set[Any]) -> set[Any]:
        from distributed import wait as dask_wait

        done = dask_wait(list(futures), return_when="FIRST_COMPLETED").done
        return set(done)

    def imap_unordered(
        self, function: Callable[[Any], Any], arguments: Iterable[Any]
    ) -> Iterator[Any]:
        """Yield results as tasks finish (``distributed.as_completed``), topping up after each."""
        from distributed import as_completed

        source = iter(arguments)
        finished = as_completed()
        for argument in itertools.islice(source, self.in_flight):
            finished.add(self._submit(function, argument))
        for future in finished:
            yield future.result()
            argument = next(source, _END)
            if argument is not _END:
                finished.add(self._submit(function, argument))

    @property
    def description(self) -> str:
        """Where the tasks run."""
        where = self.scheduler or ("LocalCluster" if self.processes else "LocalCluster(threads)")
        return f"DaskEvaluator({where}, workers={self.workers})"


#: The protocols of a Dask scheduler address.
SCHEDULER_PROTOCOLS = ("tcp", "tls", "ws", "wss", "ucx")


def check_scheduler_address(text: str) -> str:
    """Return ``text`` if it is a Dask scheduler address, ``protocol://host:port``.

    Raises:
        EvaluatorError: It is not (no protocol, an unknown one, no host or a bad port).

    Examples:
        >>> check_scheduler_address("tcp://10.0.0.5:8786")
        'tcp://10.0.0.5:8786'
        >>> check_scheduler_address("http://10.0.0.5:8787")
        Traceback (most recent call last):
        ...
        sim.runs.executors.EvaluatorError: a scheduler address starts with tcp://, tls://, ws://, wss:// or ucx://, like tcp://host:8786 (got 'http://10.0.0.5:8787')
    """  # noqa: E501
    from urllib.parse import urlsplit

    shown = text if len(text) <= 80 else text[:77] + "..."
    expected = ", ".join(f"{p}://" for p in SCHEDULER_PROTOCOLS[:-1])
    wrong = EvaluatorError(
        f"a scheduler address starts with {expected} or {SCHEDULER_PROTOCOLS[-1]}://, "
        f"like tcp://host:8786 (got {shown!r})"
    )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise wrong from None
    if parts.scheme not in SCHEDULER_PROTOCOLS or not parts.hostname:
        raise wrong
    if port is None or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise EvaluatorError(
            f"a scheduler address is protocol://host:port, like tcp://host:8786 (got {shown!r})"
        )
    return text


def make_evaluator(executor: str, workers: int = 2, scheduler: str | None = None) -> Evaluator:
    """Return the evaluator named by ``--executor``.

    Raises:
        EvaluatorError: ``executor`` is unknown, or a scheduler address is given with an
            executor other than ``dask``.

    Examples:
        >>> make_evaluator("processes", workers=2).description
        'ProcessEvaluator(workers=2)'
    """
    if scheduler is not None and executor != "dask":
        raise EvaluatorError("--scheduler needs --executor dask")
    if scheduler is not None:
        check_scheduler_address(scheduler)
    if executor == "serial":
        return SerialEvaluator()
    if executor == "processes":
        return ProcessEvaluator(workers)
    if executor == "dask":
        return DaskEvaluator(workers, scheduler)
    raise EvaluatorError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
