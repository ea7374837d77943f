"""Decoder handlers: how each step of a tokenizer's ``decoder`` chain maps one token to bytes.

A Hugging Face tokenizer names its decoder chain in its config; :func:`plan_decoder` reduces
the chain to a :class:`DecoderPlan` by calling one handler per step (:data:`DECODERS`, keyed
by the step's ``type``). Supporting another decoder is one handler here and one test in
``tests/vocab/test_handlers.py``.

What a token decodes to, by decoder (read from the tokenizer's own ``decoder`` config):

* ``ByteLevel`` (GPT-2, Qwen, Llama 3): each character of the token maps back through
  GPT-2's byte -> unicode table; a token with a character outside that table (an added
  token such as ``"<think>"`` written in plain text) is taken as its UTF-8 text, which is
  what the tokenizers library does. The whole sequence is then decoded as one UTF-8
  string with U+FFFD replacement, exactly as Python's ``decode('utf-8', 'replace')``
  does (both replace each maximal ill-formed subpart by one U+FFFD), so agreement is exact.
* SentencePiece with byte fallback (Llama 2, Mistral; the decoder chain
  ``Replace('▁', ' ')``, ``ByteFallback``, ``Fuse``, ``Strip(' ', 1, 0)``): ``'▁'`` becomes a
  space, a ``<0xNN>`` token is the single byte ``NN``, and one leading space of the whole
  decoded text is removed. That last rule is not a property of one token, so it lives in
  the DFA: :func:`twinkle.dfa.tokens.token_classes` adds one state, "nothing emitted yet", whose transitions
  drop a leading space from the first non-empty token (see :attr:`TokenTable.strip_first`).
* ``Metaspace`` decoders (T5-style, and SentencePiece conversions with
  ``prepend_scheme='first'`` or ``'always'``): ``'▁'`` is a space, except in the first
  token the decoder sees, where every ``'▁'`` is dropped (``'▁a▁b'`` first decodes to
  ``'ab'``; checked against ``tokenizers``). The same extra state carries this rule, with
  the first token's bytes in :attr:`TokenTable.first_padded`.
* Special tokens (``skip_special_tokens=True``), and ids the tokenizer does not have (a
  model's embedding is often larger than its tokenizer) decode to ``b''``.
* ``ByteFallback`` (same decoders) decodes each maximal run of consecutive ``<0xNN>``
  tokens on its own (ids that decode to nothing, such as skipped special tokens, do not
  end a run): a run that is valid UTF-8 becomes its characters, any other run becomes one
  U+FFFD *per byte*, valid characters inside it included (``<0x80> <0x57>`` is two U+FFFD,
  not U+FFFD and ``W``). The table marks those ids (:attr:`TokenTable.fallback`) and
  :func:`twinkle.dfa.tokens.token_classes` follows the rule exactly: inside a run the state is the DFA state
  if the run turns out valid, the DFA state after one U+FFFD per byte so far, and the
  UTF-8 validator's state; the run's end picks one. A ``Strip`` rule drops the leading
  space of a valid first run, never anything of an invalid one.

Where exact agreement is impossible (documented, and tested as documented):

* ``clean_up_tokenization_spaces=True`` (a Python-side rewrite of ``" ."`` to ``"."`` and
  the like, after decoding) is not modelled: the table matches decoding with it off, and
  building a table for a tokenizer that has it on logs a warning.
* For the first-token rules, a token that decodes to nothing (a special token, an id past
  the tokenizer) leaves the rule for the next token, as in ``tokenizers``; a *non-special*
  token whose text is empty would, in ``tokenizers``' Metaspace decoder, use the rule up,
  and would end a byte-fallback run (no vocabulary we know has one).
* Decoders other than the ones above (WordPiece, CTC, BPE suffixes, regex ``Replace``)
  raise ``NotImplementedError`` naming the decoder.

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
    """GPT-2's unicode -> byte map used by byte-level BPE vocabularies.

    Printable Latin-1 characters stand for themselves; the 68 other byte values are
    given the code points 256, 257, ... in byte order (so a space is ``'Ġ'``, U+0120).

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
