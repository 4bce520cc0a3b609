"""Command-line tools for maintainers: the durable_rules limit probe and the differential soak."""
