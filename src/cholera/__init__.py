"""cholera."""
