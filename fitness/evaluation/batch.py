"""Batch evaluation of many strategies: serially in-process, or on long-lived Ray actors.

The only module that imports ``ray``, lazily inside :class:`RayEvaluator`, so ``import fitness``
stays light. Both evaluators run the same :class:`EvaluationWorker` code and return results in
the order of the texts given, so they are bit-identical for any number of workers.

Ray notes: a local instance (``address=None``) is started with ``num_cpus=n_workers``, no
dashboard and Ray's default token authentication (its warning muted); ``NUMBA_CACHE_DIR`` set by
the caller is inherited by local workers. On a cluster (``address="host:port"``, ``"auto"`` or
``"ray://…"``) every node needs this package installed and should set ``NUMBA_CACHE_DIR`` to a
writable local path, or each worker compiles its kernels once (seconds) on start; the token
and every connection failure are handled by ``fitness.evaluation.ray_connect``.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any, Self

from fitness.errors import ParallelConfigError
from fitness.evaluation.evaluator import (
    DEFAULT_MEMO_BYTES,
    DEFAULT_SEMANTIC_BYTES,
    ChunkOutcome,
    Counters,
    EvaluationWorker,
    Evaluator,
    EvaluatorStats,
    SerialEvaluator,
    rare_collections,
    unique_texts,
)
from fitness.evaluation.funding import check_funding_bars, check_stored_funding
from fitness.evaluation.market import Market
from fitness.evaluation.objectives import FitnessConfig
from fitness.evaluation.ray_connect import connection_error, enable_token_auth, probe_address
from fitness.evaluation.strategy import Evaluation

__all__ = [
    "DEFAULT_MEMO_BYTES",
    "DEFAULT_SEMANTIC_BYTES",
    "ChunkOutcome",
    "Counters",
    "EvaluationWorker",
    "Evaluator",
    "EvaluatorStats",
    "RayEvaluator",
    "SerialEvaluator",
    "make_evaluator",
    "rare_collections",
]

PIPELINE_DEPTH = 2  # chunks queued per actor: the next one is ready when the current one ends
MIN_CHUNK = 8
READY_TIMEOUT_SECONDS = 600  # a cold numba cache on a cluster node compiles for a minute or two
CHUNKS_PER_WORKER = 8  # small enough that the last chunks balance, ~1 ms of Ray per chunk

logger = logging.getLogger(__name__)


# Ray warns on every local start that it enabled token authentication (its default, kept)
_RAY_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"


def fill_order(load: Sequence[int], n_queued: int, depth: int) -> list[int]:
    """Return the actor slot of each next queued chunk, least loaded first, up to ``depth`` each.

    Breadth first: every actor gets its first chunk before any gets a second, so a batch of
    fewer than ``depth × n_workers`` chunks still spreads over all workers (depth first, the
    first actor took two chunks while the last had none). Ties go to the lower slot.
    """
    load = list(load)
    order: list[int] = []
    while load and len(order) < n_queued:
        slot = min(range(len(load)), key=lambda i: (load[i], i))
        if load[slot] >= depth:
            break
        order.append(slot)
        load[slot] += 1
    return order


def _init_ray(ray: Any, n_workers: int, address: str | None) -> None:
    quiet = {"logging_level": logging.WARNING, "log_to_driver": False}
    if address:
        probe_address(address)
        enable_token_auth()
        try:
            ray.init(address=address, **quiet)
        except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as e:
            raise connection_error(address, e, ray) from e
        return
    auth_logger = logging.getLogger(_RAY_AUTH_LOGGER)
    level = auth_logger.level
    auth_logger.setLevel(logging.ERROR)
    try:
        ray.init(num_cpus=n_workers, include_dashboard=False, **quiet)
    finally:
        auth_logger.setLevel(level)


class RayEvaluator:
    """Evaluate on ``n_workers`` long-lived Ray actors, each with its own memo and cache.

    The market goes into the object store once; texts travel in chunks (about
    ``CHUNKS_PER_WORKER`` per worker per batch, at least ``MIN_CHUNK`` texts each); a free
    actor gets the next chunk (``ray.wait``) and results are re-ordered by position, so
    completion order never matters. A dead actor is replaced and its chunks are retried.

    Parameters
    ----------
    market, config
        As for ``fitness.evaluate``.
    n_workers : int
        Number of actors (>= 1), one CPU each.
    address : str, optional
        Join this Ray cluster; None starts a local instance with ``num_cpus=n_workers``. When
        Ray is already initialised in this process it is used as is (and not shut down).
    chunk_size : int, optional
        Texts per chunk; default ``max(MIN_CHUNK, ceil(n / (CHUNKS_PER_WORKER · n_workers)))``.
    max_chunk_retries : int
        A chunk whose worker died more than this many times raises ``RuntimeError``.
    on_worker_failure : callable, optional
        Called with a one-line message each time a worker dies (the engine logs an event).
    memo_bytes, semantic_bytes : int
        Budgets of each worker's subtree memo and semantic cache.

    Attributes
    ----------
    startup_seconds : float
        Wall time of ``ray.init`` (when started here), ``ray.put`` and the actors' warm-up.
    init_seconds : float
        The ``import ray`` + ``ray.init`` part of it (about 0 when Ray was running).
    """

    def __init__(
        self,
        market: Market,
        config: FitnessConfig,
        n_workers: int,
        *,
        address: str | None = None,
        chunk_size: int | None = None,
        max_chunk_retries: int = 3,
        on_worker_failure: Callable[[str], None] | None = None,
        memo_bytes: int = DEFAULT_MEMO_BYTES,
        semantic_bytes: int = DEFAULT_SEMANTIC_BYTES,
    ) -> None:
        if n_workers < 1:
            raise ValueError(f"RayEvaluator: n_workers must be >= 1, found {n_workers}")
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f"RayEvaluator: chunk_size must be >= 1, found {chunk_size}")
        started = time.perf_counter()
        import ray
        import ray.exceptions

        self._ray = ray
        self._lost_errors = (
            ray.exceptions.RayActorError,
            ray.exceptions.WorkerCrashedError,
            ray.exceptions.ObjectLostError,
        )
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            _init_ray(ray, n_workers, address)
        self.init_seconds = time.perf_counter() - started
        self._chunk_size = chunk_size
        self._max_chunk_retries = max_chunk_retries
        self._on_worker_failure = on_worker_failure
        self._stats = EvaluatorStats(n_workers=n_workers)
        self._actors: list[Any] = []
        self._closed = False
        cpus = int(ray.cluster_resources().get("CPU", 0))
        if cpus < n_workers:
            self.close()
            raise ParallelConfigError(
                f"RayEvaluator: {n_workers} workers need {n_workers} CPUs but the Ray cluster "
                f"({address or 'local'}) has {cpus}; lower the number of workers"
            )
        self._actor_class = ray.remote(num_cpus=1, max_restarts=0)(EvaluationWorker)
        self._arguments = (ray.put(market), config, memo_bytes)
        self._semantic_bytes = semantic_bytes
        self._actors = [self._new_actor() for _ in range(n_workers)]
        try:
            self._pids = ray.get(
                [actor.ready.remote() for actor in self._actors], timeout=READY_TIMEOUT_SECONDS
            )
        except ray.exceptions.GetTimeoutError as e:
            self.close()
            raise RuntimeError(
                f"RayEvaluator: the {n_workers} workers were not ready after "
                f"{READY_TIMEOUT_SECONDS} s (kernel compilation, or no free CPU in the cluster); "
                "check the cluster's resources and the workers' logs"
            ) from e
        self.startup_seconds = time.perf_counter() - started

    def _new_actor(self) -> Any:
        return self._actor_class.remote(
            *self._arguments, semantic_bytes=self._semantic_bytes, dedicated_process=True
        )

    def worker_pids(self) -> list[int]:
        """Return the process id of each current worker (the tests kill one)."""
        self._pids = list(self._ray.get([actor.pid.remote() for actor in self._actors]))
        return list(self._pids)

    def evaluate(self, texts: Sequence[str], *, include_holdout: bool = False) -> list[Evaluation]:
        """Return one ``Evaluation`` per text, in order (duplicates evaluated once).

        Raises
        ------
        ExpressionError
            If a text does not parse or is not a strategy (raised as the worker raised it).
        RuntimeError
            If a chunk's worker died more than ``max_chunk_retries`` times, or the evaluator
            is closed.
        """
        if self._closed:
            raise RuntimeError("RayEvaluator.evaluate called after close()")
        started = time.perf_counter()
        unique, positions = unique_texts(texts)
        size = self._chunk_size or max(
            MIN_CHUNK, math.ceil(len(unique) / (CHUNKS_PER_WORKER * len(self._actors)))
        )
        chunks = [unique[i : i + size] for i in range(0, len(unique), size)]
        try:
            results = self._run(chunks, include_holdout)
        finally:
            self._stats.seconds += time.perf_counter() - started
        self._stats.n_evaluations += len(unique)
        flat = [evaluation for chunk in results for evaluation in chunk]
        return [flat[i] for i in positions]

    def _run(self, chunks: list[list[str]], include_holdout: bool) -> list[tuple[Evaluation, ...]]:
        ray = self._ray
        results: list[tuple[Evaluation, ...] | None] = [None] * len(chunks)
        failures = [0] * len(chunks)
        queue = deque(range(len(chunks)))
        in_flight: dict[Any, tuple[int, int]] = {}  # object ref -> (chunk, actor slot)
        while queue or in_flight:
            self._dispatch(chunks, queue, in_flight, include_holdout)
            [ref], _ = ray.wait(list(in_flight), num_returns=1)
            chunk, slot = in_flight.pop(ref)
            try:
                outcome = ray.get(ref)
            except self._lost_errors as e:
                lost = [chunk] + [c for r, (c, s) in list(in_flight.items()) if s == slot]
                for r in [r for r, (_, s) in in_flight.items() if s == slot]:
                    del in_flight[r]
                self._replace(slot, e, lost)
                for c in lost:
                    failures[c] += 1
                    if failures[c] > self._max_chunk_retries:
                        raise RuntimeError(
                            f"chunk {c} of {len(chunks)} ({len(chunks[c])} texts, first "
                            f"{chunks[c][0]!r}) lost its worker {failures[c]} times, more than "
                            f"max_chunk_retries = {self._max_chunk_retries}; check the Ray "
                            "workers' logs (memory, crashes)"
                        ) from e
                queue.extendleft(sorted(lost, reverse=True))
                continue
            self._stats.add(outcome.counters, outcome.peak_rss_bytes)
            if outcome.error is not None:
                raise outcome.error
            results[chunk] = outcome.evaluations
        return [chunk for chunk in results if chunk is not None]

    def _dispatch(
        self,
        chunks: list[list[str]],
        queue: deque[int],
        in_flight: dict[Any, tuple[int, int]],
        include_holdout: bool,
    ) -> None:
        load = [0] * len(self._actors)
        for _, slot in in_flight.values():
            load[slot] += 1
        for slot in fill_order(load, len(queue), PIPELINE_DEPTH):
            chunk = queue.popleft()
            run = self._actors[slot].run.remote(chunks[chunk], include_holdout)
            in_flight[run] = (chunk, slot)

    def _replace(self, slot: int, error: BaseException, lost: list[int]) -> None:
        self._stats.worker_failures += 1
        summary = str(error).strip().splitlines()[0] if str(error).strip() else ""
        pid = f" (pid {self._pids[slot]})" if self._pids[slot] else ""
        message = (
            f"evaluation worker {slot}{pid} died ({type(error).__name__}: {summary[:200]}); "
            f"chunk(s) {lost} retried on a new worker"
        )
        logger.warning(message)
        try:
            self._ray.kill(self._actors[slot], no_restart=True)
        except Exception as e:  # already gone: nothing to release
            logger.debug("killing dead worker %s: %s", slot, e)
        self._actors[slot] = self._new_actor()
        self._pids[slot] = 0
        if self._on_worker_failure is not None:
            self._on_worker_failure(message)

    def stats(self) -> EvaluatorStats:
        """Return a snapshot of the cumulative counters."""
        return replace(self._stats)

    def close(self) -> None:
        """Kill the actors; shut Ray down when this evaluator started it (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for actor in self._actors:
            try:
                self._ray.kill(actor, no_restart=True)
            except Exception as e:  # already gone
                logger.debug("killing worker: %s", e)
        self._actors = []
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def make_evaluator(
    market: Market,
    config: FitnessConfig,
    *,
    workers: int,
    ray_address: str | None = None,
    memo_bytes: int = DEFAULT_MEMO_BYTES,
    semantic_bytes: int = DEFAULT_SEMANTIC_BYTES,
    on_worker_failure: Callable[[str], None] | None = None,
) -> Evaluator:
    """Return a ``SerialEvaluator`` for ``workers <= 1`` without an address, else a Ray one.

    ``workers = 0`` ("all cores") is resolved by the caller (``os.cpu_count()``); with a
    ``ray_address`` (``""`` means none) the Ray evaluator joins that cluster with
    ``max(workers, 1)`` actors.

    Raises
    ------
    FundingTimeframeError
        If funding is enabled on bars whose opens miss settlements, by timeframe or by the
        stored funding tables (``fitness.evaluation.funding``): before any worker starts.
    """
    check_funding_bars(market.series, config.costs)
    check_stored_funding(market.series, config.costs)
    if workers <= 1 and not ray_address:
        return SerialEvaluator(market, config, memo_bytes=memo_bytes, semantic_bytes=semantic_bytes)
    return RayEvaluator(
        market,
        config,
        max(workers, 1),
        address=ray_address or None,
        on_worker_failure=on_worker_failure,
        memo_bytes=memo_bytes,
        semantic_bytes=semantic_bytes,
    )
