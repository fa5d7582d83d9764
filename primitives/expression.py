"""Strategy text (DESIGN §3): canonical form, typed parser, stable id, pretty form, tree shape.

The canonical text is exactly DEAP's ``str(tree)``. ``parse`` is a small iterative
tokenizer/parser that types each constant from the argument slot it fills (DEAP's
``from_string`` types numbers by their Python type, which breaks typed trees) and reports
ill-typed text with ``PrimitiveTypeError`` naming the column.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from deap import gp

from primitives.errors import ExpressionError, PrimitiveTypeError
from primitives.pset import PSET, PSET_VERSION, Constant, entry_of
from primitives.registry import AND, CALL, OR, ROOT
from primitives.types import CONSTANT_SPECS, ROOT_TYPE, checked_constant, pretty_constant

ID_LENGTH = 16
_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<punct>[(),])"
    r"|(?P<bad>\S))"
)


@dataclass(frozen=True, slots=True)
class _Token:
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
    slot = _slot_name(*slot)
    if token.kind != "number":
        found = "end of text" if token.kind == "end" else repr(token.text)
        raise _error(
            PrimitiveTypeError, text, token.column, f"{slot} needs a {kind}, found {found}"
        )
    if spec.is_integer and not re.fullmatch(r"[-+]?\d+", token.text):
        raise _error(
            PrimitiveTypeError, text, token.column,
            f"{slot} needs an integer {kind}, found {token.text!r}",
        )  # fmt: skip
    value = int(token.text) if spec.is_integer else float(token.text)
    try:
        return Constant(checked_constant(type_, value), type_)
    except ExpressionError as e:
        raise _error(ExpressionError, text, token.column, f"{slot}: {e}") from None


def _named(token: _Token, type_: type, text: str, slot: _Slot) -> gp.Primitive | gp.Terminal:
    node = PSET.mapping.get(token.text) if token.kind == "name" else None
    if node is not None and node.ret is type_:
        return node  # type: ignore[no-any-return]
    slot = _slot_name(*slot)
    if token.kind != "name":
        found = "end of text" if token.kind == "end" else repr(token.text)
        raise _error(
            PrimitiveTypeError, text, token.column,
            f"{slot} needs a {type_.__name__} series, found {found}",
        )  # fmt: skip
    if node is None:
        close = difflib.get_close_matches(token.text, list(PSET.mapping), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see primitives.registry()"
        raise _error(ExpressionError, text, token.column, f"unknown name {token.text!r}{hint}")
    hint = ""
    if slot == _slot_name(None, 0):
        hint = "; wrap it in a position root such as long_only(...) or long_short(...)"
    raise _error(
        PrimitiveTypeError, text, token.column,
        f"{slot} needs {type_.__name__}, but {token.text!r} returns {node.ret.__name__}{hint}",
    )  # fmt: skip


def _expect(tokens: Iterator[_Token], punct: str, text: str, context: str) -> None:
    token = next(tokens)
    if token.kind != "punct" or token.text != punct:
        found = "end of text" if token.kind == "end" else repr(token.text)
        raise _error(
            ExpressionError, text, token.column, f"expected {punct!r} {context}, found {found}"
        )


def parse(text: str, root_type: type | None = ROOT_TYPE) -> gp.PrimitiveTree:
    """Parse a strategy expression into a typed ``deap.gp.PrimitiveTree``.

    Parameters
    ----------
    text
        An expression such as ``long_only(above(close, sma(close, 50)))``; whitespace is free,
        constants may be written in any numeric form and are canonicalised.
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
    tokens = _tokens(text)
    nodes: list[gp.Primitive | gp.Terminal] = []
    frames: list[list[object]] = []  # [primitive, index of the argument being read]
    if root_type is None:
        first = _TOKEN.match(text)
        node = PSET.mapping.get(first.group("name")) if first and first.group("name") else None
        root_type = node.ret if node is not None else ROOT_TYPE
    wanted, parent, index = root_type, None, 0
    while True:
        token = next(tokens)
        slot = (parent, index)
        if wanted in CONSTANT_SPECS:
            nodes.append(_constant(token, wanted, text, slot))
        else:
            node = _named(token, wanted, text, slot)
            nodes.append(node)
            if node.arity > 0:
                _expect(tokens, "(", text, f"after {node.name!r}")
                frames.append([node, 0])
                wanted, parent, index = node.args[0], node, 0
                continue
        # close every finished call, then move to the next argument slot
        while frames:
            frame = frames[-1]
            frame[1] += 1  # type: ignore[operator]
            primitive: gp.Primitive = frame[0]  # type: ignore[assignment]
            if frame[1] < primitive.arity:  # type: ignore[operator]
                _expect(tokens, ",", text, f"between the arguments of {primitive.name!r}")
                wanted, parent, index = primitive.args[frame[1]], primitive, frame[1]  # type: ignore[index]
                break
            _expect(tokens, ")", text, f"closing {primitive.name!r}")
            frames.pop()
        if not frames:
            break
    token = next(tokens)
    if token.kind != "end":
        raise _error(
            ExpressionError,
            text,
            token.column,
            f"unexpected text {token.text!r} after the expression",
        )
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
