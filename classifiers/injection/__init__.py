"""Prompt-injection (memory-poisoning) detection: text that addresses the agent.

A memory is replayed into a model's context later; text in it that gives the model orders
(set your instructions aside, take a new role, call a tool, send data out, render a beacon
image) is an injection, while text that records a fact, even a fact about instructions, is not.
"""

from classifiers.injection.classifier import InjectionClassifier
from classifiers.injection.rules import (
    EXFILTRATION,
    MARKDOWN_EXFIL,
    PROMPT_INJECTION,
    ROLE_OVERRIDE,
    RULES,
    TOOL_INSTRUCTION,
    Gate,
    Rule,
)

__all__ = [
    "EXFILTRATION",
    "MARKDOWN_EXFIL",
    "PROMPT_INJECTION",
    "ROLE_OVERRIDE",
    "RULES",
    "TOOL_INSTRUCTION",
    "Gate",
    "InjectionClassifier",
    "Rule",
]
