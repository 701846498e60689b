"""The classifiers a pipeline runs: an explicit list, no discovery by scanning subclasses."""

from __future__ import annotations

from classifiers.findings import Classifier
from classifiers.injection import InjectionClassifier
from classifiers.pii import DEFAULT_MODEL, PresidioPiiClassifier
from classifiers.pipeline import ClassificationPipeline
from classifiers.secrets import SecretsClassifier


def default_classifiers(
    pii_model: str = DEFAULT_MODEL, *, matmul: str = "openblas"
) -> list[Classifier]:
    """Secrets, personal data and instructions aimed at the agent, in that order."""
    return [
        SecretsClassifier(),
        PresidioPiiClassifier(pii_model, matmul=matmul),
        InjectionClassifier(),
    ]


def default_pipeline(
    pii_model: str = DEFAULT_MODEL, *, matmul: str = "openblas"
) -> ClassificationPipeline:
    return ClassificationPipeline(default_classifiers(pii_model, matmul=matmul))
