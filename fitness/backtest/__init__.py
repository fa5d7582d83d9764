"""The cost-aware backtest (DESIGN §2): the one per-bar step (funding → fill → mark), metrics."""
