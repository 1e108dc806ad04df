"""Projections: numbers computed from logged text, away from the request path."""

from . import models, text  # noqa: F401  (registers the built-ins)
from .registry import Projection, ProjectionError, register_projection, resolve

__all__ = ["Projection", "ProjectionError", "register_projection", "resolve"]
