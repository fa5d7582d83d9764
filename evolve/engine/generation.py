"""One generation of the engine (steps 1-7 of ``evolve/run.py``'s docstring): offspring,
evaluation, lineage penalties, semantic collapse, NSGA-II, hall of fame, probes, stopping.

It mutates the :class:`~evolve.engine.state.EngineState` it was given, keeps the lineage rows
of the generation for the engine to persist, and returns the generation's statistics event.
"""

from __future__ import annotations

import math
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from deap import gp

from evolve.config import RunConfig
from evolve.engine.events import GenerationCompleted, ParetoRow, TopMember
from evolve.engine.individuals import (
    Diversity,
    Individual,
    Scored,
    collapse_semantic,
    diversity,
    make_individual,
    objective_summary,
    with_penalty,
)
from evolve.engine.inputs import MarketInputs
from evolve.engine.offspring import Child, initial_population, make_offspring
from evolve.engine.specs import member_details, validation_sharpe
from evolve.engine.state import EngineState, lineage_score
from evolve.engine.toolbox import rank_and_crowding, select_nsga2
from fitness import Evaluation, Evaluator, lineage_stability_penalty, objective_directions
from populations import HallOfFameEntry, LineageRow
from primitives import LRUCache, parse, series_subtrees, strategy_id, subtree_similarity

RESULT_CACHE_ENTRIES = 50_000  # id -> Scored; only saves re-evaluations, never changes results
TOP_ROWS = 5
STOPPING_MEMBERS = 5  # hall-of-fame members whose validation Sharpe is the stopping score


def _number(values: dict[str, Any], key: str) -> float:
    try:
        return float(values.get(key, math.nan))
    except (TypeError, ValueError):
        return math.nan


def scored_from(evaluation: Evaluation) -> Scored:
    """Return what the engine keeps of a ``fitness.Evaluation``."""
    validation = dict(evaluation.validation or {})
    returns = np.asarray(evaluation.validation_returns, dtype=np.float32)
    return Scored(
        id=str(evaluation.id),
        text=str(evaluation.text),
        n_nodes=int(evaluation.n_nodes),
        objectives=tuple(float(value) for value in evaluation.objectives),
        feasible=bool(evaluation.feasible),
        semantic_hash=str(evaluation.semantic_hash),
        validation_sharpe=_number(validation, "sharpe"),
        validation_trades=_number(validation, "n_trades"),
        daily_sharpe=_number(validation, "daily_sharpe"),
        validation_returns=returns,
    )


class GenerationStep:
    """Runs generations on one :class:`EngineState` (see the module docstring)."""

    def __init__(
        self,
        config: RunConfig,
        inputs: MarketInputs,
        evaluator: Evaluator,
        state: EngineState,
        rng: np.random.Generator,
        *,
        seeds: Sequence[gp.PrimitiveTree] = (),
        started: float | None = None,
    ) -> None:
        self.config = config
        self.gp = config.gp
        self.fitness = config.fitness()
        self.inputs = inputs
        self.evaluator = evaluator
        self.state = state
        self.rng = rng
        self.seeds = list(seeds)
        self.started = time.perf_counter() if started is None else started
        self.directions = tuple(objective_directions(self.fitness))
        names = list(config.objectives.names)
        self.score_index = names.index("robust_score") if "robust_score" in names else 0
        self.lineage_rows: list[LineageRow] = []
        self.last_event: GenerationCompleted | None = None
        self._cache: LRUCache[Scored] = LRUCache(None, max_entries=RESULT_CACHE_ENTRIES)
        self._fresh: dict[str, Evaluation] = {}
        self._trees: dict[str, gp.PrimitiveTree] = {}
        self._multisets: dict[str, Counter[str]] = {}
        self._seconds: list[float] = []
        self._evaluated = 0
        self._evaluation_seconds = 0.0

    # -- evaluation -------------------------------------------------------------------------
    def _evaluate(self, texts: Sequence[str]) -> list[Evaluation]:
        if not texts:
            return []
        begin = time.perf_counter()
        evaluations = list(self.evaluator.evaluate(list(texts)))
        self._evaluation_seconds += time.perf_counter() - begin
        self._evaluated += len(texts)
        for evaluation in evaluations:
            self._fresh[evaluation.id] = evaluation
        return evaluations

    def _score(self, children: Sequence[Child]) -> list[Scored]:
        ids = [strategy_id(child.tree) for child in children]
        known = {key: value for key in ids if (value := self._cache.get(key)) is not None}
        missing = [child.text for child, key in zip(children, ids, strict=True) if key not in known]
        for evaluation in self._evaluate(missing):
            known[evaluation.id] = scored_from(evaluation)
        for key in ids:
            self._cache.put(key, known[key])  # most recently used; the oldest evicted
        return [known[key] for key in ids]

    # -- steps ------------------------------------------------------------------------------
    def _children(self, generation: int) -> tuple[list[Child], int]:
        if generation == 0:
            return initial_population(self.rng, self.gp, self.seeds), 0
        population = self.state.population
        ranking = rank_and_crowding([i.penalized for i in population], self.directions)
        immigrants = 0
        if self.state.diversity_low:
            immigrants = round(self.gp.immigrant_fraction * self.gp.population)
        children = make_offspring(
            population, ranking, self.rng, self.gp, self.gp.population - immigrants, immigrants
        )
        return children, sum(1 for child in children if child.operator == "immigrant")

    def _subtrees(self, id: str) -> Counter[str]:
        # cached per id: one individual is a relative of many (parents of all their children)
        found = self._multisets.get(id)
        if found is None:
            tree = self._trees.get(id)
            if tree is None:
                expression = self.state.lineage.expression(id)
                assert expression is not None, f"lineage index lost the expression of {id}"
                tree = parse(expression)
            found = self._multisets[id] = series_subtrees(tree)
        return found

    def _lineage_penalty(self, scored: Scored, child: Child, generation: int) -> float:
        if not scored.feasible or self.directions[self.score_index] < 0:
            return 0.0
        relatives = [
            (relative, score)
            for relative, score in self.state.lineage.relatives(
                scored.id, child.parent_ids, generation
            )
            if math.isfinite(score)
        ]
        if len(relatives) < self.fitness.penalties.lineage_min_relatives:
            return 0.0
        own = self._subtrees(scored.id)
        similarities = [subtree_similarity(own, self._subtrees(r)) for r, _ in relatives]
        return lineage_stability_penalty(
            scored.objectives[self.score_index],
            [score for _, score in relatives],
            similarities,
            self.fitness.penalties,
        )

    def _offspring(
        self, generation: int, children: Sequence[Child], scored: Sequence[Scored]
    ) -> tuple[list[Individual], int]:
        state = self.state
        new_trials = []
        for child, result in zip(children, scored, strict=True):
            new_trials.append(result.id not in state.seen_ids)
            state.seen_ids.add(result.id)
            self._trees[result.id] = child.tree
            # added before any penalty is computed: siblings are relatives too
            state.lineage.add(
                result.id,
                child.parent_ids,
                generation,
                lineage_score(result.objectives, result.feasible, self.score_index),
                expression=result.text,
            )
        state.n_trials += sum(new_trials)
        offspring, rows = [], []
        for child, result, is_new in zip(children, scored, new_trials, strict=True):
            individual = make_individual(
                result,
                child.tree,
                generation=generation,
                parent_ids=child.parent_ids,
                operator=child.operator,
            )
            penalty = self._lineage_penalty(result, child, generation)
            if penalty:
                individual = with_penalty(individual, self.score_index, penalty)
            offspring.append(individual)
            rows.append(_lineage_row(individual, result, is_new))
        self.lineage_rows = rows
        return offspring, sum(new_trials)

    def _hall_of_fame(self, generation: int, offered: Sequence[Individual]) -> None:
        state = self.state
        state.hall.update(
            HallOfFameEntry(i.id, i.text, i.penalized, i.feasible, i.n_nodes, generation)
            for i in offered
        )
        front = {entry.id: entry for entry in state.hall.front()}
        listed = {entry.id: entry for entry in state.hall.members()}
        keep = {**front, **listed}
        lacking = [key for key in keep if key not in state.members]
        unknown = [keep[key].expression for key in lacking if key not in self._fresh]
        self._evaluate(unknown)  # never-kept details of a re-created id: deterministic re-run
        for key in lacking:
            state.members[key] = member_details(self._fresh[key], keep[key].generation)
        state.members = {key: state.members[key] for key in sorted(keep)}
        unprobed = sorted(key for key in listed if state.members[key]["stability"] is None)
        if self.gp.probe_copies > 0 and unprobed:
            stabilities = self._probe([listed[key].expression for key in unprobed])
            for key, stability in zip(unprobed, stabilities, strict=True):
                state.members[key]["stability"] = stability

    def _probe(self, texts: Sequence[str]) -> list[float]:
        # Two passes over the same generator state: the first draws every member's copies
        # (exactly the draws perturbation_probe makes) so that all of them go through the
        # evaluator in one batch, using every worker; the second replays the draws through
        # perturbation_probe, answered from that batch.
        from fitness import perturbation_probe, perturbed_texts

        start = self.rng.bit_generator.state
        wanted = list(texts)
        for text in texts:
            wanted.extend(perturbed_texts(text, self.rng, self.gp.probe_copies))
        answers = {e.text: e for e in self._evaluate(list(dict.fromkeys(wanted)))}
        self.rng.bit_generator.state = start

        def lookup(batch: Sequence[str]) -> list[Evaluation]:
            missing = [text for text in dict.fromkeys(batch) if text not in answers]
            answers.update((e.text, e) for e in self._evaluate(missing))
            return [answers[text] for text in batch]

        return [
            float(
                perturbation_probe(
                    text,
                    self.inputs.market,
                    self.fitness,
                    self.rng,
                    n_copies=self.gp.probe_copies,
                    evaluate_many=lookup,
                ).stability
            )
            for text in texts
        ]

    def _stopping(self, generation: int) -> float:
        # the hall of fame's validation score: the mean annualised validation Sharpe of its
        # best STOPPING_MEMBERS by robust score (what selection favours, judged on data it never
        # saw); a max over all members would be set once by a lucky early individual
        state = self.state
        members = state.hall.members()[:STOPPING_MEMBERS]
        scores = [validation_sharpe(state.members[m.id]) for m in members]
        finite = [score for score in scores if math.isfinite(score)]
        current = statistics.fmean(finite) if finite else math.nan
        improved = math.isfinite(current) and (
            not math.isfinite(state.best_validation_score) or current > state.best_validation_score
        )
        if improved:
            state.best_validation_score = current
        state.stale_generations = 0 if improved or generation == 0 else state.stale_generations + 1
        return current

    # -- one generation ---------------------------------------------------------------------
    def run(self, generation: int) -> GenerationCompleted:
        """Make, evaluate and select generation ``generation``; return its statistics event."""
        begin = time.perf_counter()
        evaluated_before, seconds_before = self._evaluated, self._evaluation_seconds
        self._fresh = {}
        state = self.state
        children, n_immigrants = self._children(generation)
        scored = self._score(children)
        offspring, n_new = self._offspring(generation, children, scored)
        pool = collapse_semantic([*state.population, *offspring])
        chosen = select_nsga2([i.penalized for i in pool], self.directions, self.gp.population)
        state.population = [pool[index] for index in chosen]
        kept = {id(individual) for individual in pool}
        self._hall_of_fame(generation, [i for i in offspring if id(i) in kept])
        validation_score = self._stopping(generation)
        spread = diversity(state.population)
        state.diversity_low = spread.unique_structures < self.gp.diversity_threshold
        state.n_immigrant_generations += int(state.diversity_low)
        state.generation = generation
        self._trees = {i.id: i.tree for i in state.population}
        self._multisets = {
            i.id: self._multisets[i.id] for i in state.population if i.id in self._multisets
        }
        self._fresh = {}
        self._seconds.append(time.perf_counter() - begin)
        self.last_event = self._event(
            generation,
            n_new,
            n_immigrants,
            self._evaluated - evaluated_before,
            self._evaluation_seconds - seconds_before,
            spread,
            validation_score,
        )
        return self.last_event

    def _event(
        self,
        generation: int,
        n_new: int,
        n_immigrants: int,
        n_evaluated: int,
        evaluation_seconds: float,
        spread: Diversity,
        validation_score: float,
    ) -> GenerationCompleted:
        state = self.state
        best, median = objective_summary(state.population, self.directions)
        ranking = rank_and_crowding([i.penalized for i in state.population], self.directions)
        stats = self.evaluator.stats()
        remaining = self.gp.generations - generation
        members = state.hall.members()
        top = []
        for entry in members[:TOP_ROWS]:
            details = state.members[entry.id]
            top.append(
                TopMember(
                    id=entry.id,
                    pretty=str(details["pretty"]),
                    robust_score=float(entry.objectives[self.score_index]),
                    validation_sharpe=validation_sharpe(details),
                    validation_trades=float(details["validation"].get("n_trades", math.nan)),
                    stability=details["stability"],
                )
            )
        return GenerationCompleted(
            generation=generation,
            n_generations=self.gp.generations,
            elapsed_seconds=time.perf_counter() - self.started,
            generation_seconds=self._seconds[-1],
            eta_seconds=statistics.fmean(self._seconds) * remaining,
            n_evaluated=n_evaluated,
            n_new_trials=n_new,
            n_trials=state.n_trials,
            evaluations_per_second=n_evaluated / evaluation_seconds if evaluation_seconds else 0.0,
            objective_names=list(self.config.objectives.names),
            objective_best=best,
            objective_median=median,
            n_feasible=sum(1 for i in state.population if i.feasible),
            population_size=len(state.population),
            pareto_size=ranking.front_size,
            hall_of_fame_size=len(members),
            top=top,
            memo_hit_rate=_rate(stats.memo_hits, stats.memo_misses),
            semantic_hit_rate=_rate(stats.semantic_hits, stats.semantic_misses),
            workers=int(stats.n_workers),
            unique_structures=spread.unique_structures,
            mean_size=spread.mean_size,
            n_immigrants=n_immigrants,
            validation_score=validation_score,
            best_validation_score=state.best_validation_score,
            stale_generations=state.stale_generations,
            patience=self.gp.patience,
            busy_share=_busy_share(stats),
            pareto=_pareto_rows(
                members, state.members, self.score_index, self.directions[self.score_index]
            ),
        )


def _busy_share(stats: Any) -> float:
    capacity = stats.seconds * stats.n_workers
    return stats.worker_seconds / capacity if capacity > 0 else math.nan


def _pareto_rows(
    members: Sequence[HallOfFameEntry], details: dict[str, Any], score_index: int, direction: int
) -> list[ParetoRow]:
    """Return the live view's front by complexity: per node count the best-scoring member
    (``members`` come best first), kept when it beats every simpler one."""
    best: dict[int, HallOfFameEntry] = {}
    for entry in members:
        if entry.feasible and entry.id in details:
            best.setdefault(entry.n_nodes, entry)
    rows, record = [], -math.inf
    for n_nodes in sorted(best):
        entry = best[n_nodes]
        score = float(entry.objectives[score_index])
        if direction * score <= record:
            continue
        record = direction * score
        member = details[entry.id]
        rows.append(
            ParetoRow(
                n_nodes=n_nodes,
                robust_score=score,
                max_drawdown=float(member["train"].get("max_drawdown", math.nan)),
                validation_sharpe=validation_sharpe(member),
                pretty=str(member["pretty"]),
            )
        )
    return rows


def _rate(hits: int, misses: int) -> float:
    total = hits + misses
    return hits / total if total else math.nan


def _lineage_row(individual: Individual, scored: Scored, is_new_trial: bool) -> LineageRow:
    return LineageRow(
        id=individual.id,
        expression=individual.text,
        generation=individual.generation,
        operator=individual.operator,
        parent_ids=individual.parent_ids,
        objectives=individual.objectives,
        penalized_objectives=individual.penalized,
        feasible=individual.feasible,
        n_nodes=individual.n_nodes,
        is_new_trial=is_new_trial,
        validation_sharpe=scored.daily_sharpe,
        validation_n_bars=len(scored.validation_returns),
        validation_returns=scored.validation_returns,
        semantic_hash=scored.semantic_hash,
    )
