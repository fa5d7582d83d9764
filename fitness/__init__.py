"""Market data, cost-aware simulation and scoring of strategies (layer 1).

Public API is listed in ``__all__``; anything else is private.
"""

from __future__ import annotations

from fitness.backtest.costs import CostModel
from fitness.backtest.metrics import bars_per_year, metrics, segment_metrics
from fitness.backtest.nb import SegmentSummary, bar_step_nb, fill_slippage_nb
from fitness.backtest.simulate import (
    SegmentResult,
    SimResult,
    TradeRecords,
    simulate,
    simulate_many,
    simulate_segment,
)
from fitness.data.files import read_bar_file, read_funding_file
from fitness.data.loading import load_bars, load_funding
from fitness.data.series import (
    GAP_POLICIES,
    TIMEFRAMES,
    BarSeries,
    FundingTable,
    Gap,
    GapReport,
    align_funding,
    timeframe_to_ms,
)
from fitness.data.store import (
    DatasetInfo,
    DatasetNotFoundError,
    dataset_name,
    default_home,
    list_datasets,
    read_dataset_info,
    save_dataset,
)
from fitness.errors import (
    CostModelError,
    DataError,
    FundingTimeframeError,
    GapError,
    SegmentError,
)
from fitness.evaluation.batch import (
    Evaluator,
    EvaluatorStats,
    RayEvaluator,
    SerialEvaluator,
    make_evaluator,
    rare_collections,
)
from fitness.evaluation.folds import FoldConfig, Segment, Timeline, split_segments, split_timeline
from fitness.evaluation.market import Market
from fitness.evaluation.objectives import (
    OBJECTIVES,
    FitnessConfig,
    ObjectiveConfig,
    objective_directions,
)
from fitness.evaluation.penalties import (
    PenaltyConfig,
    complexity_penalty,
    lineage_stability_penalty,
)
from fitness.evaluation.probe import ProbeResult, perturbation_probe, perturbed_texts
from fitness.evaluation.semantic import SemanticCache
from fitness.evaluation.strategy import Evaluation, SegmentRow, evaluate, evaluation_bytes

__all__ = [
    "GAP_POLICIES",
    "OBJECTIVES",
    "TIMEFRAMES",
    "BarSeries",
    "CostModel",
    "CostModelError",
    "DataError",
    "DatasetInfo",
    "DatasetNotFoundError",
    "Evaluation",
    "Evaluator",
    "EvaluatorStats",
    "FitnessConfig",
    "FoldConfig",
    "FundingTable",
    "FundingTimeframeError",
    "Gap",
    "GapError",
    "GapReport",
    "Market",
    "ObjectiveConfig",
    "PenaltyConfig",
    "ProbeResult",
    "RayEvaluator",
    "Segment",
    "SegmentError",
    "SegmentResult",
    "SegmentRow",
    "SegmentSummary",
    "SemanticCache",
    "SerialEvaluator",
    "SimResult",
    "Timeline",
    "TradeRecords",
    "align_funding",
    "bar_step_nb",
    "bars_per_year",
    "complexity_penalty",
    "dataset_name",
    "default_home",
    "evaluate",
    "evaluation_bytes",
    "fill_slippage_nb",
    "lineage_stability_penalty",
    "list_datasets",
    "load_bars",
    "load_funding",
    "make_evaluator",
    "metrics",
    "objective_directions",
    "perturbation_probe",
    "perturbed_texts",
    "rare_collections",
    "read_bar_file",
    "read_dataset_info",
    "read_funding_file",
    "save_dataset",
    "segment_metrics",
    "simulate",
    "simulate_many",
    "simulate_segment",
    "split_segments",
    "split_timeline",
    "timeframe_to_ms",
]
