"""Canonical text, typed parsing, clear errors, stable ids and the pretty form."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import primitives
from primitives.pset import Constant
from primitives.types import FundingLevel, OscLevel, Window, ZLevel

REPO = Path(__file__).resolve().parents[3]
SEEDS = [line for line in (REPO / "examples" / "seeds.txt").read_text().splitlines() if line]
RSI_TREND = "long_only(and_(gt(close, sma(close, 50)), lt(rsi(close, 14), 30.0)))"


@pytest.mark.parametrize("text", SEEDS)
def test_parse_when_canonical_text_then_round_trips_exactly(text: str) -> None:
    assert primitives.to_text(primitives.parse(text)) == text


def test_parse_when_spacing_and_number_forms_vary_then_canonicalised() -> None:
    messy = "long_only( lt ( rsi(close,14) , 3e1 ) )"
    assert primitives.to_text(primitives.parse(messy)) == ("long_only(lt(rsi(close, 14), 30.0))")


def test_parse_when_constants_then_typed_by_their_slot() -> None:
    tree = primitives.parse("long_only(lt(rsi(close, 14), 30))")
    constants = [node for node in tree if isinstance(node, Constant)]
    assert [(c.ret, c.value) for c in constants] == [(Window, 14), (OscLevel, 30.0)]
    assert isinstance(constants[0].value, int) and isinstance(constants[1].value, float)


def test_constant_text_when_small_or_negative_zero_then_canonical() -> None:
    assert Constant(0.0001, FundingLevel).format() == "0.0001"
    assert Constant(0.00001, FundingLevel).format() == "0.00001"
    assert Constant(-0.0, ZLevel).format() == "0.0"
    assert Constant(1.234567, ZLevel).format() == "1.23"


@pytest.mark.parametrize(
    ("text", "error", "pattern"),
    [
        ("long_only(gt(close, smaa(close, 5)))", primitives.ExpressionError,
         r"column 21: unknown name 'smaa'; did you mean sma"),
        ("long_only(gt(close, rsi(close, 14)))", primitives.PrimitiveTypeError,
         r"column 21: argument 2 of gt\(Price, Price\) -> Signal needs Price, but 'rsi' "
         r"returns Oscillator"),
        ("long_only(gt(close, 0.3))", primitives.PrimitiveTypeError,
         r"column 21: argument 2 of gt\(Price, Price\) -> Signal needs a Price series, "
         r"found '0.3'"),
        ("long_only(lt(rsi(close, 14), close))", primitives.PrimitiveTypeError,
         r"needs a OscLevel constant \(0.0..100.0\), found 'close'"),
        ("long_only(gt(close, sma(close, 5.5)))", primitives.PrimitiveTypeError,
         r"needs an integer Window constant"),
        ("long_only(lt(rsi(close, 14), 130))", primitives.ExpressionError,
         r"OscLevel constant 130.0 is out of range \(expected 0.0..100.0\)"),
        ("gt(close, open)", primitives.PrimitiveTypeError,
         r"the strategy root needs Position, but 'gt' returns Signal"),
        ("long_only(gt(close, open)", primitives.ExpressionError,
         r"expected ',' or '\)' in the arguments of 'long_only', found end of text"),
        ("long_only(gt(close open))", primitives.ExpressionError,
         r"expected ',' or '\)' in the arguments of 'gt', found 'open'"),
        ("long_only(gt(close, open))) x", primitives.ExpressionError,
         r"unexpected text '\)' after the expression"),
        ("", primitives.ExpressionError, r"column 1: expected a name or a number, found end"),
        ("long_only(gt(close, open)) ;", primitives.ExpressionError,
         r"unexpected character ';'"),
    ],
)  # fmt: skip
def test_parse_when_text_is_bad_then_clear_error_naming_column(
    text: str, error: type[Exception], pattern: str
) -> None:
    with pytest.raises(error, match=pattern) as caught:
        primitives.parse(text)
    assert "^" in str(caught.value)  # a caret under the offending column


def test_check_tree_when_node_list_is_ill_typed_then_primitive_type_error() -> None:
    tree = primitives.parse(RSI_TREND)
    broken = type(tree)([tree[0], *tree[2:]])
    with pytest.raises(primitives.PrimitiveTypeError):
        primitives.check_tree(broken)
    primitives.check_tree(tree)


def test_strategy_id_when_same_strategy_spelt_differently_then_equal() -> None:
    spaced = RSI_TREND.replace(", ", " ,  ").replace("30.0", "30")
    assert primitives.strategy_id(spaced) == primitives.strategy_id(RSI_TREND)
    assert primitives.strategy_id(primitives.parse(RSI_TREND)) == primitives.strategy_id(RSI_TREND)
    assert primitives.strategy_id(RSI_TREND.replace("50", "51")) != primitives.strategy_id(
        RSI_TREND
    )
    assert len(primitives.strategy_id(RSI_TREND)) == 16


def test_strategy_id_when_computed_in_another_process_then_identical() -> None:
    code = (
        "import sys, primitives\n"
        "for line in sys.stdin.read().splitlines():\n"
        "    print(primitives.strategy_id(line))\n"
        "print(primitives.PSET_VERSION)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], input="\n".join(SEEDS), capture_output=True, text=True,
        check=True, cwd=REPO,
    )  # fmt: skip
    expected = [primitives.strategy_id(text) for text in SEEDS] + [primitives.PSET_VERSION]
    assert result.stdout.split() == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (RSI_TREND, "long if close > SMA(close, 50) and RSI(close, 14) < 30"),
        ("long_only(and_(or_(weekend, hour_between(8, 16)), not_(and_(weekend, weekend))))",
         "long if (weekend or hour in [8, 16)) and not (weekend and weekend)"),
        ("short_only(gt(funding, 0.0001))", "short if funding > 0.01%"),
        ("long_only(gt(close, sub_delta(sma(close, 20), scale(spread(high, low), 2.0))))",
         "long if close > SMA(close, 20) - 2 * (high - low)"),
    ],
)  # fmt: skip
def test_pretty_when_printed_then_reads_like_trader_notation(text: str, expected: str) -> None:
    assert primitives.pretty(primitives.parse(text)) == expected


def test_tree_when_pickled_then_round_trips_to_equal_text() -> None:
    tree = primitives.parse(SEEDS[0])
    assert primitives.to_text(pickle.loads(pickle.dumps(tree))) == SEEDS[0]


def test_subtree_texts_when_tree_then_one_per_node_root_first() -> None:
    tree = primitives.parse("long_only(gt(close, sma(close, 50)))")
    assert primitives.subtree_texts(tree) == [
        "long_only(gt(close, sma(close, 50)))",
        "gt(close, sma(close, 50))",
        "close",
        "sma(close, 50)",
        "close",
        "50",
    ]


def test_parse_when_design_example_then_round_trips_verbatim() -> None:
    text = "pos_from(gt(close, sma(close, 50)), lt(rsi(close, 14), 30.0))"  # DESIGN §3

    tree = primitives.parse(text)

    assert primitives.to_text(tree) == text
    assert [node.name for node in tree if hasattr(node, "arity") and node.arity] == [
        "pos_from", "gt_price", "sma", "lt_osc_level", "rsi",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("long_only(gt(close, open))", "gt_price"),
        ("long_only(gt(atr(14), scale(atr(50), 1.5)))", "gt_delta"),
        ("long_only(gt(rsi(close, 14), 70.0))", "gt_osc_level"),
        ("long_only(gt(rsi(close, 14), stoch_k(14)))", "gt_osc"),
        ("long_only(gt(zscore(close, 20), 2.0))", "gt_z_level"),
        ("long_only(gt(roc(close, 10), 0.01))", "gt_ratio_level"),
        ("long_only(gt(roc(close, 10), roc(close, 20)))", "gt_ratio"),
        ("long_only(gt(funding, 0.0001))", "gt_funding_level"),
    ],
)
def test_parse_when_name_overloaded_then_form_follows_argument_types(text: str, key: str) -> None:
    tree = primitives.parse(text)

    assert tree[1].name == key
    assert primitives.to_text(tree) == text
