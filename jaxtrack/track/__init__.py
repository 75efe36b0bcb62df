"""jaxtrack.track."""
