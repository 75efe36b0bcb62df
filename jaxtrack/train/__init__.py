"""jaxtrack.train."""
