"""Secrets detection: credentials in text, reported as spans (never the matched text)."""

from __future__ import annotations

from classifiers.secrets.classifier import SecretsClassifier
from classifiers.secrets.secret_types import SECRET_TYPES

__all__ = ["SECRET_TYPES", "SecretsClassifier"]
