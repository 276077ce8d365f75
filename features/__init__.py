"""The feature store: raw contract tables in, point-in-time account features out."""
