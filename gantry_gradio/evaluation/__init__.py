"""Evaluation of model versions on the same labeled rows: built-in text
metrics, paired bootstrap intervals, runs kept in the store."""

from .candidates import CandidateError
from .metrics import BUILT_IN, DEFAULT_METRICS, Metric, MetricError, projection_metric
from .result import Evaluation, evaluation_application
from .runs import EvaluationNotFound

__all__ = [
    "BUILT_IN",
    "DEFAULT_METRICS",
    "CandidateError",
    "Evaluation",
    "EvaluationNotFound",
    "Metric",
    "MetricError",
    "evaluation_application",
    "projection_metric",
]
