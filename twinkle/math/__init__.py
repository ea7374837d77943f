r"""Math answer checking: extract (parser) / compare (grader) / score (checker).

>>> from twinkle.math import MathChecker
>>> MathChecker().score([r'Thus $\boxed{3\sqrt{2}}$.'], [r'\sqrt{18}'])
[1.0]
"""

from twinkle.math.checker import METHODS, MathChecker, Verdict
from twinkle.math.config import MathConfig
from twinkle.math.extract import Extraction, extract_answer, extract_gold
from twinkle.math.grader import compare
from twinkle.math.latex import ParseError, parse_answer, parse_expr
from twinkle.math.normalize import normalize
from twinkle.math.pool import WorkerPool

__all__ = [
    'MathChecker',
    'MathConfig',
    'Verdict',
    'METHODS',
    'Extraction',
    'extract_answer',
    'extract_gold',
    'compare',
    'ParseError',
    'parse_answer',
    'parse_expr',
    'normalize',
    'WorkerPool',
]
