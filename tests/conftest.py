"""Suite-wide: the plugin tests drive inner pytest runs with ``pytester``."""

pytest_plugins = ["pytester"]
