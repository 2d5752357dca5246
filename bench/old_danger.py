"""The stem matcher that dialogs/danger.py replaced (issue 18), frozen here only as a speed baseline.

Spot "words of danger" in what a parent writes, so the bot can offer emergency help at once.

The matcher is deliberately generous: a false alarm costs one extra message with hotline numbers,
a miss may cost a life. Only the commonest everyday phrases that share a stem with a danger word
(eviction threats, blood tests, "кровать", "ножницы", teething) are carved out.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from enum import StrEnum
from string import ascii_lowercase
from typing import Final


class DangerKind(StrEnum):
    VIOLENCE = "violence"
    THREAT = "threat"
    SUICIDE = "suicide"
    CHILD_ALONE = "child_alone"
    MISSING = "missing"
    MEDICAL = "medical"


# Stems are matched on normalised text (see _normalise) from the start of a word. Russian endings are
# spelled out wherever a bare stem would also catch everyday words (нож/ножницы, кровь/кровать).
# A child, in any case or diminutive:
_CHILD: Final = (
    r"(?:р[еи]б[еи]н\w*|ребят\w*|дет(?:и|ей|ям|ьми|ях|ок|ки|кам|ками|ишк\w*|очк\w*)|сын\w*|доч\w*"
    r"|малыш\w*|малютк\w*|младен\w*|новорожд\w*|подрост\w*|школьни\w*|мальчик\w*|девоч\w*|девчон\w*"
    r"|пацан\w*|внук\w*|внуч\w*)\b"
)
_CHILD_EN: Final = r"(?:kids?|child(?:ren)?|bab(?:y|ies)|toddlers?|sons?|daughters?|boys?|girls?|teen\w*)\b"

# Idioms with "бить": electric shock, sounding the alarm, a blow to the family budget.
_FIGURATIVE_HIT: Final = r"(?!\W+(?:током|тревог\w*|ключом|рекорд\w*|фонтаном|по\W+(?:карман|бюджет)\w*))"
# "угроза выселения", "грозит штраф": threats by landlords, courts and banks are housing/legal issues.
_NOT_OFFICIAL: Final = (
    r"(?!(?:\W+\w+){0,3}?\W+(?:высел|выгон|выгн|выкин|выпис|отключ|суд|штраф|увольн|уволи|отчисл"
    r"|изъят|банкрот|долг(?:а|ов|ом|и|у)?\b|коллектор|лишени|лишит|пени|выкидыш|прерыван|снос|арест"
    r"|кредит|ипотек))"
)
_NOT_OFFICIAL_EN: Final = (
    r"(?!\W+(?:\w+\W+)?(?:evict|foreclos|lawsuit|court|fine|disconnect|sue\b|cut|fire\b|homeless))"
)
_UBIT: Final = r"(?:уби(?:ть|л|ла|ли|ло|вает|вают|вать|вал|вала|ваю)|уб[ьъ]?(?:ет|ют|ешь|ете|ю))\b"
# "не хочу жить с мужем" is about divorce, not about dying.
_NOT_WITH: Final = r"(?!\W+(?:с|со|в|во|у|на|вместе|здесь|там|тут|рядом|под|при|без|отдельно|где|как|так)\b)"


def _not_after(*words: str) -> str:
    # Python lookbehinds must be fixed width, hence one per preceding word.
    return "".join(rf"(?<!{w}\W)" for w in words)


_STEMS: Final[dict[DangerKind, tuple[str, ...]]] = {
    DangerKind.VIOLENCE: (
        r"б[ьъ]?(?:ет|ют|ешь|ете)\b" + _FIGURATIVE_HIT,
        r"би(?:л|ла|ли|ть)\b" + _FIGURATIVE_HIT,
        r"изби(?:ва|ени|т|л)\w*|поби(?:л|ть|ва)\w*|поб[ьъ](?:ет|ют)\b|побо(?:и|ев|ями)\b",
        r"удар(?:ил|ила|или|ит|ят|яет|яют|ял|яла|яли|ить|ять)\b|(?:от)?луп(?:ит|ят|ил|ила|или|ить)\b",
        r"(?:за)?душ(?:ит|ил|ила|или)\b|пина(?:ет|ют|л|ла|ли)\b(?!\W+мяч)",
        r"насил(?:и|ьн|ьст|ов|ует|уют)\w*|изнасил\w*|растл(?:ен|ев|ил)\w*|совращ\w*|совратил\w*|педофил\w*",
        r"дом[ао]га\w*|приста(?:ет|ют|вал\w*)\W+к\b|издева\w*|рукоприклад\w*|аб[ьъ]?юз\w*",
        r"жесток\w*\W+обращ\w*|подн\w*\W+(?:на\W+\w+\W+руку|руку\W+на)\b",
        r"(?:hit|hits|hitting|beat|beats|punch(?:es|ed|ing)?|kick(?:s|ed|ing)?|slap(?:s|ped|ping)?"
        r"|chok(?:es|ed)|strangl\w*|hurt(?:s|ing)?)\W+"
        r"(?:me|us|her|him|them|my|our|the\W+(?:kids|children|baby))\b(?!\W+up\b)",
        r"beat(?:en|ing)\b|battered|abus(?:e|ed|es|ing|ive|er)\b|rap(?:e|ed|es|ing|ist)\b|molest\w*",
        r"assault\w*|violen(?:ce|t)\b|grop(?:ed|ing)\b",
    ),
    DangerKind.THREAT: (
        _not_after("выселением", "судом", "выселения", "опека", "коллекторы", "банк")
        + r"угро[зж]\w*\b"
        + _NOT_OFFICIAL,
        r"гроз(?:ит|ят|ил|ила|или|ится|ятся|ился|илась|ились)\b" + _NOT_OFFICIAL,
        _not_after("себя") + _UBIT + r"(?!\W+(?:себя|время)\b)",
        r"убийств\w*|убийц\w*|приб[ьъ]?(?:ю|ет|ешь|ют)\b|зареж\w*|зарез(?:ать|ал|ала|али|ан\w*)\b|приреж\w*",
        r"прирез(?:ать|ал\w*)\b|(?:за|при)стрел\w*|задуш(?:у|ит|ат|ить)\b|покалеч\w*|изурод\w*",
        r"подо(?:жгу|жжет|жгут)\b|поджечь\b|поджог\w*|закопаю\b",
        r"(?:бо[юи]|опаса|страшно)\w*\W+за\W+(?:\w+\W+)?жизн\w*",
        r"нож(?:а|у|ом|е|и|ей|ам|ами|ах|ик\w*|ичк\w*|ев\w*)?\b",
        r"пистолет\w*|оружи\w*|руж[ьъ]\w*|травмат(?:ом|а|ик\w*)?\b|топор(?:ом|а|е|ы)?\b",
        _not_after("eviction") + r"threat(?:s|en|ens|ened|ening)?\b" + _NOT_OFFICIAL_EN,
        r"kill(?:s|ed|ing)?\b(?!\W+(?:(?:my|him|her|your|them)sel(?:f|ves)|time)\b)",
        r"(?:hand|shot)?guns?\b|gunpoint|knife|knives|pistols?\b|rifles?\b|firearms?\b|weapons?\b",
        r"stab(?:s|bed|bing)?\b|shoot\W+(?:me|us|her|him|them|you)\b|shot\W+(?:at|me|us|her|him|them)\b",
    ),
    DangerKind.SUICIDE: (
        r"су[иеы]цид\w*|с[ао]моуби\w*|самоповрежд\w*|селф\W?харм\w*",
        r"поконч\w*\W+(?:(?:с\W+)?(?:собой|жизнью)|со\W+всем)|счет\w*\W+с\W+жизнью",
        r"у(?:йти|йду|йдет)\W+из\W+жизни",
        _UBIT + r"\W+себя|себя\W+" + _UBIT,
        r"(?:вскр|пореза|перереза|реза|реж)\w*\W+(?:себе\W+)?вен(?:ы|а|у)\b",
        r"вен(?:ы|у)\W+(?:вскр|пореза|перереза|резать)|порез(?:ы|ов|ами|ах)\b|себя\W+(?:реж|порез)\w*",
        r"повес(?:иться|ится|илась|ился|ились|ятся|ишься)\b|повешусь\b|веша(?:ться|юсь|ется)\b",
        r"(?:выброс(?:иться|илась|ился|ится)|выброшусь|(?:вы|с)?прыг\w*|шагн\w*)\W+(?:\w+\W+)?"
        r"(?:из\W+окна|с\W+(?:крыши|моста|балкона|окна|этажа))",
        r"таблет\w*\W+(?:\w+\W+)?(?:выпи|выпь|наглот|сожр)\w*\W+(?:все|всю|разом)\b",
        r"наглота(?:юсь|ться|ется)\b|реж(?:у|ет|ут|ешь)\W+(?:себе\W+)?(?:руки|запяст\w*|бедр\w*)",
        r"(?:выпи|выпь|напи|напь|наглот|сожр|прогло)\w*\W+(?:\w+\W+)?"
        r"(?:все|всю|пачк\w*|горст\w*|упаковк\w*|кучу)\W+(?:\w+\W+)?таблет",
        r"(?:реж(?:у|ет|ут|ешь)|резать|резала?|порез(?:ать|ала|ал|ает)|порежу|изрез(?:ала|ал|ает))\W+"
        r"(?:себя\b|себе\W+(?:рук|ног|вен|запяст|кож|бедр|живот|лиц))",
        _not_after("не") + r"(?:хоч\w*|хоте\w*|лучше)\W+(?:бы\W+)?(?:\w+\W+)?"
        r"(?:умереть|умерла|умер|сдохнуть|исчезнуть|не\W+просыпаться)\b",
        r"не\W*хо[чт]\w*\W+(?:больше\W+|уже\W+|вообще\W+)?ж[иы]ть\b" + _NOT_WITH,
        r"ж[иы]ть\W+(?:больше\W+)?не\W*хо[чт]\w*\b" + _NOT_WITH,
        r"suicid\w*|self\W?harm\w*|wants?\W+to\W+die\b",
        r"(?:kill|killing|hurt|hurting|harm|harming|cut|cuts|cutting|hang|hanging)\W+(?:my|him|her|them|your)"
        r"sel(?:f|ves)\b",
        r"end(?:s|ing)?\W+(?:(?:my|his|her|their)\W+(?:own\W+)?li(?:fe|ves)|it\W+all)\b",
        r"(?:do|does|did)(?:n\W?t|\W+not)\W+want\W+to\W+(?:live|be\W+alive)\b"
        r"(?!\W+(?:with|in|here|there|at|near)\b)",
        r"(?:take|took|swallow\w*)\W+all\W+(?:the\W+|my\W+|her\W+|his\W+)?pills",
    ),
    DangerKind.CHILD_ALONE: (
        _CHILD + r"\W+(?:\w+\W+){0,3}?(?:один|одна|одни|одного|одну|одних)\W+"
        r"(?:дома|в\W+(?:квартир|доме|машин)\w*|на\W+улице|без\W+присмотр\w*|взаперти|заперт\w*)",
        _CHILD + r"\W+(?:\w+\W+){0,2}?остал\w*\W+(?:\w+\W+)?"
        r"(?:один|одна|одни|без\W+(?:присмотр|взросл|родител|матер|мам)\w*)",
        r"без\W+присмотр\w*|(?:брос|покину)\w*\W+(?:(?!со?\b)\w+\W+)?" + _CHILD,
        # Leaving a child with granny or at kindergarten is what parents do every day.
        r"остав\w*\W+(?:(?!со?\b)\w+\W+)?" + _CHILD + r"(?!\W+(?:у|с|со|в|во|на|к|при|под|бабушк\w*"
        r"|дедушк\w*|мам\w*|пап\w*|отц\w*|нян\w*|сосед\w*|родн\w*)\b)",
        r"left\W+alone|home\W+alone|alone\W+(?:at\W+home|in\W+the\W+(?:house|flat|apartment|car))|abandon\w*",
        r"unattended|unsupervised",
        r"left\W+(?:(?:the|my|our|his|her)\W+)?(?:kids?|child(?:ren)?|bab(?:y|ies)|sons?|daughters?)\W+"
        r"(?:alone|by\W+(?:them|him|her)sel(?:f|ves)|on\W+(?:their|his|her)\W+own)",
        _CHILD_EN + r"\W+(?:is|are|was|were|has\W+been|have\W+been)\W+(?:left\W+)?alone",
    ),
    DangerKind.MISSING: (
        # "у ребёнка пропал аппетит", "пособие на ребёнка пропало" are not about a missing child.
        _not_after("у", "на", "для", "от") + _CHILD + r"\W+(?:\w+\W+){0,2}?"
        r"(?:пропа[лв]\w*|исчез\w*|потерял(?:ся|ась|ись)|сбеж\w*|не\W+(?:вернул|пришл?|пришел|ночевал)\w*"
        r"|ушл[аи]\W+из\W+дома|ушел\W+из\W+дома)",
        r"(?:пропа[лв]\w*|исчез\w*|потерял(?:ся|ась|ись)|сбежал\w*|укра(?:л|ла|ли)|разыскива\w*"
        r"|не\W+(?:мо\w*|могу)\W+найти)\W+(?:(?!у\b|на\b|для\b)\w+\W+)?" + _CHILD,
        r"похи(?:тил\w*|щ\w*|тит\w*|тить)|без\W+вести|" + _CHILD + r"\W+(?:\w+\W+)?в\W+розыск\w*",
        r"(?:сбеж|убеж)\w*\W+(?:\w+\W+)?из\W+(?:дом|школ|интернат|детдом|детск|приют|лагер|санатор|больниц)",
        r"не\W+(?:вернул(?:ся|ась|ись)|пришл?[аи]?|пришел|ночевал\w*)\W+(?:\w+\W+)?(?:домой|дома|ночевать"
        r"|из\W+(?:школ|сад|детск|лагер)\w*|со?\W+(?:школ|прогулк|занят|тренировк|секци|кружк|учеб)\w*)",
        r"missing\b(?!\W+(?:\w+\W+)?(?:documents?|papers?|payments?|forms?|certificates?|pages?|files?|info"
        r"|deadline|receipts?|signatures?|benefits?)\b)",
        r"r[au]n\W+away|runaway|ran\W+off|disappeared|kidnap\w*|abduct\w*",
        r"(?:has|have|had|did)(?:n\W?t|\W+not)\W+(?:come|came|returned|got|been)\W+(?:back\W+)?home",
        r"never\W+(?:came|come|got|returned)\W+(?:back\W+)?home",
        r"(?:can\W?t|cannot|could\W?n\W?t|could\W+not)\W+find\W+(?:my|our|his|her)\W+" + _CHILD_EN,
    ),
    DangerKind.MEDICAL: (
        r"не\W+(?:мо\w*\W+)?дыш\w*\b(?!\W+носом)|удушь\w*|перестал\w*\W+дыша\w*|задых\w*|задохн\w*",
        r"(?:без|потерял\w*|теря\w*)\W+сознани\w*|обморок\w*|не\W+приход\w*\W+в\W+себя",
        # Blood tests and blood groups are routine paperwork for benefits and kindergarten.
        _not_after("анализ", "анализы", "анализа", "анализов", "группа", "группы", "сдать", "сдала", "сдал")
        + _not_after("сдали", "донор", r"сахар\Wв")
        + r"кров(?:ь|и|ью|ит|ят|ил\w*|ищ\w*|ав\w*|отеч\w*|оточ\w*|опотер\w*|оизлия\w*)\b",
        r"перед[ао]з\w*|отравил\w*|отравлени\w*|наглотал\w*",
        r"проглоти\w*\W+(?:\w+\W+)?(?:батарейк|магнит|таблет|монет|лекарств)\w*",
        r"судорог\w*|припад(?:ок|ка|ки)\b|посинел\w*|умира(?:ет|ют)\b|угроз\w*\W+(?:выкидыш|прерыван)\w*",
        r"выпал\w*\W+(?:из\W+окна|с\W+балкона)|вызва\w*\W+(?:\w+\W+)?скор(?:ую|ая|ой)\b",
        r"not\W+breathing|(?:isn\W?t|stopped|can\W?t|cannot|trouble)\W+breath\w*|unconscious|passed\W+out",
        r"faint(?:ed|ing)\b|unresponsive|overdos\w*|poison\w*|bleed\w*|bled\b",
        r"blood\b(?!\W+(?:tests?|sugar|type|pressure|work|donat\w*|samples?|count)\b)",
        r"seizures?\b|convuls\w*|chok(?:ing|ed\W+on)\b|dying\b|ambulance|turn(?:ed|ing)\W+blue",
        r"swallow\w*\W+(?:\w+\W+)?(?:pills|batter\w*|magnets?|bleach)",
    ),
}

_HEAD_LEN: Final = 4
_LOOKAROUND: Final = ("(?<!", "(?<=", "(?!", "(?=")


def _skip(pattern: str, i: int) -> int:
    """Index just past the escape, character class, group or character at i."""
    if pattern[i] == "\\":
        return i + 2
    if pattern[i] == "[":
        return pattern.index("]", i + 1) + 1
    if pattern[i] == "(":
        i += 1
        while pattern[i] != ")":
            i = _skip(pattern, i)
    return i + 1


def _branches(pattern: str) -> list[str]:
    cuts, i = [-1], 0
    while i < len(pattern):
        if pattern[i] == "|":
            cuts.append(i)
        i = _skip(pattern, i)
    cuts.append(len(pattern))
    return [pattern[a + 1 : b] for a, b in itertools.pairwise(cuts)]


def _heads(pattern: str, prefix: str = "") -> set[str]:
    """The literal word beginnings (up to _HEAD_LEN letters) that every match of pattern starts with.

    Reads only the regex syntax used in _STEMS; what it cannot read fails loudly at import.
    """
    return {head for branch in _branches(pattern) for head in _branch_heads(branch, prefix)}


def _branch_heads(branch: str, prefix: str) -> set[str]:
    i = 0
    while i < len(branch) and len(prefix) < _HEAD_LEN and branch[i] != "\\":
        end = _skip(branch, i)
        if branch.startswith(_LOOKAROUND, i):
            i = end
            continue
        quantifier = branch[end : end + 1]
        if branch[i] not in "([" and quantifier not in ("?", "*", "+", "{"):
            prefix, i = prefix + branch[i], end
            continue
        if branch[i] == "(" and not branch.startswith("(?:", i):
            raise ValueError(f"only (?:...) groups are supported: {branch!r}")
        if quantifier in ("*", "+", "{"):
            break  # past a repeated part the word beginning is not fixed
        if branch[i] == "(":
            options = _branches(branch[i + 3 : end - 1])
        else:
            options = list(branch[i + 1 : end - 1]) if branch[i] == "[" else [branch[i]]
        rest = branch[end + (quantifier == "?") :]
        return {
            head for option in options + [""] * (quantifier == "?") for head in _heads(option + rest, prefix)
        }
    if not prefix:
        raise ValueError(f"a danger pattern must start with a letter: {branch!r}")
    return {prefix}


def _trie(words: set[str]) -> str:
    # re tries each branch of an alternation in turn; factored by letter, a position costs a few tries.
    tails: dict[str, set[str]] = {}
    for word in words:
        tails.setdefault(word[0], set()).add(word[1:])
    branches = []
    for first, rest in sorted(tails.items()):
        tail = _trie(rest - {""}) if rest - {""} else ""
        branches.append(re.escape(first) + (f"(?:{tail})?" if tail and "" in rest else tail))
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


def _dispatch() -> dict[str, tuple[tuple[DangerKind, re.Pattern[str]], ...]]:
    """For each word beginning, one pattern per kind made of all stems that may match there."""
    stems_by_head: dict[str, list[tuple[DangerKind, str]]] = {}
    for kind, stems in _STEMS.items():
        for stem in stems:
            for head in _heads(stem):
                stems_by_head.setdefault(head, []).append((kind, stem))
    table = {}
    for head in stems_by_head:
        merged: dict[DangerKind, list[str]] = {}
        for size in range(1, len(head) + 1):
            for kind, stem in stems_by_head.get(head[:size], []):
                if stem not in merged.setdefault(kind, []):
                    merged[kind].append(stem)
        table[head] = tuple((kind, re.compile("|".join(stems))) for kind, stems in merged.items())
    return table


_DISPATCH: Final = _dispatch()
# Word starts that begin like some stem; normalised text has a space before every word.
_CANDIDATE: Final = re.compile(" " + _trie(set(_DISPATCH)))

_TO_CYRILLIC: Final = str.maketrans("aeopcxykmthb", "аеорсхукмтнв")
_TO_LATIN: Final = str.maketrans("аеорсхукмтнв", "aeopcxykmthb")
_MIXED: Final = re.compile(r"[a-z](?:(?=[а-я])|(?<=[а-я].))")
_TOKEN: Final = re.compile(r"[a-zа-я]+")
_LATIN: Final = re.compile(r"[a-z]")
_CYRILLIC: Final = re.compile(r"[а-я]")
# Zero-width and direction marks and stress accents vanish, common punctuation turns into spaces:
# str.replace of a few characters is much cheaper than a regex substitution at every comma.
_INVISIBLE: Final = (
    "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\ufeff\u0301"
)
_PUNCTUATION: Final = "\n\r\t.,!?:;()\"'«»-—–/"
_REPLACEMENTS: Final = (("ё", "е"), *((m, "") for m in _INVISIBLE), *((m, " ") for m in _PUNCTUATION))
_NON_WORD: Final = re.compile(r"[^\w ]+")


def _unmask(match: re.Match[str]) -> str:
    token = match.group()
    if not (_LATIN.search(token) and _CYRILLIC.search(token)):
        return token
    # A mixed word is far more often a disguised Russian one than an English one.
    as_cyrillic = token.translate(_TO_CYRILLIC)
    if not _LATIN.search(as_cyrillic):
        return as_cyrillic
    as_latin = token.translate(_TO_LATIN)
    return token if _CYRILLIC.search(as_latin) else as_latin


def _normalise(text: str) -> str:
    """Lower case, е for ё, look-alike letters unmasked, words separated by single spaces and padded."""
    # NFKC folds full-width letters and odd spaces and composes е + diaeresis into ё.
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.lower()
    for mark, replacement in _REPLACEMENTS:
        if mark in text:
            text = text.replace(mark, replacement)
    if not text.isascii() and any(map(text.__contains__, ascii_lowercase)) and _MIXED.search(text):
        text = _TOKEN.sub(_unmask, text)
    # re counts letters, digits and "_" as word characters, as isalnum does the first two.
    if not text.replace(" ", "").replace("_", "").isalnum():
        text = _NON_WORD.sub(" ", text)
    while "  " in text:
        text = text.replace("  ", " ")
    return f" {text} "


def find_danger(text: str) -> frozenset[DangerKind]:
    """The kinds of danger the text speaks of; empty when it reads as an everyday request."""
    normal = _normalise(text)
    found: set[DangerKind] = set()
    for candidate in _CANDIDATE.finditer(normal):
        for kind, pattern in _DISPATCH[candidate.group()[1:]]:
            if kind not in found and pattern.match(normal, candidate.start() + 1):
                found.add(kind)
    return frozenset(found)


def is_dangerous(text: str) -> bool:
    """Whether the text should make the bot offer emergency contacts straight away."""
    return bool(find_danger(text))
