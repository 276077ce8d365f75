"""Training: labelled frames in, models and evidence out."""
