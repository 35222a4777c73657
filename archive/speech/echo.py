"""Prompt echo: hotwords the model recited instead of hearing.

Hotwords are given to Whisper as a prompt. Now and then, mostly at the end of a segment,
the model writes the prompt back out: "…in front of his men. Khakassia, Navalny,
Chernihiv" with word probabilities near zero. Left in, such names would be found by search
and quoted as spoken. A run of at least two hotwords, in the prompt's order, every one of
them improbable, is taken out of the text, and reported so that the transcript can record
what was removed.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Sequence

from ..models import Segment, Word
from ..text import normalize

#: Echoed words are this improbable; spoken names, even misheard ones, score far higher.
MAX_PROBABILITY = 0.2
#: Fewest hotwords in a run taken for an echo (one improbable name may be real speech).
MIN_RUN = 2


def remove_echoes(segments: Sequence[Segment], hotwords: str | None
                  ) -> tuple[list[Segment], list[dict[str, object]]]:
    """Take runs of recited hotwords out of segments.

    Args:
        segments: Transcribed segments, with words.
        hotwords: The hotwords given to the model (comma- or space-separated), or None.

    Returns:
        (segments, echoes): the segments with echoed words removed (a segment left without
        words is dropped), and one ``{"start", "end", "text"}`` record per removed run.
    """
    order = [t for t in (normalize(x) for x in re.split(r"[,\s]+", hotwords or "")) if t]
    if len(order) < MIN_RUN:
        return list(segments), []
    rank = {t: i for i, t in reversed(list(enumerate(order)))}
    out: list[Segment] = []
    echoes: list[dict[str, object]] = []
    for seg in segments:
        keep: list[Word] = []
        run: list[Word] = []
        for w in list(seg.words) + [None]:  # type: ignore[list-item]
            t = normalize(w.text) if w is not None else ""
            follows = not run or (t in rank and rank[t] > rank[normalize(run[-1].text)])
            if w is not None and t in rank and w.probability < MAX_PROBABILITY and follows:
                run.append(w)
                continue
            if len(run) >= MIN_RUN:
                echoes.append({"start": run[0].start, "end": run[-1].end,
                               "text": " ".join(x.text for x in run)})
            else:
                keep.extend(run)
            run = []
            if w is not None:
                if t in rank and w.probability < MAX_PROBABILITY:
                    run.append(w)  # may start a new run
                else:
                    keep.append(w)
        if len(keep) == len(seg.words):
            out.append(seg)
        elif keep:
            out.append(dataclasses.replace(
                seg, words=tuple(keep), text=" ".join(w.text for w in keep),
                start=keep[0].start, end=keep[-1].end))
    return out, echoes
