"""The book's Sphinx extension (_config.yml: sphinx: local_extensions), importable by the tools and tests."""
