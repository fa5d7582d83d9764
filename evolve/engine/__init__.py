"""The evolution engine: generation loop, variation, selection, persistence order and resume.

Never imports the terminal UI: it reports through typed events (``evolve.engine.events``).
"""
