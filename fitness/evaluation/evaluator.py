"""The evaluator seam: the ``Evaluator`` protocol, its counters, the worker and the serial path.

``EvaluationWorker`` is the state of one evaluation process (market, config, subtree memo,
semantic cache); ``SerialEvaluator`` runs one in-process and
``fitness.evaluation.batch.RayEvaluator`` runs one per Ray actor, so both compute exactly the
same ``Evaluation`` for a text.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import TracebackType
from typing import NamedTuple, Protocol, Self

import numpy as np

import primitives
from fitness.backtest.simulate import warmup as warmup_simulation
from fitness.evaluation.market import Market
from fitness.evaluation.objectives import FitnessConfig
from fitness.evaluation.semantic import SemanticCache, TargetFingerprint
from fitness.evaluation.strategy import Evaluation, evaluate

DEFAULT_MEMO_BYTES = 256 * 2**20
DEFAULT_SEMANTIC_BYTES = SemanticCache.DEFAULT_MAX_BYTES
DEDICATED_GC_THRESHOLDS = (10_000, 50, 50)  # Python's defaults are (700, 10, 10)


@dataclass
class EvaluatorStats:
    """Cumulative counters of an evaluator (the engine reports rates from them).

    ``n_evaluations`` counts distinct texts evaluated (duplicates within a batch once);
    ``seconds`` is the wall time spent inside ``evaluate``; memo and semantic-cache counters
    are summed over workers (including replaced ones, up to their last finished chunk), and
    so are ``worker_seconds`` (wall time workers spent evaluating chunks) and
    ``worker_cpu_seconds`` (their CPU time: below ``worker_seconds`` when other processes
    share the cores); ``worker_peak_rss_bytes`` is the largest peak resident set size any
    worker process reported (the driver's own for the serial evaluator).
    """

    n_evaluations: int = 0
    memo_hits: int = 0
    memo_misses: int = 0
    semantic_hits: int = 0
    semantic_misses: int = 0
    worker_failures: int = 0
    n_workers: int = 1
    seconds: float = 0.0
    worker_seconds: float = 0.0
    worker_cpu_seconds: float = 0.0
    worker_peak_rss_bytes: int = 0

    @property
    def memo_hit_rate(self) -> float:
        """Return memo hits / lookups (0.0 before any lookup)."""
        lookups = self.memo_hits + self.memo_misses
        return self.memo_hits / lookups if lookups else 0.0

    @property
    def semantic_hit_rate(self) -> float:
        """Return semantic-cache hits / lookups (0.0 before any lookup)."""
        lookups = self.semantic_hits + self.semantic_misses
        return self.semantic_hits / lookups if lookups else 0.0

    @property
    def evaluations_per_second(self) -> float:
        """Return ``n_evaluations / seconds`` (0.0 before any evaluation)."""
        return self.n_evaluations / self.seconds if self.seconds > 0 else 0.0

    @property
    def utilisation(self) -> float:
        """Return ``worker_seconds / (n_workers · seconds)``: the share of time workers computed."""
        return self.worker_seconds / (self.n_workers * self.seconds) if self.seconds > 0 else 0.0

    def add(self, counters: Counters, peak_rss_bytes: int = 0) -> None:
        """Add one chunk's counter deltas; keep the largest worker peak RSS."""
        self.worker_peak_rss_bytes = max(self.worker_peak_rss_bytes, peak_rss_bytes)
        self.memo_hits += counters.memo_hits
        self.memo_misses += counters.memo_misses
        self.semantic_hits += counters.semantic_hits
        self.semantic_misses += counters.semantic_misses
        self.worker_seconds += counters.seconds
        self.worker_cpu_seconds += counters.cpu_seconds


class Evaluator(Protocol):
    """What the engine evaluates populations with (serial or Ray; also a context manager)."""

    def evaluate(self, texts: Sequence[str], *, include_holdout: bool = False) -> list[Evaluation]:
        """Return one ``Evaluation`` per text, in the order given (duplicates evaluated once)."""
        ...

    def stats(self) -> EvaluatorStats:
        """Return a snapshot of the cumulative counters."""
        ...

    def close(self) -> None:
        """Release workers (idempotent)."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class Counters(NamedTuple):
    """Memo and semantic-cache lookups of one chunk, and the wall and CPU time it took."""

    memo_hits: int
    memo_misses: int
    semantic_hits: int
    semantic_misses: int
    seconds: float
    cpu_seconds: float


class ChunkOutcome(NamedTuple):
    """What a worker returns for a chunk: evaluations in order, counters, or an input error,
    and the worker process's peak resident set size so far."""

    evaluations: tuple[Evaluation, ...]
    counters: Counters
    error: primitives.ExpressionError | None
    peak_rss_bytes: int = 0


@contextmanager
def rare_collections() -> Iterator[None]:
    """Run the block with ``DEDICATED_GC_THRESHOLDS``; restore the caller's thresholds after.

    Young collections rescan every object that survived the last ones; with a large live
    heap (a driver's results, lineage and hall of fame) they, and the full collections they
    trigger, cost 5–10 % of an in-process run (measured at 10,000 and 100,000 bars).
    Results never depend on when the collector runs.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(*DEDICATED_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def peak_rss_bytes() -> int:
    """Return this process's peak resident set size in bytes (``getrusage``'s ``ru_maxrss``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB else


class EvaluationWorker:
    """One worker's state: the market, the config, its own subtree memo and semantic cache.

    Used in-process by :class:`SerialEvaluator` and as the Ray actor class of
    :class:`RayEvaluator`; ``memo_bytes`` and ``semantic_bytes`` are the byte budgets of the
    subtree memo and the semantic cache, the two things that grow in a worker. The constructor
    loads every numba kernel (``primitives.warmup``).
    With ``dedicated_process`` (Ray actors) it then freezes the objects that exist (imports,
    the market) out of the cyclic garbage collector and makes young-generation collections
    rarer: full collections otherwise walk Ray's ~200,000 objects again and again, which cost
    a fresh actor 10–25 % of its evaluation time (measured at 100,000 bars). In-process
    (``SerialEvaluator``) the same thresholds hold only while a chunk is evaluated
    (:func:`rare_collections`); the caller's are restored after it.
    """

    def __init__(
        self,
        market: Market,
        config: FitnessConfig,
        memo_bytes: int,
        *,
        semantic_bytes: int = DEFAULT_SEMANTIC_BYTES,
        dedicated_process: bool = False,
    ) -> None:
        primitives.warmup()
        warmup_simulation()
        TargetFingerprint(np.zeros(4), "warm-up").digest(0, 4)
        self.market = market
        self.config = config
        self.memo = primitives.Memo(memo_bytes)
        self.cache = SemanticCache(max_bytes=semantic_bytes)
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        if dedicated_process:
            gc.collect()
            gc.freeze()
            gc.set_threshold(*DEDICATED_GC_THRESHOLDS)

    def ready(self) -> int:
        """Return this worker's process id once its constructor has finished."""
        return os.getpid()

    def pid(self) -> int:
        """Return this worker's process id."""
        return os.getpid()

    def counters(self) -> Counters:
        """Return the cumulative memo and semantic-cache counters and busy times."""
        return Counters(
            self.memo.hits,
            self.memo.misses,
            self.cache.hits,
            self.cache.misses,
            self.seconds,
            self.cpu_seconds,
        )

    def run(self, texts: Sequence[str], include_holdout: bool) -> ChunkOutcome:
        """Evaluate ``texts`` in order; an ``ExpressionError`` is returned, not raised.

        Returned, the input error crosses Ray as itself (not wrapped in a ``RayTaskError``)
        and the driver raises it; any other exception is a bug and propagates.
        """
        before = self.counters()
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            with rare_collections():  # in-process: for this chunk only (a no-op in an actor)
                evaluations = tuple(
                    evaluate(
                        text,
                        self.market,
                        self.config,
                        memo=self.memo,
                        cache=self.cache,
                        include_holdout=include_holdout,
                    )
                    for text in texts
                )
        except primitives.ExpressionError as e:
            return ChunkOutcome((), self._since(before, wall, cpu), e, peak_rss_bytes())
        return ChunkOutcome(evaluations, self._since(before, wall, cpu), None, peak_rss_bytes())

    def _since(self, before: Counters, wall: float, cpu: float) -> Counters:
        self.seconds += time.perf_counter() - wall
        self.cpu_seconds += time.process_time() - cpu
        return _delta(self.counters(), before)


def _delta(after: Counters, before: Counters) -> Counters:
    return Counters._make(a - b for a, b in zip(after, before, strict=True))


def unique_texts(texts: Sequence[str]) -> tuple[list[str], list[int]]:
    """Return the distinct texts in first-seen order and each text's position among them."""
    first: dict[str, int] = {}
    positions = [first.setdefault(text, len(first)) for text in texts]
    return list(first), positions


class SerialEvaluator:
    """Evaluate in this process with one memo and one semantic cache (``--workers 1``).

    Parameters
    ----------
    market, config
        As for ``fitness.evaluate``.
    memo_bytes, semantic_bytes : int
        Budgets of the subtree memo and of the semantic cache.
    """

    def __init__(
        self,
        market: Market,
        config: FitnessConfig,
        *,
        memo_bytes: int = DEFAULT_MEMO_BYTES,
        semantic_bytes: int = DEFAULT_SEMANTIC_BYTES,
    ) -> None:
        self._worker = EvaluationWorker(market, config, memo_bytes, semantic_bytes=semantic_bytes)
        self._stats = EvaluatorStats(n_workers=1)

    def evaluate(self, texts: Sequence[str], *, include_holdout: bool = False) -> list[Evaluation]:
        """Return one ``Evaluation`` per text, in order (duplicates evaluated once).

        Raises
        ------
        ExpressionError
            If a text does not parse or is not a strategy.
        """
        started = time.perf_counter()
        unique, positions = unique_texts(texts)
        outcome = self._worker.run(unique, include_holdout)
        self._stats.add(outcome.counters, outcome.peak_rss_bytes)
        self._stats.seconds += time.perf_counter() - started
        if outcome.error is not None:
            raise outcome.error
        self._stats.n_evaluations += len(unique)
        return [outcome.evaluations[i] for i in positions]

    def stats(self) -> EvaluatorStats:
        """Return a snapshot of the cumulative counters."""
        return replace(self._stats)

    def close(self) -> None:
        """Drop the memo and cache (idempotent)."""
        self._worker.memo.clear()
        self._worker.cache.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
