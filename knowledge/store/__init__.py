"""The SQLite store: the one package that owns SQL.

Schema changes are ordered migrations (schema.py); each feature keeps its queries in a module of
this package, and Store puts them together over one connection.
"""

from __future__ import annotations

from knowledge.store.base import DEFAULT_DB, StoreBase, db_path_from_env, utcnow
from knowledge.store.broadcasts import Broadcast, BroadcastStore, Delivery
from knowledge.store.catalogue import CatalogueStore, LoadReport
from knowledge.store.context import CONTEXT_MINUTES, ContextStore
from knowledge.store.digests import DigestStore, DigestTopic
from knowledge.store.embeddings import EmbeddingStore
from knowledge.store.exports import EXPORTS, Export, ExportStore
from knowledge.store.faq import FaqEntry, FaqStore
from knowledge.store.figures import FigureStore
from knowledge.store.inbox import InboxStore
from knowledge.store.subscriptions import Audience, Subscription, SubscriptionStore
from knowledge.store.tickets import Question, Ticket, TicketStore


class Store(
    CatalogueStore,
    FaqStore,
    TicketStore,
    ExportStore,
    FigureStore,
    SubscriptionStore,
    BroadcastStore,
    InboxStore,
    ContextStore,
    DigestStore,
    EmbeddingStore,
    StoreBase,
):
    """Every table of the bot behind one connection."""


__all__ = [
    "CONTEXT_MINUTES",
    "DEFAULT_DB",
    "EXPORTS",
    "Audience",
    "Broadcast",
    "Delivery",
    "DigestTopic",
    "Export",
    "FaqEntry",
    "LoadReport",
    "Question",
    "Store",
    "Subscription",
    "Ticket",
    "db_path_from_env",
    "utcnow",
]
