"""One generation's bookkeeping: the hall of fame and its specs come from the records the
population was scored with — no strategy is evaluated or compiled a second time for them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import fitness
import primitives
from evolve.engine.loop import new_run
from fitness import Evaluation
from populations import read_hall_of_fame
from tests.unit.evolve.engine.test_loop import small_config


class CountingEvaluator:
    """The real evaluator, counting every text it is asked to evaluate."""

    def __init__(self, inner: Any, texts: Counter[str]) -> None:
        self.inner = inner
        self.texts = texts

    def evaluate(self, texts: Sequence[str], **options: Any) -> list[Evaluation]:
        self.texts.update(texts)
        return self.inner.evaluate(texts, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_hall_of_fame_when_run_then_members_evaluated_and_compiled_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluated: Counter[str] = Counter()
    compiled: Counter[str] = Counter()
    make_evaluator, compile_strategy = fitness.make_evaluator, primitives.compile

    def counting_evaluator(*args: Any, **kwargs: Any) -> CountingEvaluator:
        return CountingEvaluator(make_evaluator(*args, **kwargs), evaluated)

    def counting_compile(tree_or_text: Any, *args: Any, **kwargs: Any) -> Any:
        strategy = compile_strategy(tree_or_text, *args, **kwargs)
        compiled[strategy.text] += 1
        return strategy

    monkeypatch.setattr(fitness, "make_evaluator", counting_evaluator)
    monkeypatch.setattr(primitives, "compile", counting_compile)

    result = new_run(small_config(gp={"generations": 4}), run_dir=tmp_path / "r")

    _, specs = read_hall_of_fame(result.run_dir.hall_of_fame_path)
    assert specs and all(spec.stability is not None for spec in specs)  # probed, too
    assert {spec.expression: evaluated[spec.expression] for spec in specs} == {
        spec.expression: 1 for spec in specs
    }
    assert {spec.expression: compiled[spec.expression] for spec in specs} == {
        spec.expression: 1 for spec in specs
    }


def test_result_cache_when_budget_small_then_bytes_stay_within_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evolve.engine import generation

    steps: list[generation.GenerationStep] = []
    original = generation.GenerationStep.__init__

    def recording(self: generation.GenerationStep, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        steps.append(self)

    monkeypatch.setattr(generation.GenerationStep, "__init__", recording)
    budget = 2**20  # 1 MiB: about 100 evaluations of this market

    new_run(small_config(run={"result_cache_megabytes": 1}), run_dir=tmp_path / "r")

    (step,) = steps
    cache = step._cache
    assert 0 < cache.bytes <= budget and len(cache) < 24 * 4  # evicted: 4 generations of 24
    assert cache.bytes == sum(fitness.evaluation_bytes(cache.get(key)) for key in list(cache))
