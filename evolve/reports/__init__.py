"""The promotion review report (HTML and Markdown) rendered from ``promotion.json``."""
