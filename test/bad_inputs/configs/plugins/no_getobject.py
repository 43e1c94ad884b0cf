"""A plugin module without GetObject(framework)."""


def make():
    return None
