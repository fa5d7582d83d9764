"""One generation of the engine (steps 1-7 of ``evolve/run.py``'s docstring): offspring,
evaluation, lineage penalties, semantic collapse, NSGA-II, hall of fame, probes, stopping.

It mutates the :class:`~evolve.engine.state.EngineState` it was given, keeps the generation's
offspring records for the engine to persist as lineage rows, and returns the generation's
statistics event. Every strategy is evaluated once: its ``fitness.Evaluation`` becomes one
``populations.Member`` per occurrence, which the population, the hall of fame, the lineage and
the specs all hold as is.
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
from evolve.engine.individuals import Diversity, collapse_semantic, diversity, objective_summary
from evolve.engine.inputs import MarketInputs
from evolve.engine.offspring import Child, initial_population, make_offspring
from evolve.engine.state import EngineState, lineage_score
from evolve.engine.toolbox import rank_and_crowding, select_nsga2
from fitness import (
    Evaluation,
    Evaluator,
    evaluation_bytes,
    lineage_stability_penalty,
    objective_directions,
)
from populations import Member
from primitives import LRUCache, id_of_canonical, parse, series_subtrees, subtree_similarity

# id -> Evaluation: only saves re-evaluations, never changes results. Bounded by
# run.result_cache_megabytes (an Evaluation is ~10 KB at 100,000 bars, 1 symbol: 128 MB keep
# about 12 generations of a population of 1,000) and by this many entries
RESULT_CACHE_ENTRIES = 50_000
TOP_ROWS = 5
STOPPING_MEMBERS = 5  # hall-of-fame members whose validation Sharpe is the stopping score


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
        self.offspring: list[Member] = []  # this generation's, in order: its lineage rows
        self.last_event: GenerationCompleted | None = None
        self._cache: LRUCache[Evaluation] = LRUCache(
            config.run.result_cache_megabytes * 2**20,
            size_of=evaluation_bytes,
            max_entries=RESULT_CACHE_ENTRIES,
        )
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
        return evaluations

    def _score(self, children: Sequence[Child]) -> list[Evaluation]:
        # a child's text is to_text(child.tree) (evolve.engine.offspring): canonical already
        ids = [id_of_canonical(child.text) for child in children]
        known = {key: value for key in ids if (value := self._cache.get(key)) is not None}
        missing = [child.text for child, key in zip(children, ids, strict=True) if key not in known]
        for evaluation in self._evaluate(missing):
            known[evaluation.id] = evaluation
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

    def _lineage_penalty(self, scored: Evaluation, child: Child, generation: int) -> float:
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
        self, generation: int, children: Sequence[Child], scored: Sequence[Evaluation]
    ) -> tuple[list[Member], int]:
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
        offspring = []
        for child, result, is_new in zip(children, scored, new_trials, strict=True):
            member = Member.of(
                result,
                generation=generation,
                parent_ids=child.parent_ids,
                operator=child.operator,
                is_new_trial=is_new,
                tree=child.tree,
            )
            penalty = self._lineage_penalty(result, child, generation)
            if penalty:
                member = member.with_penalty(self.score_index, penalty)
            offspring.append(member)
        self.offspring = offspring
        return offspring, sum(new_trials)

    def _hall_of_fame(self, offered: Sequence[Member]) -> None:
        # the hall keeps the offered records themselves: their evaluations make the specs
        hall = self.state.hall
        hall.update(offered)
        unprobed = sorted(
            (member for member in hall.members() if member.stability is None),
            key=lambda member: member.id,
        )
        if self.gp.probe_copies > 0 and unprobed:
            stabilities = self._probe(unprobed)
            for member, stability in zip(unprobed, stabilities, strict=True):
                hall.replace(member.with_stability(stability))

    def _probe(self, members: Sequence[Member]) -> list[float]:
        # Two passes over the same generator state: the first draws every member's copies
        # (exactly the draws perturbation_probe makes) so that all of them go through the
        # evaluator in one batch, using every worker; the second replays the draws through
        # perturbation_probe, answered from that batch. The members' own scores come from
        # their records: a member is never evaluated again.
        from fitness import perturbation_probe, perturbed_texts

        start = self.rng.bit_generator.state
        texts = [member.text for member in members]
        answers = {member.text: member.evaluation for member in members}
        wanted = [
            copy
            for text in texts
            for copy in perturbed_texts(text, self.rng, self.gp.probe_copies)
            if copy not in answers
        ]
        answers.update((e.text, e) for e in self._evaluate(list(dict.fromkeys(wanted))))
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
        scores = [member.validation_sharpe_annual for member in members]
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
        state = self.state
        children, n_immigrants = self._children(generation)
        scored = self._score(children)
        offspring, n_new = self._offspring(generation, children, scored)
        pool = collapse_semantic([*state.population, *offspring])
        chosen = select_nsga2([i.penalized for i in pool], self.directions, self.gp.population)
        state.population = [pool[index] for index in chosen]
        kept = {id(individual) for individual in pool}
        self._hall_of_fame([i for i in offspring if id(i) in kept])
        validation_score = self._stopping(generation)
        spread = diversity(state.population)
        state.diversity_low = spread.unique_structures < self.gp.diversity_threshold
        state.n_immigrant_generations += int(state.diversity_low)
        state.generation = generation
        self._trees = {i.id: i.tree for i in state.population}
        self._multisets = {
            i.id: self._multisets[i.id] for i in state.population if i.id in self._multisets
        }
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
        for member in members[:TOP_ROWS]:
            top.append(
                TopMember(
                    id=member.id,
                    pretty=member.pretty,
                    robust_score=float(member.penalized[self.score_index]),
                    validation_sharpe_annual=member.validation_sharpe_annual,
                    validation_trades=member.validation_trades,
                    stability=member.stability,
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
            pareto=_pareto_rows(members, self.score_index, self.directions[self.score_index]),
        )


def _busy_share(stats: Any) -> float:
    capacity = stats.seconds * stats.n_workers
    return stats.worker_seconds / capacity if capacity > 0 else math.nan


def _pareto_rows(members: Sequence[Member], score_index: int, direction: int) -> list[ParetoRow]:
    """Return the live view's front by complexity: per node count the best-scoring member
    (``members`` come best first), kept when it beats every simpler one."""
    best: dict[int, Member] = {}
    for member in members:
        if member.feasible:
            best.setdefault(member.n_nodes, member)
    rows, record = [], -math.inf
    for n_nodes in sorted(best):
        member = best[n_nodes]
        score = float(member.objectives[score_index])
        if direction * score <= record:
            continue
        record = direction * score
        rows.append(
            ParetoRow(
                n_nodes=n_nodes,
                robust_score=score,
                max_drawdown=float(member.evaluation.train.get("max_drawdown", math.nan)),
                validation_sharpe_annual=member.validation_sharpe_annual,
                pretty=member.pretty,
            )
        )
    return rows


def _rate(hits: int, misses: int) -> float:
    total = hits + misses
    return hits / total if total else math.nan
