"""The book's tools: each module is a script (python tools/NAME.py) that the tests import."""
