"""Generation 0, offspring and immigrants: unique texts, valid origins, limits, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evolve.config import GPConfig
from evolve.engine.offspring import initial_population, make_offspring, read_seed_templates
from evolve.engine.toolbox import rank_and_crowding
from populations import OPERATORS, Member
from primitives import ExpressionError, check_tree, id_of_canonical, parse, strategy_id
from tests.stubs import make_member

SEEDS_FILE = Path(__file__).resolve().parents[4] / "examples" / "seeds.txt"
CONFIG = GPConfig(population=30, max_depth=8, max_nodes=40)


def as_population(children: list, rng: np.random.Generator) -> list[Member]:
    return [
        make_member(
            strategy_id(child.tree),
            child.text,
            (float(rng.normal()), float(rng.uniform()), float(len(child.tree))),
            penalized=(float(rng.normal()), float(rng.uniform()), float(len(child.tree))),
            n_nodes=len(child.tree),
            semantic_hash=str(index),
            operator=child.operator,
        )
        for index, child in enumerate(children)
    ]


def test_read_seed_templates_when_examples_file_then_every_line_parsed() -> None:
    trees = read_seed_templates(SEEDS_FILE)

    lines = [line for line in SEEDS_FILE.read_text().splitlines() if line.strip()]
    assert [str(tree) for tree in trees] == lines


def test_read_seed_templates_when_bad_line_then_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "seeds.txt"
    path.write_text(
        "# classic\n\nlong_only(gt(close, sma(close, 20)))\nlong_only(nonsense(close))\n"
    )

    with pytest.raises(ExpressionError, match=r"seeds\.txt line 4: .*nonsense"):
        read_seed_templates(path)


def test_initial_population_when_seeds_then_seeds_first_then_unique_random_trees() -> None:
    seeds = read_seed_templates(SEEDS_FILE)

    children = initial_population(np.random.default_rng(1), CONFIG, seeds)

    assert len(children) == CONFIG.population
    assert [c.operator for c in children[: len(seeds)]] == ["seed"] * len(seeds)
    assert {c.operator for c in children[len(seeds) :]} == {"init"}
    assert len({c.text for c in children}) == len(children)
    for child in children:
        check_tree(child.tree)
        assert child.text == str(child.tree) and child.parent_ids == ()
        assert child.operator == "seed" or CONFIG.limits.admits(child.tree)


def test_initial_population_when_same_seed_then_same_texts() -> None:
    first = initial_population(np.random.default_rng(5), CONFIG)
    second = initial_population(np.random.default_rng(5), CONFIG)

    assert [c.text for c in first] == [c.text for c in second]


def test_make_offspring_when_drawn_then_new_unique_valid_children_with_known_parents() -> None:
    rng = np.random.default_rng(2)
    population = as_population(initial_population(rng, CONFIG), rng)
    ranking = rank_and_crowding([i.penalized for i in population], (1, -1, -1))

    children = make_offspring(population, ranking, rng, CONFIG, 25, n_immigrants=3)

    texts = {i.text for i in population}
    ids = {i.id for i in population}
    assert len(children) == 28
    assert len({c.text for c in children}) == 28 and not texts & {c.text for c in children}
    assert [c.operator for c in children[-3:]] == ["immigrant"] * 3
    for child in children:
        check_tree(child.tree)
        assert CONFIG.limits.admits(child.tree)
        assert child.operator in OPERATORS
        assert set(child.parent_ids) <= ids
        assert len(child.parent_ids) == {"crossover": 2, "immigrant": 0}.get(child.operator, 1)
        assert parse(child.text) == child.tree


def test_make_offspring_when_only_crossover_then_every_child_has_two_parents() -> None:
    rng = np.random.default_rng(4)
    config = CONFIG.model_copy(update={"crossover_probability": 1.0})
    population = as_population(initial_population(rng, config), rng)
    ranking = rank_and_crowding([i.penalized for i in population], (1, -1, -1))

    children = make_offspring(population, ranking, rng, config, 20)

    assert {c.operator for c in children} == {"crossover"}


def test_make_offspring_when_same_generator_state_then_identical_children() -> None:
    rng = np.random.default_rng(9)
    population = as_population(initial_population(rng, CONFIG), rng)
    ranking = rank_and_crowding([i.penalized for i in population], (1, -1, -1))
    state = rng.bit_generator.state
    first = make_offspring(population, ranking, rng, CONFIG, 20, 2)
    rng.bit_generator.state = state

    second = make_offspring(population, ranking, rng, CONFIG, 20, 2)

    assert [(c.text, c.parent_ids, c.operator) for c in first] == [
        (c.text, c.parent_ids, c.operator) for c in second
    ]


def test_children_when_made_then_text_is_canonical_so_its_id_is_the_tree_id() -> None:
    # the engine keys results by id_of_canonical(child.text) without printing the tree again
    rng = np.random.default_rng(5)
    children = initial_population(rng, CONFIG, read_seed_templates(SEEDS_FILE))
    population = as_population(children, rng)
    ranking = rank_and_crowding([m.penalized for m in population], (1, -1, -1))
    offspring = make_offspring(population, ranking, rng, CONFIG, CONFIG.population, 3)

    for child in [*children, *offspring]:
        assert id_of_canonical(child.text) == strategy_id(child.tree)
