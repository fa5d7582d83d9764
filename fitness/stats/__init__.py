"""Statistics of returns: the one Sharpe, PSR/DSR/MinTRL, PBO, bootstrap and SPA, trials.

Depends on nothing else in ``fitness`` but its errors: every other part may use it.
"""
