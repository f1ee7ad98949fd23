"""The provider registry: one record per provider (a module of this package), in the order copier lists them.

Adding a provider: a module here with its PROVIDER record, its fragments under includes/providers/<key>/, its
questions in copier.yml (and its key in the `providers` and `primary_provider` choices), tests and docs."""

from __future__ import annotations

from . import anthropic, bedrock, foundry, vertex
from .base import TIERS, Provider

REGISTRY: dict[str, Provider] = {p.key: p for p in (anthropic.PROVIDER, bedrock.PROVIDER, vertex.PROVIDER,
                                                 foundry.PROVIDER)}
PROVIDERS = tuple(REGISTRY)

__all__ = ["PROVIDERS", "REGISTRY", "TIERS", "Provider"]
