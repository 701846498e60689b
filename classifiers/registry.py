"""The classifiers a pipeline runs: an explicit list, no discovery by scanning subclasses."""

from __future__ import annotations

from classifiers.findings import Classifier
from classifiers.injection import InjectionClassifier
from classifiers.pii import DEFAULT_MODEL, PresidioPiiClassifier
from classifiers.pipeline import ClassificationPipeline
from classifiers.secrets import SecretsClassifier


def default_classifiers(pii_model: str = DEFAULT_MODEL) -> list[Classifier]:
    """Secrets, personal data and instructions aimed at the agent, in that order."""
    return [SecretsClassifier(), PresidioPiiClassifier(pii_model), InjectionClassifier()]


def default_pipeline(pii_model: str = DEFAULT_MODEL) -> ClassificationPipeline:
    return ClassificationPipeline(default_classifiers(pii_model))
