"""convexplorer: see what convolution and pooling layers do, with your own numbers."""

__version__ = "0.1.0"
