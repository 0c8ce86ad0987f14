"""The no-model engine: every offline heuristic of reviewer, in one place.

Used when no model endpoint is configured; each output says so in one line. Modules:

* :mod:`~reviewer.extractive.text` — which sentences may be quoted (the fragment filter), third-person
  rewording of "we"/"our", the short form of a topic, how a quote is cited;
* :mod:`~reviewer.extractive.scoring` — a sentence's score for a question: similarity plus finding/premise cues;
  when two quoted papers disagree;
* :mod:`~reviewer.extractive.answers` — `ask`: quoted sentences, best first, one line each;
* :mod:`~reviewer.extractive.draft` — `review`: the citation budget shared among themes by relevance, each
  section's quotes, the introduction;
* :mod:`~reviewer.extractive.table` — `compare`: one quoted sentence per cell, methods found in titles;
* :mod:`~reviewer.extractive.support` — the offline support check (similarity, overlap, contradiction cues,
  calibrated threshold).

The chains (:mod:`reviewer.chains`) only choose between the model and this engine.
"""

from reviewer.extractive.answers import LIMIT, NO_LLM_NOTE, answer, best_sentences
from reviewer.extractive.text import MIN_WORDS, is_fragment, sentences

__all__ = ["LIMIT", "MIN_WORDS", "NO_LLM_NOTE", "answer", "best_sentences", "is_fragment", "sentences"]
