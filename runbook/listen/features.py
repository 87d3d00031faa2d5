"""Customer-care cues in a mention, English and Dutch: complaint markers, help requests, questions to
the brand, sarcasm and negated thanks, emoji. Hand-written patterns (no word list copied); they feed
both the rules and the trained model in `complaint`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Cues", "cues"]

# Service failures people complain about, as (name, pattern). Names show up in a verdict's reasons.
_COMPLAINT_EN = [
    ("delay", r"\bdelay(?:ed|s|ing)?\b|\blate (?:flight|again|arrival|departure)\b|\brunning late\b"),
    ("cancelled", r"\bcancell?(?:ed|ing|ation|ations)\b|\bcanceled\b"),
    (
        "lost",
        r"\blost (?:my|our|the|his|her)?\s*(?:bag|bags|luggage|suitcase|baggage|package|parcel|order)"
        r"|\b(?:bag|bags|luggage|baggage|suitcase|parcel|package|order)\b[^.!?]{0,30}\b(?:lost|missing|"
        r"never (?:arrived|came|showed)|still not here|damaged|broken)\b|\blosing my\b",
    ),
    ("refund", r"\brefund(?:ed|s)?\b|\bmoney back\b|\bcharged (?:me )?twice\b|\bovercharg"),
    (
        "waiting",
        r"\bwait(?:ed|ing)?\b[^.!?]{0,40}\b(?:hours?|hrs?|minutes?|mins?|days?|weeks?|forever|still)\b"
        r"|\bstill waiting\b|\band counting\b|\b(?:hours?|days|weeks) later\b|\bhours? (?:on|in) (?:the )?(?:tarmac|line|queue|phone)\b",
    ),
    ("on_hold", r"\bon hold\b|\bhold (?:time|music)\b|\bhung up\b|\bhang up\b|\bdisconnected\b"),
    (
        "no_answer",
        r"\bno(?: ?one|body) (?:answers?|is answering|picks? up|responds?|helps?|cares?)\b"
        r"|\b(?:nobody|no one) (?:at|from) \b|\bno (?:response|reply|answer|help|update|info\w*)\b"
        r"|\b(?:can'?t|cannot|couldn'?t|unable to) (?:get through|reach|get (?:a|any)(?:one| human| hold))"
        r"|\bnot answering\b|\bignor(?:ed|ing)\b|\bget through\b|\btrying to (?:reach|call|contact)\b"
        r"|\bno (?:announcement|call ?back|email|notice)s?\b|\bpromised (?:a|me a) call ?back\b",
    ),
    (
        "missed",
        r"\bmiss(?:ed|ing) (?:my |our |the )?(?:connection|flight|meeting|wedding|funeral)\b"
        r"|\bmisconnect|\bstranded\b|\bstuck (?:in|at|on)\b|\brebook|\boverbook|\bbumped\b"
        r"|\bsitting (?:on|at|in) (?:the )?(?:plane|tarmac|runway|gate|airport)\b|\bstill (?:at|on) the\b",
    ),
    (
        "broken",
        r"\b(?:can'?t|cannot|couldn'?t|unable to) (?:check in|log ?in|book|pay|change|print|select|"
        r"access|use)\b|\b(?:broken|not working|doesn'?t work|didn'?t work|won'?t (?:let|load|work)|down again|outage|"
        r"errors?|crash(?:ed|es|ing)?|filthy|dirty)\b|\b(?:is|are|been|was) (?:down|out) (?:since|for|again)\b",
    ),
    (
        "repeat",
        r"\bagain\b|\byet another\b|\b(?:second|2nd|third|3rd|fourth|4th) (?:time|day|delay|week|trip)\b"
        r"|\bevery (?:single )?(?:time|day|morning|week)\b",
    ),
    (
        "frustration",
        r"\bcan'?t believe\b|\bhad one job\b|\bhow hard is it\b|\bcome on\b|\bunbelievable\b"
        r"|\bdisappoint\w*|\b(?:fed up|sick of|tired of)\b|\bis a joke\b|\bwhat am i supposed to\b"
        r"|\bpaid (?:extra|for)\b[^.!?]{0,30}\b(?:nothing|didn'?t|never|not)\b|\bwas promised\b"
        r"|#\w*fail\b|#neveragain\b|\bwaste of (?:time|money)\b|\bdo better\b|\bwhat a joke\b"
        r"|\bfix (?:this|it|your)\b|\bnot acceptable\b|\bshame on\b",
    ),
    (
        "service",
        r"\b(?:worst|terrible|horrible|awful|pathetic|unacceptable|ridiculous|useless|rude)\b"
        r"|\bcustomer (?:service|care)\b[^.!?]{0,20}\b(?:sucks|is a joke|fail)",
    ),
    ("never_again", r"\bnever (?:again|flying|fly|using|use|ordering|order|buying)\b|\bswitch(?:ing)? to\b"),
]
_COMPLAINT_NL = [
    ("delay", r"\bvertraa?g(?:d|ing|ingen)?\b|\bte laat\b|\buur later\b"),
    ("cancelled", r"\bgeannuleerd\b|\bannuler\w*\b|\bgeschrapt\b|\brijdt niet\b|\bvalt uit\b|\buitgevallen\b"),
    (
        "lost",
        r"\b(?:kwijt|zoekgeraakt|verloren|vermist|nooit (?:aangekomen|bezorgd|geleverd)|niet (?:bezorgd|geleverd|"
        r"aangekomen|ontvangen|meegekomen|gekomen))\b|\bbeschadigd\b|\b(?:reed|reden) (?:me|mij|ons) voorbij\b",
    ),
    ("refund", r"\bterugbetal\w*\b|\bgeld terug\b|\brestitutie\b|\bdubbel (?:afgeschreven|betaald)\b|\bcompensatie\b"),
    (
        "waiting",
        r"\bwacht(?:en|te)?\b[^.!?]{0,40}\b(?:uur|uren|minuten|dagen|weken|nog steeds|al)\b|\bnog steeds\b"
        r"|\bal (?:een|twee|drie|vier|vijf|zes|tien|half|\d+) (?:uur|dagen|weken|kwartier)\b|\banderhalf uur\b"
        r"|\b(?:sta|staan|zit|zitten) (?:hier )?al\b|\b(?:minuten|uur|dagen) gewacht\b",
    ),
    ("on_hold", r"\bin de wacht\b|\bwachtrij\b|\bopgehangen\b|\bverbinding verbroken\b"),
    (
        "no_answer",
        r"\bniemand (?:neemt op|reageert|helpt|antwoordt)\b|\bgeen (?:reactie|antwoord|hulp|response)\b"
        r"|\bniet bereikbaar\b|\bonbereikbaar\b|\bgenegeerd\b|\bgeen (?:informatie|info|update|"
        r"omroep|bericht|mens|uitleg)\b|\bhangt (?:gewoon )?op\b|\bbelt? niet (?:terug|op)\b"
        r"|\bkrijg (?:maar |nog steeds |nog )?geen\b|\bdoorverbonden\b|\bnergens (?:staat|te vinden|vermeld)",
    ),
    (
        "missed",
        r"\b(?:aansluiting|vlucht|trein) gemist\b|\bgestrand\b|\boverboekt\b|\bvast (?:op|in|bij)\b|\bstaan stil\b",
    ),
    (
        "broken",
        r"\b(?:foutmelding|valt (?:steeds |elke \w+ |telkens )?weg|viel weg|kapot|werkt niet|doet het niet|"
        r"deed het niet|storing|defect|storingen|ligt (?:er )?"
        r"(?:al \w+ \w+ )?uit)\b|\b(?:staat|stond|staan|stonden) stil\b",
    ),
    ("repeat", r"\b(?:alweer|weer eens|elke (?:dag|ochtend|keer|week)|derde keer|tweede keer)\b"),
    (
        "frustration",
        r"\bklaar mee\b|\bteleurstell\w*|\bteleurgesteld\b|\bniet normaal\b|\bhoe moeilijk\b"
        r"|\bwaar slaat dit op\b|#\w*fail\b|\bzonde van (?:mijn|de) (?:tijd|geld)\b|\bdoe (?:eens )?beter\b"
        r"|\bschaam je\b|\bniet acceptabel\b",
    ),
    (
        "service",
        r"\b(?:slechtste|waardeloos|waardeloze|belachelijk|schandalig|onacceptabel|klantonvriendelijk|"
        r"bagger|onbeschoft|vervelend|chaos)\b|\bklopte? (?:weer |alweer |wederom )?niet\b"
        r"|\bverkeerde (?:factuur|rekening|bestelling|levering|pakket|adres)\b|\bwat nu\b",
    ),
    ("never_again", r"\bnooit meer\b|\bover(?:stappen|gestapt) naar\b|\bopzeggen\b|\bzeg\b[^.!?]{0,20}\bop\b"),
]
_HELP = {
    "en": r"\b(?:can|could|will|would) (?:some ?one|anyone|any ?body|you(?: guys)?|u) (?:please )?(?:help|assist|"
    r"tell|explain|fix|look|check|call|dm|get back)\b|\bhelp(?: me| us)?\s*[?!]|\bplease help\b|\bneed help\b"
    r"|\bhelp me\b|\bany (?:updates?|news|info\w*) (?:on|about) (?:my|our|flight|the status|when)\b|\bwhat (?:is|'s) going on\b|\bwhere is my\b"
    r"|\bwhy (?:is|are|was|were|did|do|does|can'?t|won'?t|would|hasn'?t|haven'?t|isn'?t)\b",
    "nl": r"\bkan (?:iemand|je|jij|u|jullie) (?:mij |me |ons )?(?:helpen|uitleggen|vertellen|kijken|bellen)\b"
    r"|\bhelp(?:en)?\s*[?!]|\bhelp (?:mij|me|ons)\b|\bwaar blijft\b|\bwaarom\b"
    r"|\bwat is er aan de hand\b|\bhoe lang nog\b|\bwie helpt\b",
}
_SARCASM = {
    "en": r"\bthanks? (?:a lot |so much )?for (?:nothing|ruining|losing|making me wait|the delay|cancell?ing|"
    r"leaving|stranding|ignoring|wasting)\b|\b(?:great|good|nice|awesome|fantastic|wonderful|amazing|brilliant)"
    r" (?:job|work|going|service)\b[^.!?]{0,25}\b(?:losing|lost|delay|cancel|ruin|strand|ignor|wait|again)"
    r"|\bjust (?:great|perfect|wonderful|lovely|fantastic)\b|\byeah right\b|\bso much for\b"
    r"|\bthanks? (?:again )?(?:@\w+ )?for (?:another|yet another)\b|\bnot (?:happy|impressed|cool|ok|okay)\b"
    r"|\bno thanks to\b|\b(?:love|loving) (?:how|that|when) (?:you|u|my)\b[^.!?]{0,40}\b(?:delay|cancel|lost|"
    r"wait|hours|late|strand|charge)"
    # A bare "Thanks." closing a story of trouble: "Ruined our vacation. Thanks a lot"
    r"|\b(?:ruin\w*|wast\w*|lost|cancel\w*|delay\w*|strand\w*|stuck|spent (?:my|our|the) (?:whole|entire))\b"
    r"(?:(?!\bbut\b|\bfound\b|\bfixed\b)[^!?]){0,80}[.!]\s*thanks(?: a lot| again| for that)?\W*$",
    "nl": r"\bbedankt voor (?:niets|niks|de vertraging|het wachten)\b|\b(?:lekker|goed|mooi) (?:bezig|geregeld|"
    r"gedaan)\b[^.!?]{0,25}\b(?:weer|kwijt|vertraging|te laat|niet)\b|\btop hoor\b|\bniet (?:blij|tevreden|oké)\b"
    r"|\bdank je wel (?:weer )?voor niks\b|\bgoed geregeld(?: weer)?\b",
}
# Gratitude or praise ("thanks for rebooking me", "you rock"): with it, a complaint marker is usually
# the problem that was solved. Ignored when the text is sarcastic.
_THANKS = {
    "en": r"\b(?:thanks?|thank you|thx|appreciate\w*|kudos|you rock|you guys rock|shout ?out to|grateful|well done|"
    r"great job|awesome|amazing|excellent|fantastic service|love (?:you|the|this|it|my))\b",
    "nl": r"\b(?:bedankt|dank(?:je| je| jullie)?(?: wel)?|dankjewel|complimenten|chapeau|top|super|fijn|netjes opgelost|"
    r"goed geholpen|heel fijn)\b",
}
_NEG_EMOJI = re.compile(
    "[\U0001f620\U0001f621\U0001f624\U0001f92c\U0001f62d\U0001f622\U0001f61e\U0001f61f"
    "\U0001f612\U0001f644\U0001f44e\U0001f4a9\U0001f629\U0001f62b\U0001f92f\U0001f926"
    "\U0001f937\u2639\U0001f641\U0001f615]"
)
_POS_EMOJI = re.compile(
    "[\U0001f60a\U0001f60d\U0001f970\u2764\U0001f499\U0001f49a\U0001f49c\U0001f44d"
    "\U0001f64f\U0001f389\U0001f600\U0001f601\U0001f603\U0001f604\U0001f642\U0001f929\u263a"
    "\U0001f917\U0001f4af\u2708]"
)
# A plain request for information ("do you fly to Boise?"): neutral unless something else says otherwise.
_INFO = {
    "en": r"^\W*(?:@\w+\W*)*(?:hi|hello|hey)?\W*(?:do|does|is|are|can (?:i|we|my)|could (?:i|we)|will|would|what|when|"
    r"which|how (?:do|can|much|many|early|long does|often)|where (?:do|can|does)|any chance|should i|may i)\b",
    "nl": r"^\W*(?:@\w+\W*)*(?:hoi|hallo)?\W*(?:is|zijn|kan ik|kunnen wij|mag|wat|wanneer|hoe (?:vraag|kan|lang duurt|"
    r"laat)|hoeveel|vanaf|op welk|rijdt|rijden|vliegen|vliegt|bezorgen|bezorgt|geldt|welke|moet ik)\b",
}
_HANDLE = re.compile(r"@\w+")


def _compile(pairs: list[tuple[str, str]]) -> list[tuple[str, re.Pattern[str]]]:
    # Searched in the lower-cased text (faster than IGNORECASE), one pattern per marker: measured
    # faster than one big alternation, which the regex engine tries branch by branch at every position.
    return [(name, re.compile(pattern)) for name, pattern in pairs]


_BY_LANGUAGE = {"en": _compile(_COMPLAINT_EN), "nl": _compile(_COMPLAINT_NL)}
_HELP_RE = {k: re.compile(v) for k, v in _HELP.items()}
_SARCASM_RE = {k: re.compile(v) for k, v in _SARCASM.items()}
_INFO_RE = {k: re.compile(v) for k, v in _INFO.items()}
_THANKS_RE = {k: re.compile(v) for k, v in _THANKS.items()}


@dataclass(frozen=True)
class Cues:
    complaint: tuple[str, ...]  # names of the complaint markers found
    sarcasm: bool
    help: bool  # a request for help or an explanation
    question: bool  # a question mark in a text addressed to a handle
    info: bool  # a plain question for information, with no complaint, sarcasm or call for help
    thanks: bool  # gratitude or praise, not sarcastic
    negative_emoji: int
    positive_emoji: int

    def reasons(self) -> tuple[str, ...]:
        flags = (
            ("sarcasm", self.sarcasm),
            ("help", self.help),
            ("question", self.question),
            ("info", self.info),
            ("thanks", self.thanks),
            ("emoji:negative", self.negative_emoji),
            ("emoji:positive", self.positive_emoji),
        )
        return (*(f"complaint:{name}" for name in self.complaint), *(reason for reason, on in flags if on))


def cues(text: str, language: str) -> Cues:
    """Every cue of `text`; a language other than en/nl is read with both languages' patterns."""
    languages = (language,) if language in _BY_LANGUAGE else ("en", "nl")
    lowered = text.lower()
    found: list[str] = []
    for lang in languages:
        for name, pattern in _BY_LANGUAGE[lang]:
            if name not in found and pattern.search(lowered):
                found.append(name)
    sarcasm = any(_SARCASM_RE[lang].search(lowered) for lang in languages)
    help_ = any(_HELP_RE[lang].search(lowered) for lang in languages)
    question = "?" in text and "@" in text and bool(_HANDLE.search(text))
    info = question and not (found or sarcasm or help_) and any(_INFO_RE[lang].search(lowered) for lang in languages)
    thanks = not sarcasm and any(_THANKS_RE[lang].search(lowered) for lang in languages)
    # Each cue computed above, named here: the likeness to spikes.py's Check(...) is keyword layout only.
    return Cues(
        complaint=tuple(found),
        sarcasm=sarcasm,
        help=help_,
        question=question,
        info=info,
        thanks=thanks,
        negative_emoji=len(_NEG_EMOJI.findall(text)),
        positive_emoji=len(_POS_EMOJI.findall(text)),
    )


# -- the trained model's inputs ---------------------------------------------------------------
_URL = re.compile(r"https?://\S+|www\.\S+")
_WORDS = re.compile(r"[@#]?\w+(?:'\w+)?|[!?.,;]|[\U0001F300-\U0001FAFF\u2600-\u27BF]", re.UNICODE)
_NEGATORS = frozenset(
    "not no never nothing nobody none cannot can't don't didn't doesn't won't isn't wasn't aren't "
    "weren't haven't hasn't couldn't shouldn't wouldn't niet geen nooit niets niks niemand".split()
)
_CLAUSE_END = frozenset("! ? but maar".split())


def tokens(text: str) -> list[str]:
    """Lower-cased words, handles as "@user", links as "url", numbers as "0"; words after a negator
    up to the clause's end carry a "neg_" prefix (so "not happy" and "happy" differ)."""
    lowered = _URL.sub(" url ", text.lower()).replace("\u2019", "'")
    out: list[str] = []
    negated = 0
    for word in _WORDS.findall(lowered):
        if word[0] == "@":
            word = "@user"
        elif word[0] == "#":
            word = word[1:] or "#"
        elif word.isdigit():
            word = "0"
        if word in _CLAUSE_END or word in ".,;":
            negated = 0
            if word in _CLAUSE_END:
                out.append(word)
            continue
        out.append("neg_" + word if negated else word)
        if word in _NEGATORS or word.endswith("n't"):
            negated = 3
        elif negated:
            negated -= 1
    return out


def lexical(text: str) -> list[str]:
    """Unigrams and bigrams of `tokens`: the sparse part of the trained model's input."""
    words = tokens(text)
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def dense(c: Cues, lexicon_score: float, text: str) -> dict[str, float]:
    """The dense part: the lexicon analyser's score and the customer-care cues."""
    out = {
        "lex": lexicon_score,
        "lex_neg": max(0.0, -lexicon_score),
        "lex_pos": max(0.0, lexicon_score),
        "complaints": float(min(len(c.complaint), 3)),
        "sarcasm": float(c.sarcasm),
        "help": float(c.help),
        "question": float(c.question),
        "info": float(c.info),
        "emoji_neg": float(min(c.negative_emoji, 3)),
        "emoji_pos": float(min(c.positive_emoji, 3)),
        "bang": float(min(text.count("!"), 3)),
    }
    for name in c.complaint:
        out[f"complaint:{name}"] = 1.0
    return out
