"""newsmon: a news source-monitoring daemon."""
__version__ = "0.1.0"
