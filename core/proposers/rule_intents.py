"""Which IteraTeR intent a rule engine's match serves, from its rule id and category.

IteraTeR's intents (Du et al. 2022): fluency fixes errors of grammar, spelling and punctuation;
clarity makes text concise, readable, precise; coherence links sentences; style expresses the
writer's preferences (tone, register, regional spelling); meaning-changed adds or removes facts.
A rule engine's category says most of it ("TYPOS", "REDUNDANCY", Harper's "WordChoice"), but some
categories hold rules of another kind (LanguageTool files wordiness rules under STYLE, Harper its
confused-word fixes under WordChoice): RULE_INTENTS names those by rule id and wins over the category.
How well the table matches human intents: bench/builtin_intents.py (bench/RESULTS.md).
"""

from __future__ import annotations

import re

# Normalised (lower-case, letters and digits only) categories -> intent: LanguageTool/lingotweaker
# category ids and issue types, Harper lint kinds, and plain words.
CATEGORY_INTENTS: dict[str, str] = {
    # fluency: errors of grammar, spelling, punctuation, form. Harper's WordChoice is mostly confused
    # or malformed words ("effect" -> "affect", "time step" -> "timestep", "to investigated").
    **dict.fromkeys(
        "spelling typos typo misspelling grammar agreement punctuation typography typographical whitespace "
        "formatting casing capitalization capitalisation confusedwords compounding multitokenspelling "
        "collocations nonstandardphrases nonstandard propernouns misc miscellaneous repetition duplication "
        "boundaryerror eggcorn malapropism usage falsefriends wordchoice".split(),
        "fluency",
    ),
    # clarity: concise, readable, precise
    **dict.fromkeys(
        "redundancy plainenglish readability enhancement semantics wordiness conciseness clarity simplify".split(),
        "clarity",
    ),
    # style: tone, register, regional preference
    **dict.fromkeys(
        "style repetitionsstyle tonacademic creativewriting wikipedia americanenglishstyle britishenglish "
        "regionalism regionalisms register localeviolation genderneutrality formal "
        "formality".split(),
        "style",
    ),
    "coherence": "coherence",
    "meaningchanged": "meaning-changed",
}

# Rule ids (either engine; compared case-insensitively) whose intent is not their category's. Found
# by running both engines on ../shared/data (IteraTeR, CoNLL-2014) and reading what each rule changes.
RULE_INTENTS: dict[str, str] = {
    # fixes of errors filed under a style category (CoNLL-2014 gold corrections reproduce
    # RECOMMENDED_COMPOUNDS 3 times, Addicting once) or an enhancement
    **dict.fromkeys(
        "RECOMMENDED_COMPOUNDS ANYWAYS BESTEST THEMSELF OURSELF FASTLY BUSSES MERCHANDIZE ALINE BORED_OF "
        "USED_TO_COULD MORE_EASY_N_CLEAR WEEK_END_HYPHEN MOST_OF_OUR_TIMES WHOLE_OTHER THANK_YOU_MUCH "
        "Addicting Cant AdjectiveDoubleDegree".split(),
        "fluency",
    ),
    # concise or readable, under other categories ("find out" -> "find", "GB" -> "gigabytes")
    **dict.fromkeys(
        "VeryUnique FindOut ExpandMemoryShorthands ExpandTimeShorthands ExpandGovt ExpandMinimum "
        "AsSoonAsPossible REASON_IS_BECAUSE".split(),
        "clarity",
    ),
    # a preference, not an error: "OK" is correct; tone
    "OkToOkay": "style",
    "AvoidCurses": "style",
    # one spelling of a word throughout the text ("advisor" here, "adviser" there): consistency
    "EN_WORD_COHERENCY": "coherence",
    # "East Timor" -> "Timor-Leste": the text's facts are brought up to date
    "UpdatePlaceNames": "meaning-changed",
}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def known_category_intent(category: str) -> str | None:
    """The intent of a known category, or None. Case, spaces, hyphens and underscores are ignored."""
    return CATEGORY_INTENTS.get(_key(category))


def category_intent(category: str, *fallbacks: str) -> str:
    """The intent of a category ("TYPOS", "Spelling", "REDUNDANCY", "WordChoice", ...), else of the
    first known fallback (e.g. LanguageTool's issue type); unknown ones are fluency, since rule
    engines mostly fix errors."""
    for name in (category, *fallbacks):
        intent = known_category_intent(name or "")
        if intent is not None:
            return intent
    return "fluency"


def rule_intent(rule_id: str, category: str, *fallbacks: str) -> str:
    """The intent of a match: its rule id's if RULE_INTENTS names it, else its category's."""
    return _RULE_KEYS.get(rule_id.casefold()) or category_intent(category, *fallbacks)


_RULE_KEYS = {k.casefold(): v for k, v in RULE_INTENTS.items()}
