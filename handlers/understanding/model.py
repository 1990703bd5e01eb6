"""A small model of what messages mean, learned at start from labelled phrasings.

Each message becomes TF-IDF weights of its words (stemmed), pairs of words, and the character
n-grams of each word, so a word spelt a little differently still shares most of its features.
Two readings of those weights are blended into one probability per label:

- multinomial naive Bayes: how likely the message's features are under each label's phrasings
  taken together (learning is one sum, so it is learned in milliseconds at every start);
- the nearest phrasing: a label scores by its closest phrasing (cosine), and as a whole (its
  centroid), which catches a wording close to one phrasing that the sums drown out.

Chosen by cross-validation on the train part of the labelled set (docs/understanding.md).
scipy's sparse matrices do the arithmetic; scikit-learn would do the same but takes more than a
second to import on the office's two-core machine, and the bot must start in well under that.
"""

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import numpy as np
from scipy import sparse

NGRAMS = (3, 4)  # character n-grams of each word, with its edges marked
SMOOTHING = 0.03  # naive Bayes: added to each feature's weight under each label
BAYES_SHARE = 0.7  # of the probability, from naive Bayes; the rest from the nearest phrasings
NEAREST_SHARE = 0.65  # of the nearest-phrasing score, from the closest one; the rest, the centroid
SHARPNESS = 20.0  # turns nearest-phrasing scores (cosines, 0 to 1) into probabilities


def features(words: Sequence[str]) -> Counter[str]:
    """Return the features of a message given as its stemmed words."""
    found: Counter[str] = Counter()
    for word in words:
        found.update(_word_features(word))
    found.update(f"b {first} {second}" for first, second in pairwise(words))
    return found


@lru_cache(maxsize=50_000)
def _word_features(word: str) -> tuple[str, ...]:
    """Return a word's own features: the word, and its character n-grams."""
    marked = f"<{word}>"
    grams = (
        f"c {marked[start : start + size]}"
        for size in NGRAMS
        for start in range(max(1, len(marked) - size + 1))
    )
    return (f"w {word}", *grams)


@dataclass(frozen=True)
class Score:
    """How likely a message means one label (the scores of all labels sum to 1)."""

    label: str
    score: float


def _softmax(values: np.ndarray) -> np.ndarray:
    exponents = np.exp(values - values.max())
    return exponents / exponents.sum()


class Model:
    """Labels learned from (label, stemmed words) examples."""

    def __init__(self, examples: Iterable[tuple[str, Sequence[str]]]) -> None:
        labelled = [(label, features(words)) for label, words in examples if words]
        if not labelled:
            raise ValueError("no examples to learn from")
        counts: Counter[str] = Counter()
        for _label, found in labelled:
            counts.update(found.keys())
        self.index = {feature: number for number, feature in enumerate(sorted(counts))}
        total = len(labelled)
        self.idf = np.array(
            [math.log((1 + total) / (1 + counts[feature])) + 1 for feature in sorted(counts)]
        )
        self.labels = sorted({label for label, _found in labelled})
        label_number = {label: number for number, label in enumerate(self.labels)}
        self.example_labels = np.array([label_number[label] for label, _found in labelled])
        self.examples = self._matrix([found for _label, found in labelled])
        self.by_feature = self.examples.T.tocsr()  # each feature's phrasings
        membership = sparse.csr_matrix(
            (np.ones(total), (self.example_labels, np.arange(total))),
            shape=(len(self.labels), total),
        )
        sums = membership @ self.examples  # each label's phrasings together
        # naive Bayes: the log share of each feature's weight under each label, and the prior
        weights = sums.toarray() + SMOOTHING
        self.log_shares = np.log(weights / weights.sum(axis=1, keepdims=True)).T.copy()
        self.log_prior = np.log(np.bincount(self.example_labels) + 1) - math.log(total)
        # a label's centroid (its phrasings summed, as a unit vector) times a message is the
        # sum of its phrasings' similarities over the centroid's length
        self.centroid_norms = np.sqrt(sums.multiply(sums).sum(axis=1)).A.ravel()
        self.centroid_norms[self.centroid_norms == 0] = 1

    def _weights(self, found: Counter[str]) -> tuple[np.ndarray, np.ndarray]:
        """Return the known features of one message and their weights (a unit vector)."""
        known = [
            (self.index[feature], count)
            for feature, count in found.items()
            if feature in self.index
        ]
        if not known:
            return np.zeros(0, dtype=int), np.zeros(0)
        columns = np.array([column for column, _count in known])
        weights = (1 + np.log([count for _column, count in known])) * self.idf[columns]
        return columns, weights / np.sqrt(weights @ weights)

    def _matrix(self, messages: Sequence[Counter[str]]) -> sparse.csr_matrix:
        """Return the unit TF-IDF vectors of the learned messages (given as their features,
        every one of them known), one a row."""
        sizes = [len(found) for found in messages]
        columns = np.fromiter(
            (self.index[feature] for found in messages for feature in found), int, sum(sizes)
        )
        counts = np.fromiter((count for found in messages for count in found.values()), float)
        weights = (1 + np.log(counts)) * self.idf[columns]
        vectors = sparse.csr_matrix(
            (weights, columns, np.concatenate([[0], np.cumsum(sizes)])),
            shape=(len(messages), len(self.index)),
        )
        norms = np.sqrt(vectors.multiply(vectors).sum(axis=1)).A.ravel()
        return (sparse.diags(1 / norms) @ vectors).tocsr()

    def _similarities(self, columns: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Return the cosine of a message with every phrasing, from the phrasings that hold
        its features only (about twice as fast as multiplying with all of them)."""
        starts = self.by_feature.indptr[columns]
        lengths = self.by_feature.indptr[columns + 1] - starts
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        held = offsets + np.arange(lengths.sum())
        products = self.by_feature.data[held] * np.repeat(weights, lengths)
        return np.bincount(self.by_feature.indices[held], products, self.examples.shape[0])

    def scores(self, words: Sequence[str]) -> list[Score]:
        """Return every label's probability for a message, likeliest first (empty: none of
        its words or their parts was ever seen)."""
        columns, weights = self._weights(features(words))
        if not columns.size:
            return []
        bayes = _softmax(self.log_prior + weights @ self.log_shares[columns])
        similar = self._similarities(columns, weights)
        nearest = np.zeros(len(self.labels))
        np.maximum.at(nearest, self.example_labels, similar)
        whole = np.bincount(self.example_labels, similar, len(self.labels)) / self.centroid_norms
        close = _softmax(SHARPNESS * (NEAREST_SHARE * nearest + (1 - NEAREST_SHARE) * whole))
        combined = BAYES_SHARE * bayes + (1 - BAYES_SHARE) * close
        order = np.argsort(-combined)
        return [Score(self.labels[number], float(combined[number])) for number in order]
