"""jaxtrack: correlation/fusion operators, Siamese trackers and a DPP-loss video summarizer in JAX."""

__version__ = "0.1.0"
