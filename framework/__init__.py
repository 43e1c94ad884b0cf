"""The generic design-space exploration engine (knows nothing of DNNs).

config -> DesignSpace -> driver loop (ask / evaluate / store / train / tell) -> tables.
See DESIGN.md in the shared folder and the README.
"""
