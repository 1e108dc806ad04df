"""Curators select production records per interval into versioned datasets;
automations run them on a trigger, from a scheduler."""

from .automation import Automation, IntervalOutcome, IntervalTrigger, stored_automations
from .curators import BoundedRangeCurator, Curator, StratifiedCurator, UniformCurator
from .scheduler import CuratorScheduler

__all__ = [
    "Automation",
    "BoundedRangeCurator",
    "Curator",
    "CuratorScheduler",
    "IntervalOutcome",
    "IntervalTrigger",
    "StratifiedCurator",
    "UniformCurator",
    "stored_automations",
]
