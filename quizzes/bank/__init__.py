"""Question bank: the text format, its parser/validator and its renderer (no Django imports)."""
