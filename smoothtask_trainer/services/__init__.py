"""The service layer: plain functions over settings and paths, returning pydantic results (no CLI code)."""
