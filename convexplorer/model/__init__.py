"""What the user builds: layer catalogue, specs, config files, validation and shape formulas.

No Qt and no torch here.
"""
