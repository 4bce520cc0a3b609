"""Procedures: statecharts from the policy YAML, cases built from events, the event store, and the
conformance check of real histories against the procedure."""
