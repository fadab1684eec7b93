"""The SQL archive: models, the one engine/session factory, queries."""
