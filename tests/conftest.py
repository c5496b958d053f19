"""Shared fixtures: the seed catalogue, an in-memory store and a knowledge base on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.catalogue import Catalogue, load_seed
from knowledge.store import Store


@pytest.fixture
def catalogue() -> Catalogue:
    return load_seed()


@pytest.fixture
def store() -> Store:
    return Store(":memory:")


@pytest.fixture
def kb(tmp_path: Path) -> KnowledgeBase:
    return KnowledgeBase(Store(tmp_path / "kb.db"))
