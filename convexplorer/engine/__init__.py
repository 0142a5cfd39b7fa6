"""torch: build modules from specs, check shapes on the meta device, run forward/backward and
hand back numpy arrays. No Qt. Importing this package does not import torch; the modules that
need it (``build``, ``meta``, ``run``, ``devices``) import it themselves.
"""
