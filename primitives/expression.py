"""Strategy text (DESIGN §3): canonical form, typed parser, stable id, pretty form, tree shape.

The canonical text is exactly DEAP's ``str(tree)``. ``parse`` reads the text into a syntax
tree, then types it top-down: each constant takes the type of the argument slot it fills
(DEAP's ``from_string`` types numbers by their Python type, which breaks typed trees), and an
overloaded name (``gt``, ``lt``, ``crosses_above``, ``crosses_below``) takes the one form whose
argument types fit. Ill-typed text raises ``PrimitiveTypeError`` naming the column.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from deap import gp

from primitives.errors import ExpressionError, PrimitiveTypeError
from primitives.pset import (
    PSET_VERSION,
    Constant,
    entry_of,
    expression_names,
    nodes_named,
)
from primitives.registry import AND, CALL, OR, ROOT
from primitives.types import CONSTANT_SPECS, ROOT_TYPE, checked_constant, pretty_constant

ID_LENGTH = 16
_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<punct>[(),])"
    r"|(?P<bad>\S))"
)


class _Token(NamedTuple):
    # a NamedTuple, not a frozen dataclass: ~35 tokens a strategy, and a frozen dataclass's
    # __init__ (object.__setattr__ per field) was a fifth of the parse time
    kind: str  # "name", "number", "punct" or "end"
    text: str
    column: int  # 0-based offset in the expression


def _tokens(text: str) -> Iterator[_Token]:
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind is None:  # trailing whitespace
            break
        if kind == "bad":
            raise _error(
                ExpressionError, text, match.start(kind),
                f"unexpected character {match.group(kind)!r}",
            )  # fmt: skip
        yield _Token(kind, match.group(kind), match.start(kind))
    yield _Token("end", "", len(text))


def _error(cls: type[ExpressionError], text: str, column: int, message: str) -> ExpressionError:
    snippet = text if len(text) <= 160 else text[max(0, column - 60) : column + 60]
    caret = column if len(text) <= 160 else min(column, 60)
    return cls(f"expression column {column + 1}: {message}\n    {snippet}\n    {' ' * caret}^")


_Slot = tuple[gp.Primitive | None, int]


def _slot_name(parent: gp.Primitive | None, index: int) -> str:
    if parent is None:
        return "the strategy root"
    item = entry_of(parent)
    signature = item.signature if item is not None else parent.name
    return f"argument {index + 1} of {signature}"


def _constant(token: _Token, type_: type, text: str, slot: _Slot) -> Constant:
    spec = CONSTANT_SPECS[type_]
    if token.kind == "number" and spec.is_integer and token.text.isdigit():
        value = int(token.text)
        if spec.minimum <= value <= spec.maximum:  # fast path: a canonical window/hour
            return Constant(value, type_)
    kind = f"{type_.__name__} constant ({spec.minimum}..{spec.maximum})"
    where = _slot_name(*slot)
    if token.kind != "number":
        found = "end of text" if token.kind == "end" else repr(token.text)
        raise _error(
            PrimitiveTypeError, text, token.column, f"{where} needs a {kind}, found {found}"
        )
    if spec.is_integer and not re.fullmatch(r"[-+]?\d+", token.text):
        raise _error(
            PrimitiveTypeError, text, token.column,
            f"{where} needs an integer {kind}, found {token.text!r}",
        )  # fmt: skip
    number = int(token.text) if spec.is_integer else float(token.text)
    try:
        return Constant(checked_constant(type_, number), type_)
    except ExpressionError as e:
        raise _error(ExpressionError, text, token.column, f"{where}: {e}") from None


@dataclass(slots=True)
class _Call:
    token: _Token  # a name or a number
    args: list[_Call] | None  # None when written without parentheses


def _read(text: str) -> _Call:
    """Return the syntax tree of ``text`` (names, numbers, calls), untyped."""
    tokens = list(_tokens(text))

    def expression(i: int) -> tuple[_Call, int]:
        token = tokens[i]
        if token.kind not in ("name", "number"):
            found = "end of text" if token.kind == "end" else repr(token.text)
            raise _error(
                ExpressionError, text, token.column, f"expected a name or a number, found {found}"
            )
        following = tokens[i + 1]
        if token.kind == "number" or following.kind != "punct" or following.text != "(":
            return _Call(token, None), i + 1
        args: list[_Call] = []
        i += 2
        while True:
            arg, i = expression(i)
            args.append(arg)
            separator = tokens[i]
            if separator.kind == "punct" and separator.text in ",)":
                i += 1
                if separator.text == ")":
                    return _Call(token, args), i
                continue
            found = "end of text" if separator.kind == "end" else repr(separator.text)
            raise _error(
                ExpressionError, text, separator.column,
                f"expected ',' or ')' in the arguments of {token.text!r}, found {found}",
            )  # fmt: skip

    try:
        call, end = expression(0)
    except RecursionError:
        raise ExpressionError("expression is nested too deeply to parse") from None
    if tokens[end].kind != "end":
        raise _error(
            ExpressionError, text, tokens[end].column,
            f"unexpected text {tokens[end].text!r} after the expression",
        )  # fmt: skip
    return call


def _typed(call: _Call, wanted: type, text: str, slot: _Slot, out: list[gp.Primitive]) -> None:
    """Append the typed prefix nodes of ``call`` to ``out``; resolve overloaded names."""
    token = call.token
    if wanted in CONSTANT_SPECS:
        if call.args is not None:
            raise _error(
                PrimitiveTypeError, text, token.column,
                f"{_slot_name(*slot)} needs a constant, found a call of {token.text!r}",
            )  # fmt: skip
        out.append(_constant(token, wanted, text, slot))
        return
    if token.kind != "name":
        raise _error(
            PrimitiveTypeError, text, token.column,
            f"{_slot_name(*slot)} needs a {wanted.__name__} series, found {token.text!r}",
        )  # fmt: skip
    named = nodes_named(token.text)
    fitting = [node for node in named if node.ret is wanted]
    if not fitting:
        raise _unfit(token, wanted, named, text, slot)
    if len(fitting) > 1:
        # overloads: try first the forms whose argument slots can take the arguments' names
        # (a form failing on one only builds an error message); the first form that parses
        # is the same, and when none of those parses the full search below reports the error
        viable = [node for node in fitting if _may_fit(call, node)]
        if viable:
            mark = len(out)
            for node in viable:
                try:
                    _apply(call, node, text, out)
                    return
                except ExpressionError:
                    del out[mark:]
    failures: list[tuple[int, ExpressionError]] = []
    for node in fitting:
        mark = len(out)
        try:
            _apply(call, node, text, out)
            return
        except ExpressionError as e:
            failures.append((len(out) - mark, e))
            del out[mark:]
    # no form fits: report the one that got furthest (the first argument picks the form)
    progress, error = max(failures, key=lambda failure: failure[0])
    if len(fitting) > 1 and progress <= 1:
        forms = ", ".join(entry_signature(node) for node in fitting)
        raise type(error)(f"{error}\n    forms of {token.text!r}: {forms}") from None
    raise error


def _may_fit(call: _Call, node: gp.Primitive | gp.Terminal) -> bool:
    """Return False when ``_apply(call, node)`` must fail on an argument's name or arity.

    Only what is sure is ruled out (a call of the wrong arity; a named argument none of
    whose forms returns the slot's series type, or a number in a series slot); anything
    else may fit and is left to ``_apply``.
    """
    args = call.args
    if args is None or len(args) != node.arity:
        return node.arity == 0 and args is None
    for arg, wanted in zip(args, node.args, strict=True):
        if wanted in CONSTANT_SPECS:
            continue
        if arg.token.kind != "name":
            return False
        if not any(form.ret is wanted for form in nodes_named(arg.token.text)):
            return False
    return True


def _apply(
    call: _Call, node: gp.Primitive | gp.Terminal, text: str, out: list[gp.Primitive]
) -> None:
    token = call.token
    if node.arity == 0:
        if call.args is not None:
            raise _error(ExpressionError, text, token.column, f"{token.text!r} takes no arguments")
        out.append(node)
        return
    if call.args is None or len(call.args) != node.arity:
        found = "none" if call.args is None else str(len(call.args))
        raise _error(
            ExpressionError, text, token.column,
            f"{entry_signature(node)} takes {node.arity} argument(s), found {found}",
        )  # fmt: skip
    out.append(node)
    for index, arg in enumerate(call.args):
        _typed(arg, node.args[index], text, (node, index), out)


def _unfit(
    token: _Token,
    wanted: type,
    named: tuple[gp.Primitive | gp.Terminal, ...],
    text: str,
    slot: _Slot,
) -> ExpressionError:
    if not named:
        close = difflib.get_close_matches(token.text, expression_names(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see primitives.registry()"
        return _error(ExpressionError, text, token.column, f"unknown name {token.text!r}{hint}")
    hint = ""
    if slot == (None, 0):
        hint = "; wrap it in a position root such as long_only(...) or pos_from(...)"
    return _error(
        PrimitiveTypeError, text, token.column,
        f"{_slot_name(*slot)} needs {wanted.__name__}, but {token.text!r} returns "
        f"{named[0].ret.__name__}{hint}",
    )  # fmt: skip


def entry_signature(node: gp.Primitive | gp.Terminal) -> str:
    """Return the typed signature of a node, e.g. ``gt(Oscillator, OscLevel) -> Signal``."""
    item = entry_of(node)
    return item.signature if item is not None else str(node.name)


def parse(text: str, root_type: type | None = ROOT_TYPE) -> gp.PrimitiveTree:
    """Parse a strategy expression into a typed ``deap.gp.PrimitiveTree``.

    Comparisons use one name for every dimension (``gt(close, sma(close, 50))``,
    ``lt(rsi(close, 14), 30.0)``, ``gt(zscore(close, 20), 2.0)``): the form is chosen from
    the argument types, and constants are typed by the slot they fill.

    Parameters
    ----------
    text
        An expression such as ``pos_from(gt(close, sma(close, 50)), lt(rsi(close, 14),
        30.0))``; whitespace is free, constants may be written in any numeric form and are
        canonicalised.
    root_type
        Type the whole expression must have: ``Position`` for strategies; None accepts any
        series expression (e.g. ``rsi(close, 14)``, for inspection and tests).

    Raises
    ------
    PrimitiveTypeError
        If a node or constant does not fit the type its argument slot needs (names the column).
    ExpressionError
        On unknown names, bad syntax or constants outside their legal range.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"expression must be a string, found {type(text).__name__}")
    call = _read(text)
    if root_type is None:
        named = nodes_named(call.token.text) if call.token.kind == "name" else ()
        root_type = named[0].ret if named else ROOT_TYPE
    nodes: list[gp.Primitive] = []
    _typed(call, root_type, text, (None, 0), nodes)
    return gp.PrimitiveTree(nodes)


def to_text(tree: gp.PrimitiveTree) -> str:
    """Return the canonical text of a tree (DEAP's ``str(tree)``, DESIGN §3)."""
    return str(tree)


def canonical_text(text_or_tree: str | gp.PrimitiveTree) -> str:
    """Return the canonical text of an expression given as text (parsed) or as a tree."""
    if isinstance(text_or_tree, str):
        return to_text(parse(text_or_tree))
    return to_text(text_or_tree)


def strategy_id(text_or_tree: str | gp.PrimitiveTree) -> str:
    """Return the stable short id: sha256 of ``PSET_VERSION`` and the canonical text.

    Text is parsed first, so spacing and numeric spelling do not change the id.
    """
    return id_of_canonical(canonical_text(text_or_tree))


def id_of_canonical(text: str) -> str:
    """Return the id of an already canonical text (no parsing)."""
    payload = f"{PSET_VERSION}\n{text}"
    return hashlib.sha256(payload.encode()).hexdigest()[:ID_LENGTH]


def subtree_texts(tree: gp.PrimitiveTree) -> list[str]:
    """Return the canonical text of the subtree rooted at each node, in prefix order."""
    texts: list[str] = [""] * len(tree)
    stack: list[tuple[int, list[str]]] = []
    for i in range(len(tree)):
        stack.append((i, []))
        while len(stack[-1][1]) == tree[stack[-1][0]].arity:
            j, args = stack.pop()
            texts[j] = tree[j].format(*args)
            if not stack:
                break
            stack[-1][1].append(texts[j])
    return texts


_ASSOCIATIVE = (AND, OR)
_NO_WRAP = (CALL, ROOT)


def pretty(tree: gp.PrimitiveTree) -> str:
    """Return a human-readable form, e.g. ``close > SMA(close, 50) and RSI(close, 14) < 30``."""
    results: list[tuple[str, int]] = []
    for node in reversed(tree):
        if isinstance(node, Constant):
            results.append((pretty_constant(node.ret, node.value), CALL))
            continue
        item = entry_of(node)
        assert item is not None
        args = [results.pop() for _ in range(node.arity)]
        parts = []
        for text, precedence in args:
            wrap = item.precedence not in _NO_WRAP and (
                precedence < item.precedence
                or (precedence == item.precedence and item.precedence not in _ASSOCIATIVE)
            )
            parts.append(f"({text})" if wrap else text)
        results.append((item.pretty_template().format(*parts), item.precedence))
    return results[0][0]


def check_tree(tree: gp.PrimitiveTree, root_type: type = ROOT_TYPE) -> None:
    """Verify that every node of ``tree`` returns the type its argument slot needs.

    Raises
    ------
    PrimitiveTypeError
        Naming the first offending node index, or a truncated/overlong node list.
    """
    wanted: list[type] = [root_type]
    for i, node in enumerate(tree):
        if not wanted:
            raise PrimitiveTypeError(f"node {i} ({node.name}) is past the end of the tree")
        expected = wanted.pop()
        if node.ret is not expected:
            raise PrimitiveTypeError(
                f"node {i} ({node.name}) returns {node.ret.__name__}, "
                f"its slot needs {expected.__name__}"
            )
        if isinstance(node, Constant):
            checked_constant(node.ret, node.value, f"node {i}: ")
        elif node.arity:
            wanted.extend(reversed(node.args))
    if wanted:
        raise PrimitiveTypeError(f"tree is truncated: {len(wanted)} argument(s) missing")
