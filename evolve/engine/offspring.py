"""Making new trees: generation 0 (seed templates + random trees), offspring by typed
crossover and mutation, and random immigrants.

Every draw comes from the run's ``numpy.random.Generator`` in a fixed order, so the same
generator state and population always give the same children. Children are unique by canonical
text: a text already in the population (or already made this generation) is rejected and the
draw repeated, up to a bounded number of attempts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from deap import gp

from evolve.config import GPConfig
from evolve.engine.toolbox import Ranking, crowded_tournament
from populations import Member
from primitives import ExpressionError, crossover, mutate, parse, random_tree, to_text

ATTEMPTS_PER_CHILD = 20


@dataclass(frozen=True, slots=True)
class Child:
    """A new tree before evaluation, with its origin (a lineage operator name)."""

    text: str
    tree: gp.PrimitiveTree
    parent_ids: tuple[str, ...]
    operator: str


def read_seed_templates(path: Path) -> list[gp.PrimitiveTree]:
    """Return the trees of a seed file: one expression per line; blank and ``#`` lines skipped.

    Raises
    ------
    ExpressionError
        Naming the file and line of an expression that does not parse (exit code 2), or the
        file when it cannot be read.
    """
    path = Path(path)
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ExpressionError(f"{path}: cannot read the seed templates ({e})") from e
    trees = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            trees.append(parse(text))
        except ExpressionError as e:
            raise ExpressionError(f"{path} line {number}: {e}") from e
    return trees


class _Unique:
    """Children collected so far, unique by text and absent from the population."""

    def __init__(self, taken: Sequence[str]) -> None:
        self.taken = set(taken)
        self.children: list[Child] = []

    def offer(self, tree: gp.PrimitiveTree, parent_ids: tuple[str, ...], operator: str) -> bool:
        text = to_text(tree)
        if text in self.taken:
            return False
        self.taken.add(text)
        self.children.append(Child(text, tree, parent_ids, operator))
        return True


def _random(rng: np.random.Generator, config: GPConfig) -> gp.PrimitiveTree:
    return random_tree(
        rng,
        min_depth=config.init_min_depth,
        max_depth=config.init_max_depth,
        limits=config.limits,
    )


def initial_population(
    rng: np.random.Generator, config: GPConfig, seeds: Sequence[gp.PrimitiveTree] = ()
) -> list[Child]:
    """Return generation 0: the seed templates (file order), then random trees, unique by text.

    At most ``config.population`` children; fewer only if random generation keeps repeating
    texts (bounded attempts).
    """
    unique = _Unique(())
    for tree in seeds:
        if len(unique.children) >= config.population:
            break
        unique.offer(tree, (), "seed")
    attempts = ATTEMPTS_PER_CHILD * config.population
    while len(unique.children) < config.population and attempts > 0:
        attempts -= 1
        unique.offer(_random(rng, config), (), "init")
    return unique.children


def _mutation_kind(rng: np.random.Generator, weights: dict[str, float]) -> str:
    kinds = list(weights)
    total = sum(weights.values())
    draw = rng.random() * total
    for kind in kinds:
        draw -= weights[kind]
        if draw < 0:
            return kind
    return kinds[-1]


def make_offspring(
    population: Sequence[Member],
    ranking: Ranking,
    rng: np.random.Generator,
    config: GPConfig,
    n_offspring: int,
    n_immigrants: int = 0,
) -> list[Child]:
    """Return up to ``n_offspring`` children by variation, then ``n_immigrants`` random trees.

    Each draw: with probability ``crossover_probability`` two crowded-tournament winners are
    crossed (both children kept, typed subtree crossover within the size limits), otherwise
    one winner is mutated (kind drawn by ``mutation_weights``). A child whose text is already
    in the population or among the children is rejected; after ``20 * n_offspring`` draws the
    generation makes do with fewer.
    """
    unique = _Unique([individual.text for individual in population])
    limits = config.limits
    attempts = ATTEMPTS_PER_CHILD * max(n_offspring, 1)
    while len(unique.children) < n_offspring and attempts > 0 and population:
        attempts -= 1
        first = population[crowded_tournament(ranking, rng, config.tournament_size)]
        if rng.random() < config.crossover_probability:
            second = population[crowded_tournament(ranking, rng, config.tournament_size)]
            child_a, child_b = crossover(first.tree, second.tree, rng, limits)
            unique.offer(child_a, (first.id, second.id), "crossover")
            if len(unique.children) < n_offspring:
                unique.offer(child_b, (second.id, first.id), "crossover")
        else:
            kind = _mutation_kind(rng, config.mutation_weights)
            child = mutate(first.tree, rng, kind, limits)
            unique.offer(child, (first.id,), f"mutate_{kind}")
    immigrants = len(unique.children) + n_immigrants
    attempts = ATTEMPTS_PER_CHILD * max(n_immigrants, 1)
    while len(unique.children) < immigrants and attempts > 0:
        attempts -= 1
        unique.offer(_random(rng, config), (), "immigrant")
    return unique.children
