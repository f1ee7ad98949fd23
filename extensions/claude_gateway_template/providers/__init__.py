"""The provider registry: one record per provider (a module of this package), in the order copier lists them.

Adding a provider: a module here with its PROVIDER record (and its line in REGISTRY below), its fragments under
includes/providers/<key>/, its questions in copier.yml (and its key in the `providers` and `primary_provider`
choices), its test and the mock's request path (tests/support/mock_provider.py). Nothing under template/: the
generated files, the conformance kit's data file and the pattern table take it from the record
(tests/test_provider_facts.py fails when a template file names a provider)."""

from __future__ import annotations

from . import anthropic, anthropic_aws, anthropic_google_cloud, bedrock, foundry, mantle, vertex
from .base import TIERS, Provider

REGISTRY: dict[str, Provider] = {p.key: p for p in (anthropic.PROVIDER, bedrock.PROVIDER, vertex.PROVIDER,
                                                 foundry.PROVIDER, anthropic_aws.PROVIDER, mantle.PROVIDER,
                                                 anthropic_google_cloud.PROVIDER)}
PROVIDERS = tuple(REGISTRY)

__all__ = ["PROVIDERS", "REGISTRY", "TIERS", "Provider"]
