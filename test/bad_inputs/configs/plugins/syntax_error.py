"""A plugin module that is not Python."""
def GetObject(framework:
    return None
