"""The template's logic, one module per concern, each importable and testable without copier.

- patterns: the decision tree (A-D), each pattern's facts and the migration paths between them
- providers: the provider registry, one record per provider (providers/<key>.py)
- rules: the table of answer rules, used by copier.yml's validators and by the re-validation of every answer
- client: the environment and settings Claude Code gets on developer machines
- engines: the gateway engines (LiteLLM, the Claude apps gateway) and what each fits
- gateway: the LiteLLM gateway's config and secrets
- apps_gateway: the Claude apps gateway's config, secrets and client sign-in settings
- versions: every version the template and its tests pin (pin_files: the requirement files `make pins` writes)
- egress: the hosts a proxy must allow
- guidance: next steps, CI placeholders and other text rendered for the user
- docs: the generated documentation's topic pages (docs/<topic>.md) and when each applies
- kit: the conformance kit's facts about each provider (scripts/conformance/providers.json)
- derived: everything the templates render, derived from the answers
- answer_migrations: answers renamed between releases, and the command `_migrations` runs
"""
