"""citing."""
