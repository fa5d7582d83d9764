"""Dependency-free SVG charts for the review report."""
