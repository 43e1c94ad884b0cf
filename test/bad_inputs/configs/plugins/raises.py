"""A plugin module that fails when it is imported."""
raise RuntimeError("this module refuses to load")
