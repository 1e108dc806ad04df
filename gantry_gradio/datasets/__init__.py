"""Versioned datasets on the blob store, registered in the record store."""

from .dataset import Dataset
from .registry import DatasetError, DatasetRegistry, DatasetVersion

__all__ = ["Dataset", "DatasetError", "DatasetRegistry", "DatasetVersion"]
