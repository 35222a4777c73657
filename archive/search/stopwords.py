"""Stop words per language: words so common that they say nothing about a hit.

A stop word in a query of several words is neither required nor scored (``трусы и предатели``
needs ``трусы`` and ``предатели``, not ``и``); inside a phrase it must still be there, as said.
A stop word gets no word-form key (:mod:`.morph`): it is matched as written. ``=и`` searches
for the word itself. The lists are short on purpose (function words only): a content word
wrongly listed here could no longer rank a hit.
"""

from __future__ import annotations

_LISTS = {
    "ru": "а без бы был была были было в вам вас во вот все всё вы где да даже для до его её ее "
          "если есть ещё еще же за и из или им их к как ко когда кто ли либо мне мы на над "
          "не нет ни но ну о об он она они оно от по под при про с со так там то тот тоже "
          "только у уже чем что чтобы эта эти это этот я",
    "uk": "а або б без би був була були було в вам вас ви від він вона вони воно все де для "
          "до же з за зі і із й їх к коли ми мені на над не ні но о об от по під при про та "
          "так там те то тож тільки у уже це ці цей чи що щоб я як яка які який",
    "be": "а або без бы быў была былі было в вам вас вы дзе для да же з за і ім іх к калі "
          "мы мне на над не ні но па пад пры пра так там то толькі у ў ужо гэта гэты што каб "
          "я як",
    "pl": "a aby ale bez by być był była było były co czy dla do gdy i ich jak jako jest już "
          "jej go mi na nad nie niż o od on ona one oni po pod przez przy się są ta tak też "
          "to tu w we z za ze że",
    "de": "aber als am an auch auf aus bei bin bis da dann das dass dem den der des die doch "
          "du ein eine einem einen einer eines er es für hat hatte ich ihr im in ist ja "
          "mit nach nicht noch nur ob oder sein sich sie sind so um und uns vom von vor war "
          "was wie wir wird zu zum zur",
    "en": "a an and are as at be been but by did do does for from had has have he her him "
          "his i if in into is it its me my no not of on or our she so than that the their "
          "them then there they this to was we were what when which who will with you your",
    "fr": "à au aux avec ce ces dans de des du elle en est et il ils je la le les leur lui "
          "ma mais me mes ne nous on ou par pas pour qu que qui sa se ses son sur ta te tu "
          "un une vous y",
    "es": "a al como con de del el ella en es esta este ha la las le les lo los me mi no "
          "nos o para pero por que se si su sus te tu un una uno y ya",
    "it": "a ad al alla anche che chi ci come con da dal del della di e è gli ha il in io la "
          "le lo ma mi ne non o per più se si sono su tra tu un una uno",
    "pt": "a ao aos as com como da das de do dos e é ela ele em entre eu isso mas me na nas "
          "no nos o os ou para pela pelo por que se sem seu sua também um uma",
}
STOP_WORDS: dict[str, frozenset[str]] = {k: frozenset(v.split()) for k, v in _LISTS.items()}


def is_stop(lang: str, word: str) -> bool:
    """Whether a folded word is a stop word of a language (``lang`` as a base code)."""
    return word in STOP_WORDS.get(lang, ())


def is_stop_any(langs: "set[str] | frozenset[str]", word: str) -> bool:
    """Whether a folded word is a stop word in any of these languages."""
    return any(word in STOP_WORDS.get(x, ()) for x in langs)


def guess_language(words: "list[str]", default: str) -> str:
    """The language of a segment whose recording is in ``default``: another language when at
    least two of its folded words are stop words of that language only and none is a stop
    word of ``default`` only (the German half of an English recording), else ``default``."""
    mine = STOP_WORDS.get(default)
    if mine is None or len(words) < 3:
        return default
    if any(w in mine and not any(w in v for k, v in STOP_WORDS.items() if k != default)
           for w in words):
        return default
    best, score = default, 1
    for lang, stops in STOP_WORDS.items():
        if lang == default:
            continue
        n = sum(1 for w in words if w in stops and w not in mine)
        if n > score:
            best, score = lang, n
    return best
