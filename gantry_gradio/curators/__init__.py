"""Curators select production records per interval into versioned datasets;
they are actions of the automation engine (gantry_gradio.automation)."""

from .curators import BoundedRangeCurator, Curator, StratifiedCurator, UniformCurator

__all__ = ["BoundedRangeCurator", "Curator", "StratifiedCurator", "UniformCurator"]
