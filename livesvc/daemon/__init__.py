"""``livesvc serve``: the supervised daemon (store, admin API, gateway, config watcher, sessions)."""
