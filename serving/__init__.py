"""Serving: models and the online store in, answers out."""
