"""Compile a strategy tree into an evaluation plan and run it over a market, with a subtree memo.

Python walks the plan (one kernel call per distinct series node, O(nodes)); numba walks the
bars. No ``eval``/``gp.compile``: the plan is a postfix list of steps prepared once per
strategy, each step holding its kernel, where its arguments come from and its memo key (the
canonical text of its subtree).
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
from deap import gp

from primitives.arrays import Float64Array, MarketLike, market_column, readonly
from primitives.cache import LRUCache
from primitives.errors import ExpressionError, MarketInputError, PrimitiveTypeError
from primitives.expression import id_of_canonical, parse, pretty, subtree_texts, to_text
from primitives.pset import Constant
from primitives.registry import PrimitiveEntry, registry
from primitives.types import CONSTANT_SPECS, ROOT_TYPE, Position, Window, series_dtype

DEFAULT_MEMO_BYTES = 256 * 2**20
_ENTRIES: dict[str, PrimitiveEntry] = {item.key: item for item in registry()}
_MARKET, _SLOT, _CONSTANT = 0, 1, 2


class Memo(LRUCache[np.ndarray]):
    """Byte-bounded LRU of node outputs, keyed by (market key, canonical subtree text).

    One memo can serve many strategies and markets (one per worker process). The market key is
    the market's ``content_hash`` attribute when it has one (``fitness.BarSeries`` does);
    otherwise ``id(market)`` plus its length. **Caveat** for such objects: a market mutated in
    place, or a new object that reuses a garbage-collected object's id, would be served stale
    arrays; give the object a ``content_hash`` or ``clear()`` the memo between markets.
    Stored arrays are read-only. Strategies store only nodes that cost more to recompute than
    to read back: windowed/recursive indicators, stateful roots and market-derived terminals
    (``funding``, ``typical``, ``weekend``), not element-wise nodes.

    Admission: an array is stored only when its key is offered for the ``admit_after``-th time
    (default 2, a "doorkeeper" as in TinyLFU). A subtree seen once — most of a random
    population — then costs nothing to remember, while the subtrees a GP population shares
    (parents and offspring, common indicators) are stored on their second use. Storing every
    array costs fresh, page-faulting memory per store and made the memo slower than no memo on
    random trees; ``admit_after=1`` stores on first use. The doorkeeper remembers at most
    ``DOORKEEPER_KEYS`` keys (oldest forgotten first).

    Recency, the byte budget and the ``hits``/``misses``/``bytes`` counters are those of
    :class:`primitives.cache.LRUCache` (sizes are ``ndarray.nbytes``).
    """

    DOORKEEPER_KEYS = 200_000

    def __init__(self, max_bytes: int = DEFAULT_MEMO_BYTES, *, admit_after: int = 2) -> None:
        if max_bytes < 0:
            raise ValueError(f"Memo max_bytes must be >= 0, found {max_bytes}")
        if admit_after < 1:
            raise ValueError(f"Memo admit_after must be >= 1, found {admit_after}")
        super().__init__(max_bytes, size_of=_nbytes)
        self.admit_after = admit_after
        self._offers: OrderedDict[Hashable, int] = OrderedDict()

    @staticmethod
    def market_key(market: MarketLike) -> Hashable:
        """Return the key identifying ``market`` in the memo (see the class caveat)."""
        content_hash = getattr(market, "content_hash", None)
        if isinstance(content_hash, str) and content_hash:
            return content_hash
        return ("id", id(market), len(market.close))

    def put(self, key: Hashable, value: np.ndarray) -> bool:
        """Store a read-only array once admitted (see the class), evicting beyond the budget."""
        if value.nbytes > self.max_bytes or key in self or not self._admit(key):
            return False
        return super().put(key, value)

    def _admit(self, key: Hashable) -> bool:
        if self.admit_after == 1:
            return True
        offers = self._offers.pop(key, 0) + 1
        if offers >= self.admit_after:
            return True
        self._offers[key] = offers
        if len(self._offers) > self.DOORKEEPER_KEYS:
            self._offers.popitem(last=False)
        return False

    def clear(self, *, reset_counters: bool = True) -> None:
        """Drop every stored array, forget offered keys and reset the counters."""
        super().clear(reset_counters=reset_counters)
        self._offers.clear()


def _nbytes(array: np.ndarray) -> int:
    return int(array.nbytes)


@dataclass(slots=True)
class _Step:
    kernel: Callable[..., Any]
    sources: tuple[tuple[int, Any], ...]  # (_MARKET, column) | (_SLOT, index) | (_CONSTANT, v)
    fixed: tuple[float, ...]
    text: str
    column: str  # non-empty: the step is a raw market column, no kernel call
    nan_prefix: int  # Position steps: bars forced to NaN (their structural warm-up)
    memoize: bool  # worth storing: recomputing costs more than reading the stored array
    release: tuple[int, ...]  # slots whose last reader is this step: freed right after it


class CompiledStrategy:
    """A strategy ready to evaluate: plan, canonical text, id and shape metrics.

    Attributes
    ----------
    text, id, pretty
        Canonical text (DESIGN §3), stable id, human-readable form (computed on first use).
    size, depth
        Node count (constants included) and tree height (a lone terminal has depth 0).
    lookback
        Bars of warm-up: the longest root-to-leaf sum of per-node warm-ups (``sma(x, n)``
        adds ``n - 1``, ``lag``/``rsi``/``donchian`` add ``n``, crosses add 1, the EMA family
        counts only its seed ``n - 1``). ``positions`` is NaN on exactly the first
        ``min(lookback, n_bars)`` bars and finite after. ``funding`` adds a data-dependent
        warm-up (NaN until the first settlement, at most one funding interval) not counted.
    settle_bars
        ``lookback`` plus, for infinite-memory kernels (EMA, MACD, Wilder RSI/ATR, Keltner,
        ATR stop), the bars needed for the seed's influence to fall below 1e-9 relative: an
        evaluation started ``settle_bars`` before bar t matches a full-history one at t to
        about 1e-9, except for stateful roots (see ``is_stateful``).
    is_stateful
        True when the tree holds ``latch`` or ``atr_stop``: their state depends on the whole
        history since the series start, so an executor must evaluate over the same history.
    node_texts
        Canonical texts of the distinct series subtrees, evaluation order (memo keys).
    """

    def __init__(self, tree: gp.PrimitiveTree, root_type: type = ROOT_TYPE) -> None:
        if len(tree) == 0:
            raise ExpressionError("cannot compile an empty tree")
        if tree[0].ret is not root_type or isinstance(tree[0], Constant):
            raise PrimitiveTypeError(
                f"a strategy must return {root_type.__name__}, found {tree[0].ret.__name__} "
                f"at the root of {to_text(tree)!r}; wrap it, e.g. long_only(...)"
            )
        self.tree = gp.PrimitiveTree(list(tree))
        texts = subtree_texts(tree)
        self.text = texts[0]
        self.id = id_of_canonical(self.text)
        self.size = len(tree)
        self.depth = tree.height
        self._steps, lookbacks, settles, stateful = _plan(tree, texts)
        self.lookback = lookbacks[-1]
        self.settle_bars = settles[-1]
        self.is_stateful = stateful
        self.node_texts = tuple(step.text for step in self._steps)

    def __repr__(self) -> str:
        return f"CompiledStrategy({self.text!r})"

    @functools.cached_property
    def pretty(self) -> str:
        """Human-readable form, e.g. ``long if close > SMA(close, 50)``."""
        return pretty(self.tree)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_compile_text, (self.text, self.tree[0].ret))

    def evaluate(self, bars: MarketLike, memo: Memo | None = None) -> np.ndarray:
        """Return the root's series (float64, bool for ``Signal`` roots), read-only.

        Same as ``positions`` for strategies; also serves expressions compiled with another
        ``root_type`` (indicator inspection).
        """
        return self.positions(bars, memo)

    def positions(self, bars: MarketLike, memo: Memo | None = None) -> Float64Array:
        """Return the target position of every bar (DESIGN §2), read-only.

        Parameters
        ----------
        bars
            ``fitness.BarSeries`` or any object with its column attributes (``MarketLike``).
        memo
            Optional subtree memo shared across strategies (see ``Memo``).

        Returns
        -------
        ndarray of float64, shape (n_bars,)
            Targets in [-1, 1]; NaN (= flat) on the first ``lookback`` bars. Read-only: copy it
            to modify.

        Raises
        ------
        MarketInputError
            If a market column is missing, not 1-D, or the columns differ in length.
        """
        columns: dict[str, np.ndarray] = {}
        market_key = memo.market_key(bars) if memo is not None else None
        results: list[Any] = [None] * len(self._steps)
        for index, step in enumerate(self._steps):
            if step.column:
                results[index] = _column(bars, step.column, columns)
                continue
            step_memo = memo if step.memoize else None
            if step_memo is not None:
                cached = step_memo.get((market_key, step.text))
                if cached is not None:
                    results[index] = cached
                    _release(results, step.release)
                    continue
            args = [
                _column(bars, value, columns)
                if kind == _MARKET
                else (results[value] if kind == _SLOT else value)
                for kind, value in step.sources
            ]
            out = step.kernel(*args, *step.fixed)
            del args
            if step.nan_prefix:
                out[: step.nan_prefix] = np.nan
            out.flags.writeable = False
            if step_memo is not None:
                step_memo.put((market_key, step.text), out)
            results[index] = out
            # dropping dead intermediates lets the next kernel reuse their (cache-hot) memory
            _release(results, step.release)
        targets: np.ndarray = results[-1]  # the root step's output
        return targets


def _release(results: list[Any], slots: tuple[int, ...]) -> None:
    for slot in slots:
        results[slot] = None


def _column(bars: MarketLike, name: str, columns: dict[str, np.ndarray]) -> np.ndarray:
    array = columns.get(name)
    if array is None:
        array = market_column(bars, name)
        for other_name, other in columns.items():
            if other.shape[0] != array.shape[0]:
                raise MarketInputError(
                    f"market columns differ in length: {name!r} has {array.shape[0]} bars, "
                    f"{other_name!r} has {other.shape[0]}; pass columns of one series"
                )
        columns[name] = array
    return array


class _Planner:
    """Build the postfix step list of a tree, sharing identical (and hidden) sub-expressions."""

    def __init__(self) -> None:
        self.steps: list[_Step] = []
        self.lookbacks: list[int] = []
        self.settles: list[int] = []
        self.slot_of_text: dict[str, int] = {}
        self.stateful = False

    def add_tree(self, tree: gp.PrimitiveTree, texts: list[str]) -> None:
        stack: list[tuple[int, Any, str]] = []  # (_SLOT, step) or (_CONSTANT, value), text
        plans = _entry_plans()
        for i in range(len(tree) - 1, -1, -1):
            node = tree[i]
            if isinstance(node, Constant):
                stack.append((_CONSTANT, node.value, texts[i]))
                continue
            children = [stack.pop() for _ in range(node.arity)]
            stack.append((_SLOT, self.add_node(plans[node.name], children, texts[i]), texts[i]))

    def add_node(self, plan: _EntryPlan, children: list[tuple[int, Any, str]], text: str) -> int:
        slot = self.slot_of_text.get(text)
        if slot is not None:  # identical subtree already planned: evaluate it once
            return slot
        item = plan.item
        hidden: list[int] = []
        for name, sources in item.hidden:
            inner = [children[s] if isinstance(s, int) else self._terminal(s) for s in sources]
            inner_text = f"{name}({', '.join(child[2] for child in inner)})"
            hidden.append(self.add_node(_entry_plans()[name], inner, inner_text))
        constants = [value for kind, value, _ in children if kind == _CONSTANT]
        inputs = [value for kind, value, _ in children if kind == _SLOT] + hidden
        own = item.own_warmup(constants)
        lookbacks, settles = self.lookbacks, self.settles
        lookback = own + max([lookbacks[j] for j in inputs], default=0)
        settle = own + item.own_settle(constants) + max([settles[j] for j in inputs], default=0)
        selected = children if item.kernel_args is None else [children[i] for i in item.kernel_args]
        self.stateful = self.stateful or item.is_stateful
        self.steps.append(
            _Step(
                kernel=item.kernel,
                sources=(
                    *plan.market_sources,
                    *[(_SLOT, j) for j in hidden],
                    *[(kind, value) for kind, value, _ in selected],
                ),
                fixed=item.fixed,
                text=text,
                column=plan.column,
                nan_prefix=lookback if plan.is_position else 0,
                memoize=plan.memoize,
                release=(),
            )
        )
        lookbacks.append(lookback)
        settles.append(settle)
        self.slot_of_text[text] = len(self.steps) - 1
        return len(self.steps) - 1

    def _terminal(self, name: str) -> tuple[int, Any, str]:
        return (_SLOT, self.add_node(_entry_plans()[name], [], name), name)


@dataclass(frozen=True, slots=True)
class _EntryPlan:
    """What planning a node of one registry entry always needs (computed once per entry)."""

    item: PrimitiveEntry
    market_sources: tuple[tuple[int, str], ...]
    column: str
    is_position: bool
    memoize: bool


@functools.cache
def _entry_plans() -> dict[str, _EntryPlan]:
    # keyed by entry key, which is also the DEAP node's name (primitives.pset)
    return {
        key: _EntryPlan(
            item=item,
            market_sources=tuple((_MARKET, column) for column in item.market_inputs),
            column=item.market_inputs[0] if item.is_column else "",
            is_position=item.ret_type is Position,
            memoize=_is_worth_storing(item),
        )
        for key, item in _ENTRIES.items()
    }


def _plan(
    tree: gp.PrimitiveTree, texts: list[str]
) -> tuple[list[_Step], list[int], list[int], bool]:
    planner = _Planner()
    planner.add_tree(tree, texts)
    root = planner.slot_of_text[texts[0]]
    if root != len(planner.steps) - 1:  # pragma: no cover - the root is always planned last
        raise AssertionError("plan does not end at the root")
    return _with_releases(planner.steps), planner.lookbacks, planner.settles, planner.stateful


def _is_worth_storing(item: PrimitiveEntry) -> bool:
    # windowed/recursive indicators, stateful roots and market-derived terminals (the same
    # for every strategy on a market); element-wise nodes are cheaper to recompute
    return Window in item.arg_types or item.is_stateful or (item.arity == 0 and not item.is_column)


def _with_releases(steps: list[_Step]) -> list[_Step]:
    last_reader: dict[int, int] = {}
    for index, step in enumerate(steps):
        for kind, value in step.sources:
            if kind == _SLOT:
                last_reader[value] = index
    releases: dict[int, list[int]] = {}
    for slot, reader in last_reader.items():
        releases.setdefault(reader, []).append(slot)
    for index, slots in releases.items():
        steps[index].release = tuple(sorted(slots))
    return steps


@functools.lru_cache(maxsize=4096)
def _compile_text(text: str, root_type: type = ROOT_TYPE) -> CompiledStrategy:
    return CompiledStrategy(parse(text, root_type), root_type)


def compile(
    text_or_tree: str | gp.PrimitiveTree, *, root_type: type = ROOT_TYPE
) -> CompiledStrategy:
    """Compile an expression (text or tree) into a ``CompiledStrategy``.

    Compiled texts are cached (compiling the same text twice returns the same object).
    ``root_type`` other than ``Position`` compiles an indicator or signal expression for
    inspection (``evaluate`` returns its series).

    Raises
    ------
    ExpressionError
        If the text does not parse or the tree does not return ``root_type``.
    """
    if isinstance(text_or_tree, str):
        return _compile_text(text_or_tree, root_type)
    return CompiledStrategy(text_or_tree, root_type)


def warmup(n_bars: int = 64) -> int:
    """Call every kernel once on a tiny synthetic market so numba's cache is loaded or built.

    Ray workers call this in their initialiser. Return the number of primitives run.
    """
    market = _TinyMarket(n_bars)
    count = 0
    for item in registry():
        args: list[Any] = []
        for type_ in item.arg_types:
            if type_ in CONSTANT_SPECS:
                args.append(CONSTANT_SPECS[type_].grid[1])
            elif series_dtype(type_) is np.bool_:
                args.append(np.arange(n_bars) % 3 == 0)
            else:
                args.append(market.close.copy())
        item(*args, market=market)
        count += 1
    return count


class _TinyMarket:
    def __init__(self, n_bars: int) -> None:
        steps = np.sin(np.arange(n_bars) * 0.7) * 0.01
        close = 100.0 * np.exp(np.cumsum(steps))
        self.timestamp = readonly(np.arange(n_bars, dtype=np.int64) * 3_600_000)
        self.open = readonly(np.concatenate(([close[0]], close[:-1])))
        self.high = readonly(np.maximum(self.open, close) * 1.001)
        self.low = readonly(np.minimum(self.open, close) * 0.999)
        self.close = readonly(close)
        self.volume = readonly(np.full(n_bars, 10.0))
        self.funding_rate = readonly(np.where(np.arange(n_bars) % 8 == 0, 1e-4, 0.0))
