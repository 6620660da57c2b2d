"""Writes for the quizzes app, one module per entity: ``bank`` (question bank) and ``attempts``."""
