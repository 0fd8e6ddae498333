"""The plugin's own tests drive inner pytest runs with ``pytester``."""

pytest_plugins = ["pytester"]
