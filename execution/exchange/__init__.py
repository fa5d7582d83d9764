"""Exchange access through ccxt: the rate-limited client and the resumable history download."""
