"""Pydantic models of the results, reports and metadata the services return."""
