"""The live progress view: a Rich ``Live`` panel on a terminal, one plain line per event
otherwise (CI, pipes). An event sink only: it renders what the events carry, nothing more.
"""

from __future__ import annotations

import math
import sys
from typing import IO, Any

from rich.console import Console, Group
from rich.live import Live
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
        f" (best {format_number(event.best_validation_score)}, stale {event.stale_generations})"
        f"  trials {event.n_trials:,}  evals/s {format_number(event.evaluations_per_second)}"
        f"  memo {_percent(event.memo_hit_rate)}  semantic {_percent(event.semantic_hit_rate)}"
        f"  workers {event.workers}  unique {_percent(event.unique_structures)}"
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
        else:
            self._print(
                f"run [bold]{event.run_id}[/] → {event.run_dir}\n"
                f"data {self._header['data']} ({event.timeframe}, {event.n_bars:,} bars), "
                f"seed {event.seed}, population {event.population}, "
                f"{event.n_generations} generations, {event.workers} worker(s)"
            )

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
        data = f"{self._header.get('data', '')} {self._header.get('timeframe', '')}"
        header = Text.assemble(
            ("run ", "dim"), (str(self._header.get("run", "")), "bold"),
            ("  data ", "dim"), data,
            ("  seed ", "dim"), str(self._header.get("seed", "")),
            ("\ngeneration ", "dim"), (f"{event.generation}/{event.n_generations}", "bold"),
            ("  elapsed ", "dim"), format_seconds(event.elapsed_seconds),
            ("  eta ", "dim"), format_seconds(event.eta_seconds),
            ("  evals/s ", "dim"), format_number(event.evaluations_per_second),
            ("  memo ", "dim"), _percent(event.memo_hit_rate),
            ("  semantic cache ", "dim"), _percent(event.semantic_hit_rate),
            ("  workers ", "dim"), str(event.workers),
            ("\ntrials ", "dim"), f"{event.n_trials:,}",
            ("  feasible ", "dim"), f"{event.n_feasible}/{event.population_size}",
            ("  pareto ", "dim"), str(event.pareto_size),
            ("  hall of fame ", "dim"), str(event.hall_of_fame_size),
            ("  unique structures ", "dim"), _percent(event.unique_structures),
            ("  mean size ", "dim"), f"{event.mean_size:.1f}",
            ("\nvalidation score ", "dim"), format_number(event.validation_score),
            ("  best ", "dim"), format_number(event.best_validation_score),
            ("  generations without improvement ", "dim"), str(event.stale_generations),
        )  # fmt: skip
        objectives = Table(box=None, padding=(0, 2), show_edge=False)
        objectives.add_column("objective", style="dim")
        objectives.add_column("best", justify="right")
        objectives.add_column("median", justify="right")
        for name, best, median in zip(
            event.objective_names, event.objective_best, event.objective_median, strict=True
        ):
            objectives.add_row(name, format_number(best), format_number(median))
        top = Table(title="hall of fame (top 5)", title_justify="left", box=None, expand=True)
        top.add_column("expression", overflow="ellipsis", no_wrap=True, ratio=1)
        for header in ("score", "val Sharpe", "trades", "stability"):
            top.add_column(header, justify="right", no_wrap=True, min_width=len(header))
        for member in event.top:
            top.add_row(
                member.pretty,
                format_number(member.robust_score),
                format_number(member.validation_sharpe_annual),
                format_number(member.validation_trades),
                format_stability(member.stability),
            )
        return Group(header, Text(""), objectives, Text(""), top)


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
