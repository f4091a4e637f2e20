"""Domain rules as plain functions, called by admin views, CLI commands and tests."""
