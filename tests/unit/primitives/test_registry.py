"""The registry: a complete, typed, documented table of numba kernels."""

from __future__ import annotations

import numpy as np
import pytest

import primitives
from primitives.generate import MIN_HEIGHT, PRIMITIVES, TERMINALS
from primitives.types import CONSTANT_SPECS, SERIES_TYPES, Position
from tests.unit.primitives.markets import make_market


def test_registry_when_listed_then_has_at_least_30_primitives_with_unique_keys() -> None:
    entries = primitives.registry()
    keys = [entry.key for entry in entries]
    assert len([e for e in entries if e.arity > 0]) >= 30
    assert len(keys) == len(set(keys))


def test_registry_when_name_overloaded_then_forms_differ_in_argument_types() -> None:
    forms: dict[str, set[tuple[type, ...]]] = {}
    for entry in primitives.registry():
        forms.setdefault(entry.name, set()).add(entry.arg_types)
    overloaded = {name for name, shapes in forms.items() if len(shapes) > 1}
    assert {"gt", "lt", "crosses_above", "crosses_below"} <= overloaded
    for entry in primitives.registry():
        assert entry.key == entry.name or entry.name in overloaded


@pytest.mark.parametrize("entry", primitives.registry(), ids=lambda e: e.key)
def test_registry_entry_when_inspected_then_has_numba_kernel_doc_and_types(
    entry: primitives.PrimitiveEntry,
) -> None:
    assert hasattr(entry.kernel, "py_func"), "kernel must be a numba dispatcher"
    assert entry.kernel.py_func.__name__.endswith("_nb")
    assert len(entry.doc) > 10 and entry.doc.endswith(".") and "\n" not in entry.doc
    assert entry.ret_type in SERIES_TYPES
    assert all(t in SERIES_TYPES or t in CONSTANT_SPECS for t in entry.arg_types)
    assert entry.signature.startswith(f"{entry.name}(")
    assert entry.pretty_template().count("{") == entry.arity


def test_registry_when_types_checked_then_every_argument_type_can_be_produced() -> None:
    used = {t for entry in primitives.registry() for t in entry.arg_types}
    for type_ in used - set(CONSTANT_SPECS):
        assert PRIMITIVES[type_] or TERMINALS[type_], type_
        assert MIN_HEIGHT[type_] < 10
    assert MIN_HEIGHT[Position] == 1  # long_only(weekend)


def test_registry_when_called_with_arrays_then_returns_series_of_input_length() -> None:
    sma = next(e for e in primitives.registry() if e.key == "sma")
    out = sma([1.0, 2.0, 3.0], 2)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [np.nan, 1.5, 2.5])


def test_registry_call_when_wrong_argument_count_then_expression_error() -> None:
    sma = next(e for e in primitives.registry() if e.key == "sma")
    with pytest.raises(primitives.ExpressionError, match=r"expected 2 arguments"):
        sma(np.ones(3))


def test_registry_call_when_window_out_of_range_then_expression_error_names_range() -> None:
    sma = next(e for e in primitives.registry() if e.key == "sma")
    with pytest.raises(primitives.ExpressionError, match=r"Window constant 0 is out of range"):
        sma(np.ones(3), 0)


def test_registry_call_when_lengths_differ_then_expression_error() -> None:
    gt = next(e for e in primitives.registry() if e.key == "gt_price")
    with pytest.raises(primitives.ExpressionError, match="differ in length"):
        gt(np.ones(3), np.ones(4))


def test_registry_call_when_market_missing_then_expression_error() -> None:
    atr = next(e for e in primitives.registry() if e.key == "atr")
    with pytest.raises(primitives.ExpressionError, match="pass market="):
        atr(14)
    assert atr(14, market=make_market(30)).shape == (30,)


def test_pset_version_when_computed_then_short_hex_and_pset_has_every_name() -> None:
    assert len(primitives.PSET_VERSION) == 12
    int(primitives.PSET_VERSION, 16)
    pset = primitives.build_pset()
    assert {e.key for e in primitives.registry()} <= set(pset.mapping)
    assert pset.ret is Position


def test_warmup_when_called_then_runs_every_primitive() -> None:
    assert primitives.warmup() == len(primitives.registry())
