"""Graphs of geometries that meet: their connected components (pure numpy)."""

from __future__ import annotations

import numpy as np

__all__ = ["components"]


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The connected components of a graph of ``n`` nodes and edges ``a``–``b``: each
    node's label is the smallest node of its component (label propagation with
    pointer jumping, vectorised)."""
    label = np.arange(n)
    while True:
        low = np.minimum(label[a], label[b])
        new = label.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]
        if np.array_equal(new, label):
            return label
        label = new
