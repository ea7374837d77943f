"""Decoder handlers: how each step of a tokenizer's ``decoder`` chain maps one token to bytes.

:func:`plan_decoder` reduces a Hugging Face decoder chain to a :class:`DecoderPlan`, one
handler per step ``type`` (:data:`DECODERS`); another decoder is one handler here and one test
in ``tests/vocab/test_handlers.py``. What a token decodes to:

* ``ByteLevel`` (GPT-2, Qwen, Llama 3): characters map back through GPT-2's byte table (a
  token outside it, such as an added ``"<think>"``, is its UTF-8 text); the sequence then
  decodes as ``decode('utf-8', 'replace')`` does.
* ``Replace('▁', ' ')`` / ``Metaspace``: ``'▁'`` is a space; ``Strip(' ', 1, 0)`` drops one
  leading space of the whole text, ``Metaspace`` every ``'▁'`` of the first token. These
  first-token rules become a DFA state (:func:`twinkle.dfa.tokens.token_classes`).
* ``ByteFallback``: a ``<0xNN>`` token is byte ``NN``; each maximal run of them is its
  characters when valid UTF-8, else one U+FFFD per byte (also followed in the DFA).
* Special tokens (skipped) and ids past the tokenizer decode to ``b''``.

Not modelled: ``clean_up_tokenization_spaces=True`` (a warning says so); a non-special token
with empty text (it would use up a first-token rule or end a run in ``tokenizers``); other
decoders (WordPiece, CTC, regex ``Replace``...) raise ``NotImplementedError`` naming them.

>>> plan = plan_decoder({'type': 'ByteLevel'})
>>> plan.token_bytes('Ġhi', gpt2_byte_decoder())
b' hi'
"""

from __future__ import annotations

import dataclasses
import re
from typing import Callable, Dict, List, Optional, Tuple

from twinkle.vocab.table import NOT_A_BYTE

__all__ = ['DECODERS', 'DecoderPlan', 'decoder', 'gpt2_byte_decoder', 'plan_decoder']

_BYTE_FALLBACK = re.compile(r'<0x([0-9A-Fa-f]{2})>')


def gpt2_byte_decoder() -> Dict[str, int]:
    """GPT-2's unicode -> byte map used by byte-level BPE vocabularies (a space is ``'Ġ'``).

    >>> m = gpt2_byte_decoder()
    >>> m['Ġ'], m['a'], len(m)
    (32, 97, 256)
    """
    keep = (
        list(range(ord('!'), ord('~') + 1))
        + list(range(ord('¡'), ord('¬') + 1))
        + list(range(ord('®'), ord('ÿ') + 1))
    )
    kept = set(keep)
    out = {chr(b): b for b in keep}
    extra = 0
    for b in range(256):
        if b not in kept:
            out[chr(256 + extra)] = b
            extra += 1
    return out


def _flatten_decoder(cfg: Optional[dict]) -> List[dict]:
    if cfg is None:
        return []
    if cfg.get('type') == 'Sequence':
        out: List[dict] = []
        for d in cfg.get('decoders', []):
            out.extend(_flatten_decoder(d))
        return out
    return [cfg]


@dataclasses.dataclass
class DecoderPlan:
    """A decoder chain reduced to per-token steps and a final leading-byte strip.

    Attributes:
        replaces: ``(old, new)`` string replacements, in order, applied to every token.
        byte_level: characters map back to bytes through :func:`gpt2_byte_decoder`.
        byte_fallback: ``<0xNN>`` tokens are the byte ``NN``, decoded by runs.
        strip_first: the byte removed once from the start of the decoded text, or -1.
        first_remove: removed from the first emitting token instead of replaced
            (``Metaspace``), or ''.
    """

    replaces: List[Tuple[str, str]] = dataclasses.field(default_factory=list)
    byte_level: bool = False
    byte_fallback: bool = False
    strip_first: int = -1
    first_remove: str = ''

    def fallback_byte(self, token: str) -> int:
        """The byte of a ``<0xNN>`` token when the chain has ``ByteFallback``, else -1."""
        if not self.byte_fallback:
            return NOT_A_BYTE
        for old, new in self.replaces:
            token = token.replace(old, new)
        m = _BYTE_FALLBACK.fullmatch(token) if len(token) == 6 else None
        return int(m.group(1), 16) if m else NOT_A_BYTE

    def token_bytes(self, token: str, byte_map: Dict[str, int], first: bool = False) -> bytes:
        """The bytes of one token (``first``: as the first token that emits anything)."""
        b = self.fallback_byte(token)
        if b != NOT_A_BYTE:
            return bytes([b])
        if first and self.first_remove:
            token = token.replace(self.first_remove, '')
        for old, new in self.replaces:
            token = token.replace(old, new)
        if self.byte_level:
            try:
                return bytes(byte_map[c] for c in token)
            except KeyError:  # not a byte-level token: the tokenizers library keeps its text
                pass
        return token.encode('utf-8')


#: A handler: ``(plan, step config, whether the step is the chain's last)``; it updates
#: the plan or raises ``NotImplementedError`` for a configuration it cannot model.
Handler = Callable[[DecoderPlan, dict, bool], None]

#: The handler of each decoder ``type``.
DECODERS: Dict[str, Handler] = {}


def decoder(kind: str) -> Callable[[Handler], Handler]:
    """Registers a handler for the decoder ``type`` ``kind``."""

    def register(handler: Handler) -> Handler:
        DECODERS[kind] = handler
        return handler

    return register


@decoder('Replace')
def replace(plan: DecoderPlan, step: dict, last: bool) -> None:
    """``Replace(String, content)``: a plain string replacement in every token."""
    pat = step.get('pattern', {})
    if 'String' not in pat:
        raise NotImplementedError('token_table: a Replace decoder with a regex pattern is not supported')
    if plan.byte_fallback or plan.byte_level:
        raise NotImplementedError('token_table: Replace after ByteFallback/ByteLevel is not supported')
    plan.replaces.append((pat['String'], step.get('content', '')))


@decoder('ByteFallback')
def byte_fallback(plan: DecoderPlan, step: dict, last: bool) -> None:
    """``ByteFallback``: a ``<0xNN>`` token is the byte ``NN`` (decoded by runs)."""
    plan.byte_fallback = True


@decoder('ByteLevel')
def byte_level(plan: DecoderPlan, step: dict, last: bool) -> None:
    """``ByteLevel``: each character maps back through GPT-2's byte -> unicode table."""
    plan.byte_level = True


@decoder('Metaspace')
def metaspace(plan: DecoderPlan, step: dict, last: bool) -> None:
    """``Metaspace``: ``'▁'`` is a space, and dropped from the first token unless 'never'."""
    if plan.byte_fallback or plan.byte_level:
        raise NotImplementedError('token_table: Metaspace after ByteFallback/ByteLevel is not supported')
    repl = step.get('replacement', '\u2581')
    scheme = step.get('prepend_scheme')
    if scheme is None:  # older configs: add_prefix_space
        scheme = 'always' if step.get('add_prefix_space', True) else 'never'
    plan.replaces.append((repl, ' '))
    if scheme != 'never':
        plan.first_remove = repl


@decoder('Fuse')
def fuse(plan: DecoderPlan, step: dict, last: bool) -> None:
    """``Fuse`` joins the tokens' strings; the scan concatenates anyway."""


@decoder('Strip')
def strip(plan: DecoderPlan, step: dict, last: bool) -> None:
    """``Strip(content, 1, 0)`` as the last step: one leading one-byte character goes."""
    content, start, stop = step.get('content', ' '), int(step.get('start', 0)), int(step.get('stop', 0))
    if stop != 0 or start > 1 or not last or len(content.encode()) != 1:
        raise NotImplementedError(
            f'token_table: Strip decoder {step} is not supported (only one '
            'leading one-byte character, as the last step)'
        )
    if start == 1:
        plan.strip_first = content.encode()[0]


def plan_decoder(cfg: Optional[dict]) -> DecoderPlan:
    """The :class:`DecoderPlan` of a decoder config (a ``Sequence`` is flattened).

    Raises:
        NotImplementedError: a step has no handler, or a configuration its handler
            cannot model; the message names it.
    """
    steps = _flatten_decoder(cfg)
    plan = DecoderPlan()
    for i, step in enumerate(steps):
        kind = step.get('type')
        handler = DECODERS.get(kind)
        if handler is None:
            raise NotImplementedError(
                f'token_table: the {kind!r} decoder is not supported (supported: {", ".join(DECODERS)})'
            )
        handler(plan, step, i == len(steps) - 1)
    if plan.first_remove and plan.strip_first >= 0:
        raise NotImplementedError('token_table: Metaspace together with Strip is not supported')
    return plan
