"""Promotion: a run's hall of fame through the statistical gauntlet, once, on the holdout.

Gates and evidence are frozen typed records; ``promotion.json`` is their serialised form.
"""
