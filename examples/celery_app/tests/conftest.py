import pytest

pytest_plugins = ("celery.contrib.pytest",)


@pytest.fixture
def celery_config(fakebroker_celery_config):
    """The one fixture that moves the suite to fakebroker (or to --broker=...)."""
    return fakebroker_celery_config
