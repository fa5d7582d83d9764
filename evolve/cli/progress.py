"""The live progress view: a Rich ``Live`` panel on a terminal, one plain line per event
otherwise (CI, pipes). An event sink only: it renders what the events carry, nothing more.
"""

from __future__ import annotations

import math
import sys
from typing import IO, Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from evolve.engine.events import (
    CheckpointWritten,
    EarlyStopped,
    Event,
    GenerationCompleted,
    Resumed,
    RunFailed,
    RunFinished,
    RunInterrupted,
    RunStarted,
    WorkerFailed,
    WorkersStarting,
)
from evolve.engine.summary import (
    RunSummary,
    format_number,
    format_seconds,
    format_stability,
    summary_facts,
    summary_headers,
    summary_rows,
)

SHORT_NAMES = {"robust_score": "score", "worst_drawdown": "drawdown", "complexity": "nodes"}


def _percent(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{100 * value:.0f}%"


def generation_line(event: GenerationCompleted) -> str:
    """Return the one-line plain-text form of a generation event."""
    best = " ".join(
        f"{SHORT_NAMES.get(name, name)}={format_number(value)}"
        for name, value in zip(event.objective_names, event.objective_best, strict=True)
    )
    return (
        f"gen {event.generation}/{event.n_generations}  "
        f"elapsed {format_seconds(event.elapsed_seconds)}  eta {format_seconds(event.eta_seconds)}"
        f"  best {best}  feasible {event.n_feasible}/{event.population_size}"
        f"  pareto {event.pareto_size}  hof {event.hall_of_fame_size}"
        f"  val-score {format_number(event.validation_score)}"
        f" (best {format_number(event.best_validation_score)}, stale {_stale(event)})"
        f"  trials {event.n_trials:,}  evals/s {format_number(event.evaluations_per_second)}"
        f"  memo {_percent(event.memo_hit_rate)}  semantic {_percent(event.semantic_hit_rate)}"
        f"  workers {_workers(event)}  unique {_percent(event.unique_structures)}"
        f"  size {event.mean_size:.1f}"
        + (f"  immigrants {event.n_immigrants}" if event.n_immigrants else "")
    )


class ProgressView:
    """Render run events to a console: live panel when ``live`` else plain lines.

    Parameters
    ----------
    console : rich.console.Console
        Where to draw.
    live : bool
        Redraw one panel in place (a terminal) instead of printing lines.
    """

    def __init__(self, console: Console, *, live: bool) -> None:
        self.console = console
        self.live_mode = live
        self._live: Live | None = None
        self._header: dict[str, Any] = {}

    def emit(self, event: Event) -> None:
        """Render one event."""
        if isinstance(event, RunStarted | Resumed):
            self._start(event)
        elif isinstance(event, WorkersStarting):
            self._workers_starting(event)
        elif isinstance(event, GenerationCompleted):
            self._generation(event)
        elif isinstance(event, WorkerFailed):
            self._print(f"[yellow]worker failed, chunk resubmitted:[/] {event.message}")
        elif isinstance(event, CheckpointWritten):
            pass  # the generation line that follows says it all
        elif isinstance(event, EarlyStopped):
            self._print(
                f"early stop after generation {event.generation}: validation score "
                f"{format_number(event.best_validation_score)} not improved for "
                f"{event.patience} generations"
            )
        elif isinstance(event, RunFinished | RunInterrupted | RunFailed):
            self.close()

    def close(self) -> None:
        """Stop the live panel (idempotent)."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def note(self, text: str) -> None:
        """Print a line of plain text above the panel (safe from another thread: Rich locks)."""
        self._print(escape(text))

    def _print(self, markup: str) -> None:
        if self._live is not None:
            self._live.console.print(markup)
        else:
            self.console.print(markup, highlight=False, soft_wrap=True)

    def _start(self, event: RunStarted | Resumed) -> None:
        self._header = {
            "run": event.run_id,
            "data": ", ".join(event.datasets),
            "timeframe": event.timeframe,
            "seed": event.seed,
        }
        if isinstance(event, Resumed):
            self._print(
                f"resuming run [bold]{event.run_id}[/] from generation {event.from_generation} "
                f"({event.run_dir})"
            )
            if event.extended:
                patience = event.patience or "off"
                self._print(
                    f"extending the {event.from_status} run to {event.n_generations} "
                    f"generations, patience {patience} (recorded in run.json extensions)"
                )
        else:
            self._print(
                f"run [bold]{event.run_id}[/] → {event.run_dir}\n"
                f"data {self._header['data']} ({event.timeframe}, {event.n_bars:,} bars), "
                f"seed {event.seed}, population {event.population}, "
                f"{event.n_generations} generations, {event.workers} worker(s)"
            )

    def _workers_starting(self, event: WorkersStarting) -> None:
        if event.ray:
            self._print(f"starting Ray ({event.workers} workers)…")
        if self.live_mode and self._live is None:
            waiting = Spinner("dots", text=Text("waiting for the first generation…", style="dim"))
            self._live = Live(waiting, console=self.console, refresh_per_second=4)
            self._live.start()

    def _generation(self, event: GenerationCompleted) -> None:
        if not self.live_mode:
            self.console.print(generation_line(event), highlight=False, soft_wrap=True)
            return
        panel = self._panel(event)
        if self._live is None:
            self._live = Live(panel, console=self.console, refresh_per_second=4, transient=False)
            self._live.start()
        else:
            self._live.update(panel)

    def _panel(self, event: GenerationCompleted) -> Group:
        return panel(event, self._header, width=self.console.width)


def _stale(event: GenerationCompleted) -> str:
    if event.patience <= 0:
        return f"{event.stale_generations} (no early stop)"
    return f"{event.stale_generations}/{event.patience}"


def _workers(event: GenerationCompleted) -> str:
    busy = "" if not math.isfinite(event.busy_share) else f" ({_percent(event.busy_share)} busy)"
    return f"{event.workers}{busy}"


def header_text(event: GenerationCompleted, run: dict[str, Any]) -> Text:
    """Return the panel's header: run, progress, throughput, caches, workers, stopping."""
    share = event.generation / event.n_generations if event.n_generations else math.nan
    data = f"{run.get('data', '')} {run.get('timeframe', '')}".strip()
    return Text.assemble(
        ("run ", "dim"), (str(run.get("run", "")), "bold"),
        ("  data ", "dim"), data,
        ("  seed ", "dim"), str(run.get("seed", "")),
        ("\ngeneration ", "dim"),
        (f"{event.generation}/{event.n_generations} ({_percent(share)})", "bold"),
        ("  elapsed ", "dim"), format_seconds(event.elapsed_seconds),
        ("  eta ", "dim"), format_seconds(event.eta_seconds),
        ("  evals/s ", "dim"), format_number(event.evaluations_per_second),
        ("  trials ", "dim"), f"{event.n_trials:,}",
        ("\nmemo hits ", "dim"), _percent(event.memo_hit_rate),
        ("  semantic cache hits ", "dim"), _percent(event.semantic_hit_rate),
        ("  workers ", "dim"), _workers(event),
        ("  feasible ", "dim"), f"{event.n_feasible}/{event.population_size}",
        ("  unique structures ", "dim"), _percent(event.unique_structures),
        ("  mean size ", "dim"), f"{event.mean_size:.1f}",
        ("\npareto ", "dim"), str(event.pareto_size),
        ("  hall of fame ", "dim"), str(event.hall_of_fame_size),
        ("  validation score ", "dim"), format_number(event.validation_score),
        ("  best ", "dim"), format_number(event.best_validation_score),
        ("  stale generations ", "dim"), _stale(event),
    )  # fmt: skip


def _numbers_table(title: str, first: str, columns: tuple[str, ...]) -> Table:
    table = Table(title=title, title_justify="left", box=None, expand=True, padding=(0, 1))
    table.add_column(first, justify="right", no_wrap=True)
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True, min_width=len(column))
    table.add_column("expression", overflow="ellipsis", no_wrap=True, ratio=1)
    return table


def top_table(event: GenerationCompleted) -> Table:
    """Return the hall of fame's best members by robust score."""
    table = _numbers_table(
        f"hall of fame (top {len(event.top)})", "#", ("score", "val Sharpe", "trades", "stability")
    )
    for rank, member in enumerate(event.top, start=1):
        table.add_row(
            str(rank),
            format_number(member.robust_score),
            format_number(member.validation_sharpe_annual),
            format_number(member.validation_trades),
            format_stability(member.stability),
            member.pretty,
        )
    return table


def pareto_table(event: GenerationCompleted) -> Table:
    """Return the Pareto front by complexity: one row per node count, simplest first."""
    table = _numbers_table(
        "pareto front by complexity", "nodes", ("score", "drawdown", "val Sharpe")
    )
    for row in event.pareto:
        table.add_row(
            str(row.n_nodes),
            format_number(row.robust_score),
            format_number(row.max_drawdown),
            format_number(row.validation_sharpe_annual),
            row.pretty,
        )
    return table


def panel(event: GenerationCompleted, run: dict[str, Any], *, width: int = 120) -> Group:
    """Return the live panel of one generation: header, objectives, Pareto front and top-k.

    The front and the top-k sit side by side from 140 columns, one above the other below.
    """
    objectives = Table(box=None, padding=(0, 2), show_edge=False)
    objectives.add_column("objective", style="dim")
    objectives.add_column("best", justify="right")
    objectives.add_column("median", justify="right")
    for name, best, median in zip(
        event.objective_names, event.objective_best, event.objective_median, strict=True
    ):
        objectives.add_row(name, format_number(best), format_number(median))
    tables: Any
    if width >= 140:
        tables = Table.grid(expand=True, padding=(0, 2))
        tables.add_column(ratio=1)
        tables.add_column(ratio=1)
        tables.add_row(pareto_table(event), top_table(event))
    else:
        tables = Group(pareto_table(event), Text(""), top_table(event))
    return Group(header_text(event, run), Text(""), objectives, Text(""), tables)


def make_view(stream: IO[str] | None = None, *, plain: bool | None = None) -> ProgressView:
    """Return a view on ``stream`` (default stdout): live on a terminal, plain lines otherwise."""
    stream = sys.stdout if stream is None else stream
    live = stream.isatty() if plain is None else not plain
    width = None if stream.isatty() else 200  # pipes and CI logs: do not fold at 80 columns
    console = Console(file=stream, force_terminal=live or None, highlight=False, width=width)
    return ProgressView(console, live=live)


def print_summary(console: Console, summary: RunSummary) -> None:
    """Print the run facts and the hall-of-fame table."""
    facts = Table(box=None, show_header=False, padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    for name, value in summary_facts(summary):
        facts.add_row(name, value)
    console.print(facts)
    table = Table(title="hall of fame", title_justify="left")
    for header in summary_headers(summary):
        table.add_column(header, overflow="fold" if header == "strategy" else "ellipsis")
    for row in summary_rows(summary):
        table.add_row(*row)
    console.print(table)
