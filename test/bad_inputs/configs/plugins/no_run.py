"""A sampling plugin whose object has no Run()."""


class Sampler:
    def Initialize(self):
        pass


def GetObject(framework):
    return Sampler()
