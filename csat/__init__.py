"""Cross-stage glue: the settings object and the ``csat`` command that composes each stage's CLI."""
