"""Understanding what residents type: words as written on phones, the service a sentence means,
and what to do when it means nothing the service offers.

- words: from a typed message to the words it means (case, emoji, repeated letters, chat
  abbreviations, words run together, spelling, affixes);
- model: a character and word n-gram model learned at start from the phrasings in the data;
- reading: the label a message means, with details, or the likeliest few, or nothing;
- routes: from a label to the service's step, as deep as the words say.
"""
