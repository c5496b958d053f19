"""The SQLite store: the one package that owns SQL.

Schema changes are ordered migrations (schema.py); each feature keeps its queries in a module of
this package, and Store puts them together over one connection.
"""

from __future__ import annotations

from knowledge.store.base import DEFAULT_DB, StoreBase, db_path_from_env, utcnow
from knowledge.store.catalogue import CatalogueStore, LoadReport
from knowledge.store.faq import FaqEntry, FaqStore
from knowledge.store.tickets import Question, Ticket, TicketStore


class Store(CatalogueStore, FaqStore, TicketStore, StoreBase):
    """Every table of the bot behind one connection."""


__all__ = [
    "DEFAULT_DB",
    "FaqEntry",
    "LoadReport",
    "Question",
    "Store",
    "Ticket",
    "db_path_from_env",
    "utcnow",
]
