"""The batched checker: extract -> normalize -> parse -> compare, with caching.

Each distinct gold is parsed once and each normalized (gold, prediction) pair decided once per
call, then kept in the checker's LRU cache; pairs the fast paths leave open go to sympy worker
processes under a per-sample deadline (``MathConfig.sympy_deadline_s``). Timeouts and dead
workers (method 'timeout') are faults of the call and never cached.

Rewards: 1.0 equal; 0.0 not equal, no committed answer, answer unparsable or too long, or
sympy timed out. NaN (abstain, method 'unparsable_gold') only when the gold cannot be used:
missing, empty, too long or a NaN/inf float, or unparsable and not string-equal to a
committed answer. No answer against a present but unparsable gold scores 0.0.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

from twinkle.math.config import MathConfig
from twinkle.math.extract import Extraction, extract_answer, extract_gold
from twinkle.math.grader import NeedSymbolic, compare
from twinkle.math.latex import ParseError, decimal_fraction, parse_answer
from twinkle.math.normalize import normalize
from twinkle.math.pool import shared_pool
from twinkle.math.question import Question, accepts, auxiliary_name, factor_count, read_question

__all__ = ['Verdict', 'MathChecker', 'METHODS']

#: Every value of ``Verdict.method``.
METHODS = (
    'exact',
    'structural',
    'numeric',
    'symbolic',
    'no_answer',
    'unparsable',
    'timeout',
    'unparsable_gold',
)


class Verdict(NamedTuple):
    """How one sample was scored.

    Attributes:
        reward: 1.0, 0.0, or NaN (abstain: the gold is unusable).
        answer: the extracted answer (raw text) or None.
        gold: the extracted gold answer or None.
        method: one of :data:`METHODS`.
        reason: a short free-text detail ('hedged', 'truncated', the sympy error...).
        seconds: time spent deciding this sample's (gold, answer) pair; a pair decided
            earlier in the batch or cached reports the time of that first decision.
        rule: which rule found the answer in the completion: 'boxed', 'answer_tag',
            'gsm8k', 'marker', 'heading', 'conclusion' (a sentence opened by "Therefore"
            and the like), 'sentence' (a final statement of the value); '' when there is
            no answer.
    """

    reward: float
    answer: Optional[str]
    gold: Optional[str]
    method: str
    reason: str = ''
    seconds: float = 0.0
    rule: str = ''


class _LRU:
    def __init__(self, size: int):
        self.size = size
        self.data: OrderedDict[tuple, tuple] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            v = self.data.get(key)
            if v is not None:
                self.data.move_to_end(key)
            return v

    def put(self, key, value) -> None:
        if self.size <= 0:
            return
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)


_PLAIN_NUMBER = re.compile(r'-?\d{1,30}(?:\.\d{1,30})?')


#: Gold texts that are a float's repr of NaN or infinity, not a written answer
#: (infinity as an answer is written ``\\infty``).
_FLOAT_NON_FINITE = frozenset({'nan', '-nan', '+nan', 'inf', '-inf', '+inf'})


class _Gold:
    __slots__ = ('raw', 'answer', 'norm', 'tree', 'error', 'number')

    def __init__(self, raw, max_chars: int):
        self.raw = raw
        if (
            isinstance(raw, float)
            and not math.isfinite(raw)
            or isinstance(raw, str)
            and raw.strip().lower() in _FLOAT_NON_FINITE
        ):
            # A NaN or inf float gold (a missing value in a data frame), or its repr,
            # names no answer: abstain rather than score every sample 0.0.
            self.answer, self.norm, self.tree, self.number = None, '', None, None
            self.error = f'gold is not a finite number ({raw})'
            return
        self.answer = extract_gold(raw)
        if self.answer is not None and len(self.answer) > max_chars:
            self.answer, self.norm, self.tree, self.number = None, '', None, None
            self.error = 'gold too long'
            return
        self.norm = normalize(self.answer) if self.answer is not None else ''
        self.tree = None
        self.error = ''
        self.number = decimal_fraction(self.norm) if _PLAIN_NUMBER.fullmatch(self.norm) else None
        if not self.norm:
            self.error = 'missing gold'
            return
        try:
            self.tree = parse_answer(self.norm, True)
        except ParseError as e:
            self.error = f'gold not parsable: {e}'
        except RecursionError:
            self.error = 'gold nested too deeply'


class MathChecker:
    """Scores completions against gold answers (the engine behind ``MathReward``).

    Args:
        config: a :class:`MathConfig`.

    Thread-safe: the caches are locked and the worker pool is shared.

    >>> checker = MathChecker()
    >>> [v.reward for v in checker.check([r'So \\boxed{\\frac{1}{2}}.', 'The answer is 0.05.'],
    ...                                  ['0.5', '0.5'])]
    [1.0, 0.0]
    """

    def __init__(self, config: Optional[MathConfig] = None):
        self.config = config or MathConfig()
        self._cache = _LRU(self.config.cache_size)
        self._gold_cache = _LRU(4096)

    # ------------------------------------------------------------------------------
    def _gold(self, raw) -> _Gold:
        key = raw if isinstance(raw, str) else repr(raw)
        g = self._gold_cache.get((key,))
        if g is None:
            g = _Gold(raw, self.config.max_answer_chars)
            self._gold_cache.put((key,), g)
        return g

    def _decide(
        self, gold: _Gold, pred_norm: str, symbolic, budget: Optional[_Budget] = None
    ) -> Tuple[float, str, str]:
        """``(reward, method, reason)`` for a parsed gold and a normalized prediction."""
        if gold.norm == pred_norm:
            return 1.0, 'exact', ''
        if gold.number is not None and _PLAIN_NUMBER.fullmatch(pred_norm):
            # Two plain numbers (most GSM8K-style pairs): exact rationals, no parsing.
            # Both are literals, so the approximate-decimal rule cannot apply.
            return (1.0 if gold.number == decimal_fraction(pred_norm) else 0.0), 'exact', ''
        if gold.tree is None:
            return math.nan, 'unparsable_gold', gold.error
        if len(pred_norm) > self.config.max_answer_chars:
            return 0.0, 'unparsable', 'answer too long'
        try:
            pred = parse_answer(pred_norm, True)
        except ParseError as e:
            return 0.0, 'unparsable', str(e)
        except RecursionError:
            return 0.0, 'unparsable', 'nested too deeply'
        ok, method = compare(gold.tree, pred, self.config, symbolic)
        if method == 'timeout':
            return 0.0, 'timeout', (budget.timeout if budget else '') or 'sympy deadline passed'
        # A sympy failure (memory, recursion, an unsupported form) counts as "not shown
        # equal"; its message is kept so that explain() can say why.
        errors = budget.errors if budget else ()
        why = f'sympy error: {errors[-1]}' if errors and not ok else ''
        return (1.0 if ok else 0.0), method, why

    def _symbolic(self, a, b, mode, budget: _Budget) -> Optional[bool]:
        """One sympy comparison within the deadline: None undecided, False when sympy failed."""
        left = budget.left()
        if left <= 0:
            budget.timeout = 'sympy deadline passed'
            return None
        status, value, used = shared_pool(self.config.num_workers).run_timed(a, b, mode, left)
        budget.spent += used
        if status == 'ok':
            return bool(value)
        if status == 'timeout':
            budget.timeout = 'sympy deadline passed'
            return None
        if status == 'died':
            budget.timeout = str(value)
            return None
        budget.errors.append(str(value))
        return False  # sympy failed (memory, unsupported): not shown equal

    # ------------------------------------------------------------------------------
    def check(
        self,
        completions: Sequence[object],
        ground_truths: Sequence[object],
        extractions: Optional[Sequence[Extraction]] = None,
        questions: Optional[Sequence[object]] = None,
    ) -> List[Verdict]:
        """Scores ``completions[i]`` against ``ground_truths[i]``.

        Args:
            completions: completion texts (non-strings score 0.0 'no_answer').
            ground_truths: gold answer texts: full solutions, GSM8K answers or bare values.
            extractions: ``extract_answer(completions[i])`` when the caller has them
                already (the token path does), so they are not computed twice.
            questions: the prompts (None for an unknown one). They decide the answers
                only a question can settle (see :mod:`twinkle.math.question`): a bound
                ("at least one"), a negated count ("there are no such pairs"), an
                auxiliary unknown ("t = 1" for "how many"), an incomplete factorisation.

        Returns:
            One :class:`Verdict` per completion.
        """
        _check_sizes(completions, ground_truths, questions)
        call = _Call(len(completions), self._gold)
        for i, (text, raw_gold) in enumerate(zip(completions, ground_truths)):
            self._admit(
                call,
                i,
                text,
                raw_gold,
                extractions[i] if extractions is not None else None,
                questions[i] if questions is not None else None,
            )
        deferred = self._fast_pass(call)
        self._sympy_pass(call, deferred)
        self._check_factorisations(call.out, call.factorise, call.norms)
        return call.out  # type: ignore[return-value]

    def _admit(
        self,
        call: _Call,
        i: int,
        text: object,
        raw_gold: object,
        ext: Optional[Extraction],
        question_text: object,
    ) -> None:
        """Extracts sample ``i`` and applies the question-aware rules; settles it or queues its pair."""
        t0 = time.perf_counter()
        gold = call.gold(raw_gold)
        if ext is None:
            ext = extract_answer(text, self.config.strict)
        call.answers[i], call.golds[i], call.rules[i] = ext.answer, gold.answer, _rule(ext)
        verdict = _unjudgeable(ext, gold)
        if verdict is None:
            question = read_question(question_text)
            if question is not None and question.factorise:
                call.factorise.append((i, gold))
            verdict = self._not_readable(ext, gold, question)
        if verdict is not None:
            call.out[i] = verdict._replace(seconds=time.perf_counter() - t0)
            return
        self._enqueue(call, i, ext, gold)

    def _not_readable(self, ext: Extraction, gold: _Gold, question: Optional[Question]) -> Optional[Verdict]:
        """The 0.0 verdict of an answer that is not the asked value or too long to read, else None."""
        why_not = _not_the_value(ext, question, gold.answer or '')
        if why_not:
            return Verdict(0.0, ext.answer, gold.answer, 'no_answer', why_not, 0.0, ext.how)
        if len(ext.answer) > self.config.max_answer_chars:
            return Verdict(0.0, ext.answer[:200], gold.answer, 'unparsable', 'answer too long', 0.0, ext.how)
        return None

    def _enqueue(self, call: _Call, i: int, ext: Extraction, gold: _Gold) -> None:
        """Sample ``i`` joins the samples of its normalized pair, or takes the cached verdict."""
        pred_norm = call.normalized(ext.answer)
        key = (gold.norm, pred_norm)  # the cache is per checker, so per config
        if key in call.pending:
            call.pending[key].append(i)
            return
        hit = self._cache.get(key)
        if hit is not None:
            r, m, why, secs = hit
            call.out[i] = Verdict(r, ext.answer, gold.answer, m, why, secs, ext.how)
            return
        call.pending[key] = [i]
        call.gold_of[key] = gold

    def _fast_pass(self, call: _Call) -> List[tuple]:
        """Pass 1: decides the open pairs the fast paths can; returns those that need sympy."""
        deferred = []
        for key in call.pending:
            t0 = time.perf_counter()
            try:
                r, m, why = self._decide(call.gold_of[key], key[1], _defer)
            except NeedSymbolic:
                deferred.append(key)
                continue
            self._settle(call, key, r, m, why, time.perf_counter() - t0)
        return deferred

    def _sympy_pass(self, call: _Call, deferred: List[tuple]) -> None:
        """Pass 2: the remaining pairs in sympy worker processes, each under its own deadline."""
        if not deferred:
            return
        workers = self.config.num_workers

        def run(key):
            return key, self._decide_in_workers(call.gold_of[key], key[1])

        if len(deferred) == 1 or workers == 1:
            results = [run(k) for k in deferred]
        else:
            with ThreadPoolExecutor(max_workers=min(workers, len(deferred))) as ex:
                results = list(ex.map(run, deferred))
        for key, (r, m, why, secs) in results:
            self._settle(call, key, r, m, why, secs)

    def _decide_in_workers(self, gold: _Gold, pred_norm: str) -> Tuple[float, str, str, float]:
        """``(reward, method, reason, seconds)`` for one pair, sympy allowed."""
        t0 = time.perf_counter()
        budget = _Budget(self.config.sympy_deadline_s)

        def sym(a, b, mode):
            return self._symbolic(a, b, mode, budget)

        r, m, why = self._decide(gold, pred_norm, sym, budget)
        return r, m, why, time.perf_counter() - t0

    @staticmethod
    def _check_factorisations(
        out: List[Verdict], factorise: List[Tuple[int, _Gold]], norms: Dict[str, str]
    ) -> None:
        """For a question that asks to factorise, an equal answer must also have as many factors."""
        for i, gold in factorise:
            v = out[i]
            if v.reward != 1.0:
                continue
            want = factor_count(gold.tree) if gold.tree is not None else 1
            if want < 2:
                continue
            try:
                got = factor_count(parse_answer(norms[v.answer], True))
            except (ParseError, RecursionError):
                continue
            if got != want:
                out[i] = v._replace(
                    reward=0.0,
                    method='structural',
                    reason=f'not the complete factorisation: {got} factors, the reference has {want}',
                )

    def _settle(self, call: _Call, key: tuple, r: float, m: str, why: str, secs: float) -> None:
        """Sets the verdict of every sample of pair ``key`` and caches it (never a timeout)."""
        if m != 'timeout':
            self._cache.put(key, (r, m, why, secs))
        for i in call.pending[key]:
            call.out[i] = Verdict(r, call.answers[i], call.golds[i], m, why, secs, call.rules[i])

    def score(self, completions: Sequence[object], ground_truths: Sequence[object]) -> List[float]:
        """Rewards only: 1.0 / 0.0 / NaN per completion.

        >>> MathChecker().score(['#### 1,000'], ['1000'])
        [1.0]
        """
        return [v.reward for v in self.check(completions, ground_truths)]


class _Call:
    """The state of one :meth:`MathChecker.check` call: per-sample texts, and samples per open pair."""

    __slots__ = (
        'out',
        'answers',
        'golds',
        'rules',
        'pending',
        'gold_of',
        'norms',
        'factorise',
        '_golds',
        '_load_gold',
    )

    def __init__(self, n: int, load_gold: Callable[[object], _Gold]):
        self.out: List[Optional[Verdict]] = [None] * n
        self.answers: List[Optional[str]] = [None] * n
        self.golds: List[Optional[str]] = [None] * n
        self.rules: List[str] = [''] * n
        self.pending: Dict[tuple, List[int]] = {}
        self.gold_of: Dict[tuple, _Gold] = {}
        self.norms: Dict[str, str] = {}  # raw answer -> normalized
        self.factorise: List[Tuple[int, _Gold]] = []  # samples whose question asks to factorise
        self._golds: Dict[object, _Gold] = {}
        self._load_gold = load_gold

    def gold(self, raw) -> _Gold:
        key = raw if isinstance(raw, str) else repr(raw)
        got = self._golds.get(key)
        if got is None:
            got = self._golds[key] = self._load_gold(raw)
        return got

    def normalized(self, answer: str) -> str:
        got = self.norms.get(answer)
        if got is None:
            got = self.norms[answer] = normalize(answer)
        return got


class _Budget:
    """One sample's sympy deadline (seconds in workers, not waits), shared by its comparisons."""

    __slots__ = ('seconds', 'spent', 'errors', 'timeout')

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.spent = 0.0
        self.errors: List[str] = []
        self.timeout = ''

    def left(self) -> float:
        return self.seconds - self.spent


_NEEDS = {
    'at_least': 'states a lower bound ("at least"), and the question asks for none',
    'at_most': 'states an upper bound ("at most"), and the question asks for none',
    'count': 'a negation ("there are no ..."), and the question counts no such things',
    'case': 'states a value for one case ("for even n, ..."), and the question sets no such case',
}


def _not_the_value(ext: Extraction, question: Optional[Question], gold: str) -> str:
    """Why an answer is not the asked value ('' if it may be): an unasked bound or negation, or an auxiliary unknown."""
    if ext.needs and not accepts(question, ext.needs, ext.about):
        return _NEEDS[ext.needs] + ('' if question is not None else ' (no question given)')
    name = auxiliary_name(question, ext.answer or '', gold)
    if name:
        return f'gives {name}, which the question does not name, for a "how many" question'
    return ''


def _check_sizes(
    completions: Sequence[object], golds: Sequence[object], questions: Optional[Sequence[object]]
) -> None:
    if len(completions) != len(golds):
        raise ValueError(f'MathChecker.check: {len(completions)} completions but {len(golds)} ground_truths')
    if questions is not None and len(questions) != len(completions):
        raise ValueError(f'MathChecker.check: {len(completions)} completions but {len(questions)} questions')


def _unjudgeable(ext: Extraction, gold: _Gold) -> Optional[Verdict]:
    """The verdict when there is nothing to compare: NaN without a usable gold, 0.0 without an answer."""
    if not gold.norm:
        return Verdict(
            math.nan,
            ext.answer,
            gold.answer,
            'unparsable_gold',
            gold.error or 'missing gold',
            0.0,
            _rule(ext),
        )
    if ext.answer is None:
        return Verdict(0.0, None, gold.answer, 'no_answer', ext.how, 0.0)
    return None


def _rule(ext: Extraction) -> str:
    return ext.how if ext.answer is not None else ''


def _defer(a, b, mode):
    raise NeedSymbolic
