"""The labelled set: (completion, gold, expected) cases in named categories.

Written for twinkle's tests and ``benchmarks/bench_math.py``. ``expected`` is True when
the completion's final answer equals the gold under twinkle's rules (form ignored,
decorations ignored, structure respected, no answer for hedges/truncation/refusals).
Most categories hold value pairs ``(gold, prediction, expected)`` that are wrapped in a
rotating set of completion templates, so each value is seen through a different marker;
the extraction categories hold whole completions.

Run ``python tests/math/labelled_cases.py`` to rewrite ``tests/math/data/labelled.jsonl``
(the file the benchmark reads); ``test_labelled.py`` checks that the file is current.
"""

from __future__ import annotations

import json
import os
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
JSONL = os.path.join(HERE, 'data', 'labelled.jsonl')

# Completion templates for value pairs; {a} is the prediction as written by a model.
TEMPLATES = [
    'We simplify step by step.\n\nTherefore the answer is $\\boxed{{{a}}}$.',
    '<think>Let me compute carefully. Maybe 17? No.</think>\nThe final answer is $\\boxed{{{a}}}$',
    'Combining the cases gives the result.\n\n**Answer:** ${a}$',
    'Solving the equation, we find the value.\nThe answer is ${a}$.',
    'First we expand, then collect terms.\n\n\\[\\boxed{{{a}}}\\]',
    'Working through the algebra:\n\n# Answer\n\n${a}$',
]

# ---------------------------------------------------------------------------------------
# Value pairs, by category: (gold, prediction, expected)
# ---------------------------------------------------------------------------------------
PAIRS: Dict[str, List[tuple]] = {
    # Plain integers, signs, leading zeros and spacing.
    'integers': [
        ('42', '42', True),
        ('-7', '-7', True),
        ('0', '0', True),
        ('12', '012', True),
        ('+5', '5', True),
        ('100', '100.0', True),
        ('3', '3.00', True),
        ('42', '24', False),
        ('-7', '7', False),
        ('0', '1', False),
        ('100', '1000', False),
        ('12', '-12', False),
        ('5', '5.1', False),
        ('7', '17', False),
    ],
    # Fractions and decimals: equal values in different forms; the 0.5 / 0.05 trap.
    'fractions_decimals': [
        ('0.5', '\\frac12', True),
        ('\\frac{1}{2}', '0.5', True),
        ('\\frac{3}{4}', '0.75', True),
        ('\\frac{6}{8}', '\\frac34', True),
        ('-\\frac{1}{2}', '\\frac{-1}{2}', True),
        ('\\frac{2}{4}', '1/2', True),
        ('\\dfrac{5}{2}', '2.5', True),
        ('0.125', '\\frac18', True),
        ('0.5', '0.05', False),
        ('\\frac12', '2', False),
        ('\\frac{1}{2}', '\\frac{2}{1}', False),
        ('\\frac34', '0.7', False),
        ('0.125', '0.12', False),
        ('-\\frac12', '\\frac12', False),
        ('\\frac{1}{3}', '0.3', False),
    ],
    # Mixed numbers (MATH convention: 2\frac12 = 5/2).
    'mixed_numbers': [
        ('\\frac52', '2\\frac12', True),
        ('2\\frac{1}{2}', '2.5', True),
        ('3\\frac{1}{4}', '\\frac{13}{4}', True),
        ('1\\frac{2}{3}', '\\frac53', True),
        ('7\\frac{1}{2}', '7.5', True),
        ('\\frac{11}{3}', '3\\frac{2}{3}', True),
        ('\\frac52', '\\frac12', False),
        ('2\\frac{1}{2}', '1', False),
        ('3\\frac{1}{4}', '\\frac34', False),
        ('1\\frac{2}{3}', '\\frac23', False),
        ('7\\frac12', '3.5', False),
        ('\\frac{11}{3}', '3\\frac13', False),
    ],
    # Radicals in any form.
    'radicals': [
        ('3\\sqrt{2}', '\\sqrt{18}', True),
        ('\\sqrt{8}', '2\\sqrt2', True),
        ('\\frac{\\sqrt{2}}{2}', '\\frac{1}{\\sqrt{2}}', True),
        ('2\\sqrt{3}', '\\sqrt{12}', True),
        ('\\sqrt[3]{16}', '2\\sqrt[3]{2}', True),
        ('5\\sqrt{5}', '\\sqrt{125}', True),
        ('\\sqrt{4}', '2', True),
        ('3\\sqrt{2}', '\\sqrt{6}', False),
        ('\\sqrt{8}', '4\\sqrt2', False),
        ('\\frac{\\sqrt{2}}{2}', '\\sqrt{2}', False),
        ('2\\sqrt{3}', '3\\sqrt{2}', False),
        ('\\sqrt[3]{16}', '4', False),
        ('5\\sqrt5', '5', False),
        ('\\sqrt{2}', '1.4', False),
    ],
    # Expressions with pi.
    'pi_expressions': [
        ('2\\pi', '\\pi\\cdot 2', True),
        ('\\frac{\\pi}{2}', '\\frac12\\pi', True),
        ('4\\pi', '4 \\pi', True),
        ('\\pi r^2', 'r^2\\pi', True),
        ('36\\pi', '6^2\\pi', True),
        ('\\frac{4}{3}\\pi', '\\frac{4\\pi}{3}', True),
        ('100\\pi', '10^2 \\pi', True),
        ('2\\pi', '\\pi', False),
        ('\\frac{\\pi}{2}', '2\\pi', False),
        ('4\\pi', '4', False),
        ('\\pi r^2', '2\\pi r', False),
        ('36\\pi', '36', False),
        ('\\frac{4}{3}\\pi', '\\frac{3}{4}\\pi', False),
        ('8\\pi', '16\\pi', False),
    ],
    # Polynomials: factored vs expanded, reordered terms.
    'polynomials': [
        ('x^2+2x+1', '(x+1)^2', True),
        ('(x-2)(x+3)', 'x^2+x-6', True),
        ('x^3-1', '(x-1)(x^2+x+1)', True),
        ('2x+4', '2(x+2)', True),
        ('a^2-b^2', '(a-b)(a+b)', True),
        ('3x^2-12', '3(x-2)(x+2)', True),
        ('x^2+2x+1', '(x-1)^2', False),
        ('(x-2)(x+3)', 'x^2-x-6', False),
        ('x^3-1', '(x-1)^3', False),
        ('2x+4', '2x+2', False),
        ('a^2-b^2', '(a-b)^2', False),
        ('3x^2-12', '3x^2+12', False),
        ('x+1', 'y+1', False),
    ],
    # Factorials and binomials evaluate exactly.
    'factorial_binomial': [
        ('120', '5!', True),
        ('5!', '120', True),
        ('\\binom{5}{2}', '10', True),
        ('3628800', '10!', True),
        ('\\dbinom{6}{3}', '20', True),
        ('24', '4!', True),
        ('120', '6!', False),
        ('\\binom{5}{2}', '20', False),
        ('10', '\\binom{5}{3}+1', False),
        ('24', '3!', False),
        ('720', '5!', False),
        ('\\binom{6}{3}', '15', False),
    ],
    # Numbers written in another base.
    'number_bases': [
        ('11', '1011_2', True),
        ('1011_2', '11', True),
        ('255', 'FF', False),
        ('8', '10_8', True),
        ('10_3', '3', True),
        ('13', '111_3', True),
        ('100_2', '4', True),
        ('11', '1011', False),
        ('1011_2', '1011', False),
        ('8', '10_7', False),
        ('10_3', '10', False),
        ('13', '111_2', False),
        ('100_2', '100', False),
    ],
    # Percent: 10 and 10% are the same answer; 25% equals 0.25.
    'percent': [
        ('10', '10\\%', True),
        ('10\\%', '10', True),
        ('0.25', '25\\%', True),
        ('25\\%', '0.25', True),
        ('50\\%', '50', True),
        ('12.5\\%', '12.5', True),
        ('40', '40 \\text{ percent}', True),
        ('10', '1\\%', False),
        ('0.25', '2.5\\%', False),
        ('25\\%', '0.025', False),
        ('50\\%', '5', False),
        ('12.5\\%', '125', False),
        ('40', '4\\%', False),
        ('30\\%', '0.03', False),
    ],
    # Thousands separators in the forms models and datasets use.
    'thousands_separators': [
        ('1000', '1,000', True),
        ('10080', '10,\\!080', True),
        ('12345', '12\\,345', True),
        ('1,000,000', '1000000', True),
        ('2500', '2{,}500', True),
        ('45000', '45,000', True),
        ('1000', '1,001', False),
        ('10080', '10,\\!800', False),
        ('12345', '12\\,354', False),
        ('1,000,000', '100000', False),
        ('2500', '250', False),
        ('45000', '4,500', False),
    ],
    # Units and words after the number.
    'units': [
        ('5', '5 \\text{ cm}', True),
        ('12', '12\\text{ inches}', True),
        ('3.5', '3.5 \\text{ hours}', True),
        ('20', '20\\mbox{ miles}', True),
        ('9', '9 \\text{cm}^2', True),
        ('60', '60 \\text{ mph}', True),
        ('5', '6 \\text{ cm}', False),
        ('12', '1.2 \\text{ inches}', False),
        ('3.5', '35 \\text{ hours}', False),
        ('20', '200\\mbox{ miles}', False),
        ('9', '3 \\text{cm}^2', False),
        ('60', '6 \\text{ mph}', False),
    ],
    # Degree signs and words.
    'degrees': [
        ('90', '90^\\circ', True),
        ('45^\\circ', '45', True),
        ('30', '30^{\\circ}', True),
        ('120', '120 \\text{ degrees}', True),
        ('60^\\circ', '60\\degree', True),
        ('90', '9^\\circ', False),
        ('45^\\circ', '135', False),
        ('30', '60^{\\circ}', False),
        ('120', '12 \\text{ degrees}', False),
        ('60^\\circ', '30^\\circ', False),
    ],
    # Currency symbols and words.
    'currency': [
        ('5', '\\$5', True),
        ('\\$12.50', '12.5', True),
        ('18', '\\$18.00', True),
        ('1500', '\\$1,500', True),
        ('7', '7 \\text{ dollars}', True),
        ('5', '\\$50', False),
        ('\\$12.50', '12.05', False),
        ('18', '\\$1.80', False),
        ('1500', '\\$15,000', False),
        ('7', '70 \\text{ dollars}', False),
    ],
    # \text{} wrappers, \left \right, \dfrac, spacing commands.
    'latex_wrappers': [
        ('\\frac{3}{5}', '\\dfrac{3}{5}', True),
        ('(1,2)', '\\left(1, 2\\right)', True),
        ('6', '\\text{6}', True),
        ('\\frac{1}{4}', '\\tfrac{1}{4}', True),
        ('\\sqrt{3}', '\\sqrt{ 3 }', True),
        ('15', '\\mathbf{15}', True),
        ('2x', '2\\,x', True),
        ('\\frac{3}{5}', '\\dfrac{5}{3}', False),
        ('(1,2)', '\\left(2, 1\\right)', False),
        ('6', '\\text{9}', False),
        ('\\frac{1}{4}', '\\tfrac{1}{2}', False),
        ('\\sqrt{3}', '\\sqrt{ 2 }', False),
        ('15', '\\mathbf{51}', False),
    ],
    # Multiple-choice letters in their common spellings.
    'multiple_choice': [
        ('C', 'C', True),
        ('C', '(C)', True),
        ('C', '\\text{(C)}', True),
        ('(B)', 'B', True),
        ('\\text{(D)}', 'D', True),
        ('E', '\\textbf{(E)}', True),
        ('A', '(A) 12', True),
        ('C', 'B', False),
        ('C', '(D)', False),
        ('C', '\\text{(A)}', False),
        ('(B)', 'E', False),
        ('\\text{(D)}', 'C', False),
        ('E', '\\textbf{(A)}', False),
        ('A', '(B) 12', False),
    ],
    # Ordered tuples and points.
    'tuples_points': [
        ('(1,2)', '(1, 2)', True),
        ('(3,-4)', '\\left(3,-4\\right)', True),
        ('(\\frac12, 3)', '(0.5, 3)', True),
        ('(1,2,3)', '(1,2,3)', True),
        ('(2\\sqrt2, 1)', '(\\sqrt8, 1)', True),
        ('(0,0)', '(0, 0)', True),
        ('(1,2)', '(2,1)', False),
        ('(3,-4)', '(3,4)', False),
        ('(1,2,3)', '(1,2)', False),
        ('(\\frac12, 3)', '(2, 3)', False),
        ('(2\\sqrt2,1)', '(2,1)', False),
        ('(0,0)', '(0,1)', False),
    ],
    # Vectors and matrices, element by element.
    'vectors_matrices': [
        ('\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}', '\\begin{pmatrix}1\\\\2\\end{pmatrix}', True),
        ('\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}', '(1,2)', True),
        (
            '\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}',
            '\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}',
            True,
        ),
        (
            '\\begin{pmatrix} 1/2 \\\\ -3 \\end{pmatrix}',
            '\\begin{pmatrix} \\frac12 \\\\ -3 \\end{pmatrix}',
            True,
        ),
        (
            '\\begin{pmatrix} 2 & 0 \\\\ 0 & 2 \\end{pmatrix}',
            '\\begin{pmatrix} 2 & 0 \\\\ 0 & 2 \\end{pmatrix}',
            True,
        ),
        ('\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}', '\\begin{pmatrix}2\\\\1\\end{pmatrix}', False),
        (
            '\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}',
            '\\begin{pmatrix} 1 & 3 \\\\ 2 & 4 \\end{pmatrix}',
            False,
        ),
        ('\\begin{pmatrix} 1/2 \\\\ -3 \\end{pmatrix}', '\\begin{pmatrix} 2 \\\\ -3 \\end{pmatrix}', False),
        ('\\begin{pmatrix} 1 \\\\ 2 \\\\ 3 \\end{pmatrix}', '(1,2)', False),
        ('\\begin{pmatrix} 2 & 0 \\\\ 0 & 2 \\end{pmatrix}', '2', False),
    ],
    # Intervals: endpoints and openness exactly; unions.
    'intervals': [
        ('[1,2)', '[1,2)', True),
        ('(0,\\infty)', '(0, \\infty)', True),
        ('(-\\infty, 3]', '\\left(-\\infty,3\\right]', True),
        ('[\\frac12, 1]', '[0.5, 1]', True),
        ('(-\\infty,0)\\cup(1,\\infty)', '(-\\infty, 0) \\cup (1, \\infty)', True),
        ('(2, \\infty)', 'x > 2', True),
        ('[-1, 4]', '-1 \\le x \\le 4', True),
        ('[1,2)', '[1,2]', False),
        ('[1,2)', '(1,2)', False),
        ('(0,\\infty)', '[0,\\infty)', False),
        ('(-\\infty, 3]', '(-\\infty, 3)', False),
        ('[\\frac12,1]', '[2, 1]', False),
        ('(-\\infty,0)\\cup(1,\\infty)', '(-\\infty, 0)', False),
        ('(2,\\infty)', 'x \\ge 2', False),
    ],
    # Sets and solution lists: unordered, complete.
    'sets_solutions': [
        ('\\{1, 2\\}', '\\{2, 1\\}', True),
        ('1, 2', '2, 1', True),
        ('-3, 3', '3, -3', True),
        ('1,2,3', '\\{3,2,1\\}', True),
        ('x=1, x=2', '1, 2', True),
        ('2, 5', 'x=5 \\text{ or } x=2', True),
        ('\\frac12, -1', '-1, 0.5', True),
        ('\\{1, 2\\}', '\\{1\\}', False),
        ('1, 2', '2', False),
        ('-3, 3', '3', False),
        ('1,2,3', '1,2', False),
        ('1,2', '1,2,3', False),
        ('2, 5', '2, 6', False),
        ('\\frac12, -1', '\\frac12, 1', False),
    ],
    # Equations: "x = 3" answers 3; equations compare as equations.
    'equations': [
        ('3', 'x = 3', True),
        ('x=3', '3', True),
        ('y = 2x + 1', 'y = 1 + 2x', True),
        ('y=2x+1', '2x - y + 1 = 0', True),
        ('x^2 + y^2 = 4', 'y^2 + x^2 = 4', True),
        ('y = -x + 5', 'x + y = 5', True),
        ('k = \\frac{1}{2}', '0.5', True),
        ('3', 'x = 4', False),
        ('x=3', '-3', False),
        ('y = 2x + 1', 'y = 2x - 1', False),
        ('y=2x+1', 'y = x + 1', False),
        ('x^2+y^2=4', 'x^2+y^2=2', False),
        ('y = -x + 5', 'x - y = 5', False),
        ('k=\\frac12', '2', False),
    ],
    # \pm expands to both values.
    'plus_minus': [
        ('1 \\pm \\sqrt{2}', '1+\\sqrt2, 1-\\sqrt2', True),
        ('\\pm 3', '3, -3', True),
        ('2 \\pm i', '2+i, 2-i', True),
        ('-1\\pm\\sqrt{5}', '-1-\\sqrt5, -1+\\sqrt5', True),
        ('3,-3', '\\pm 3', True),
        ('x = \\pm 2', '2, -2', True),
        ('1 \\pm \\sqrt{2}', '1+\\sqrt2', False),
        ('\\pm 3', '3', False),
        ('2\\pm i', '2+i, -2-i', False),
        ('-1\\pm\\sqrt5', '1\\pm\\sqrt5', False),
        ('3,-3', '\\pm 9', False),
        ('x=\\pm 2', '2', False),
    ],
    # Complex numbers.
    'complex_numbers': [
        ('3+4i', '4i+3', True),
        ('1-i', '-i+1', True),
        ('2i', 'i \\cdot 2', True),
        ('\\frac{1}{2} + \\frac{\\sqrt3}{2} i', '0.5 + \\frac{\\sqrt{3}}{2}i', True),
        ('i', '\\sqrt{-1}', True),
        ('-1', 'i^2', True),
        ('3+4i', '3-4i', False),
        ('1-i', '1+i', False),
        ('2i', '2', False),
        ('\\frac12+\\frac{\\sqrt3}{2}i', '\\frac12-\\frac{\\sqrt3}{2}i', False),
        ('i', '-i', False),
        ('-1', 'i', False),
    ],
    # Infinity.
    'infinity': [
        ('\\infty', '\\infty', True),
        ('-\\infty', '-\\infty', True),
        ('\\infty', '+\\infty', True),
        ('\\infty', '\\infinity', True),
        ('(-\\infty, \\infty)', '(-\\infty,\\infty)', True),
        ('\\infty', '-\\infty', False),
        ('-\\infty', '\\infty', False),
        ('\\infty', '10^{100}', False),
        ('\\infty', '0', False),
        ('(-\\infty,\\infty)', '(0,\\infty)', False),
    ],
    # Exact rationals: tiny and huge values are never rounded.
    'exact_magnitudes': [
        ('\\frac{1}{2^{60}}', '2^{-60}', True),
        ('2^{100}', '1267650600228229401496703205376', True),
        ('10^{-12}', '0.000000000001', True),
        ('\\frac{1}{1024}', '2^{-10}', True),
        ('3^{40}', '12157665459056928801', True),
        ('10^{20}', '100000000000000000000', True),
        ('\\frac{1}{2^{60}}', '\\frac{1}{2^{61}}', False),
        ('2^{100}', '2^{100}+1', False),
        ('10^{-12}', '10^{-13}', False),
        ('10^{-12}', '0', False),
        ('\\frac{1}{1024}', '0.001', False),
        ('3^{40}', '12157665459056928800', False),
        ('10^{20}', '10^{21}', False),
    ],
    # Decimals that approximate exact values (enough digits), and ones that do not.
    'approximations': [
        ('\\frac{1}{3}', '0.333', True),
        ('\\pi', '3.14', True),
        ('\\sqrt{2}', '1.414', True),
        ('2\\pi', '6.283', True),
        ('\\frac{2}{3}', '0.667', True),
        ('e', '2.718', True),
        ('\\frac{1}{3}', '0.3', False),
        ('\\pi', '3.15', False),
        ('\\sqrt2', '1.41', True),
        ('2\\pi', '6.29', False),
        ('\\frac{2}{3}', '0.66', False),
        ('e', '2.7', False),
        ('0.125', '0.13', False),
        ('12.25', '12.3', False),
    ],
    # Trigonometric, logarithmic and exponential values.
    'functions': [
        ('\\frac{\\sqrt{3}}{2}', '\\sin 60^\\circ', True),
        ('\\frac12', '\\cos(\\pi/3)', True),
        ('1', '\\tan\\frac{\\pi}{4}', True),
        ('3', '\\log_2 8', True),
        ('2', '\\ln(e^2)', True),
        ('e^2', 'e \\cdot e', True),
        ('\\sin^2 x + \\cos^2 x', '1', True),
        ('\\frac12', '\\sin(\\pi/3)', False),
        ('3', '\\log_2 9', False),
        ('2', '\\ln 2', False),
        ('e^2', '2e', False),
        ('1', '\\tan\\frac{\\pi}{3}', False),
        ('\\frac12', '\\cos 30^\\circ', False),
        ('|x|', 'x', False),
        ('|x|', '\\sqrt{x^2}', True),
    ],
    # Text answers.
    'text_answers': [
        ('\\text{Monday}', 'Monday', True),
        ('\\text{even}', '\\text{Even}', True),
        ('yes', '\\text{Yes}', True),
        ('\\text{Evelyn}', '\\textbf{Evelyn}', True),
        ('\\text{Monday}', 'Tuesday', False),
        ('\\text{even}', '\\text{odd}', False),
        ('yes', 'no', False),
        ('\\text{Evelyn}', 'Ella', False),
    ],
}

# ---------------------------------------------------------------------------------------
# Whole completions, by category: (completion, gold, expected)
# ---------------------------------------------------------------------------------------
WHOLE: Dict[str, List[tuple]] = {
    # The last box wins; nested and escaped braces; \fbox; boxes joined at the end.
    'extraction_boxed': [
        ('So $\\boxed{\\frac{\\sqrt{3}}{2}}$.', '\\frac{\\sqrt3}{2}', True),
        ('The set is $\\boxed{\\{1, 2\\}}$.', '\\{1,2\\}', True),
        ('Hence \\fbox{12}.', '12', True),
        ('First guess \\boxed{5}, but recheck: it is \\boxed{7}.', '7', True),
        ('The solutions are $\\boxed{2}$ and $\\boxed{3}$.', '2, 3', True),
        ('Thus \\boxed{{{{4}}}}.', '4', True),
        ('$\\boxed{\\left(\\frac{1}{2}, \\frac{3}{4}\\right)}$', '(0.5, 0.75)', True),
        ('\\boxed 7', '7', True),
        ('First I got \\boxed{5}. Wait, that is wrong, it is \\boxed{6}.', '5', False),
        ('The answer is \\boxed{7', '7', False),
        ('So the answer: $\\boxed{8}$? Not sure.', '9', False),
        ('The set is $\\boxed{\\{1\\}}$.', '\\{1,2\\}', False),
        ('The solutions are $\\boxed{2}$ and $\\boxed{3}$.', '2', False),
        ('Then $\\boxed{\\frac{1}{2}}$ is the probability.', '\\frac{1}{3}', False),
    ],
    # Explicit markers: ####, "The (final) answer is", **Answer:**, # Answer.
    'extraction_markers': [
        ('48 + 24 = 72 clips in total.\n#### 72', '72', True),
        ('She pays 3 * 5 = 15.\nThe final answer is 15.', '15', True),
        ('Adding them up.\n\n**Answer:** 36', '36', True),
        ('Adding them up.\n\n**Final Answer:** $\\frac{7}{2}$', '3.5', True),
        ('Computation done.\n\n# Answer\n\n28', '28', True),
        ('Thus, the answer is $x = 4$.', '4', True),
        ('The answer is: 1,250 dollars.', '1250', True),
        ('Answer: (B)', 'B', True),
        ('If the answer is 5, then the check works. The answer is 6.', '6', True),
        ('48 + 24 = 72 clips in total.\n#### 27', '72', False),
        ('The final answer is 16.', '15', False),
        ('The answer is 8 or 9?', '8', False),
        ('**Answer:** maybe 36', '36', False),
        ('The answer is 5. Actually no, the answer is 6.', '5', False),
    ],
    # Concluding sentences (when the response ends cleanly), and ones that are not.
    'extraction_conclusion': [
        ('She earns 12 each day for 5 days. Therefore, she earns $60$ dollars.', '60', True),
        ('Adding 3 and 4 gives 7.\n\nSo the total is 7.', '7', True),
        ('We need 8 * 3 = 24 cookies. Thus, Maria needs 24 cookies.', '24', True),
        ('Each box has 6. Hence the number of boxes is $\\frac{30}{6} = 5$.', '5', True),
        ('In total, the farmer has 120 animals.', '120', True),
        ('Therefore, $x = -2$.', '-2', True),
        ('She earns 12 each day for 5 days, so 60', '60', False),
        ('First 5, then 6, then 7', '7', False),
        ('Therefore, she earns $65$ dollars.', '60', False),
        ('So the total is 7 or 8?', '7', False),
        ('We compute 3 * 4 = 12 and then add 2 to get 14', '14', False),
    ],
    # Reasoning blocks: only what follows the last </think> counts.
    'extraction_think': [
        ('<think>Try 5. No, 6 works.</think>\nThe answer is $\\boxed{6}$.', '6', True),
        ('<think>\\boxed{3} is a guess</think> After checking, \\boxed{4}.', '4', True),
        ('<think>a</think><think>b is \\boxed{1}</think>Final: \\boxed{2}', '2', True),
        ('<think>The answer is \\boxed{9}</think>#### 9', '9', True),
        ('<think>The answer is clearly \\boxed{6}, let me double check the', '6', False),
        ('<think>Try 5. No, 6 works.</think>\nThe answer is $\\boxed{5}$.', '6', False),
        ('<think>\\boxed{4}</think> I am not able to finish.', '4', False),
        ('<think>So 12</think>', '12', False),
    ],
    # No committed answer: hedges, refusals, code only, truncation, the gold only in
    # the reasoning, and never "the last number anywhere".
    'no_answer': [
        ("I'm sorry, I cannot solve this problem.", '4', False),
        ('```python\nprint(2 + 2)\n```', '4', False),
        ('```python\nanswer = 4\nprint(answer)\n```', '4', False),
        ('Let me compute: 2 + 2 = 4, and then multiply by', '4', False),
        ('It could be 8 or 9.', '8', False),
        ('Maybe the answer is 12?', '12', False),
        ('The value is either 3 or 4.', '3', False),
        ('We have 3 apples and 4 pears, 7 fruits', '7', False),
        ('x = 4 satisfies the first equation but I am not sure about the second', '4', False),
        ('', '1', False),
        ('The answer is', '1', False),
        ('Step 1: 10 / 2 = 5. Step 2: 5 + 1 = 6. Step 3: checking 6', '6', False),
    ],
    # Answers as models phrase them (MATH/GSM8K style), with traps of the same shapes.
    'model_outputs': [
        (r'\boxed{\text{(A)}\ 5}', 'A', 1),
        (r'\boxed{x = 2, y = 3}', '(2,3)', 1),
        (r'\boxed{\frac{\sqrt{3}}{3}}', r'\frac{1}{\sqrt3}', 1),
        (r'\boxed{\$ 1.50}', '1.5', 1),
        (r'\boxed{50\%}', r'\frac12', 1),
        (r'\boxed{6 \text{ and } 8}', '6, 8', 1),
        (r'\boxed{f(x) = 2x+1}', '2x+1', 1),
        (r'\boxed{2x = 6}', '3', 0),
        (r'\boxed{3 \times 10^5}', '300000', 1),
        (r'\boxed{x = \pm 2}', r'\{-2, 2\}', 1),
        (r'\boxed{x < -2 \text{ or } x > 2}', r'(-\infty, -2) \cup (2, \infty)', 1),
        (r'\boxed{\textbf{(B) } 7}', 'B', 1),
        ('The answer is $18.', '18', 1),
        ('Therefore, Janet makes $18 every day.', '18', 1),
        ('So she has 5 apples left.', '5', 1),
        (r'\boxed{\frac{-1 \pm \sqrt{5}}{2}}', r'\frac{-1+\sqrt5}{2}, \frac{-1-\sqrt5}{2}', 1),
        (r'\boxed{\text{No solution}}', r'\text{no solution}', 1),
        (r'\boxed{\emptyset}', r'\varnothing', 1),
        (r'\boxed{\sqrt{x}}', 'x^{1/2}', 1),
        (r'\boxed{2^{10}}', '1024', 1),
        (r'\boxed{24\text{ sq units}}', '24', 1),
        (r'\boxed{-\dfrac{3}{2}}', '-1.5', 1),
        (r'\boxed{10\sqrt{2}}', '14.14', 1),
        (r'\boxed{y = 3}', 'x = 3', 0),
        (r'\boxed{x = 3, y = 4}', 'x=3', 0),
        (r'\boxed{\frac{9}{2}}', '4.5', 1),
        (r'\boxed{4\frac{2}{3}}', r'\dfrac{14}{3}', 1),
        ('The total cost is $\\$12.50$.', '12.5', 1),  # a final statement of the value
        ('Thus the total cost is $\\$12.50$.', '12.5', 1),
        (r'\boxed{1/2}', r'\frac{1}{2}', 1),
        (r'\boxed{\dfrac{1}{2}\pi}', r'\frac{\pi}{2}', 1),
        (r'\boxed{0.\overline{3}}', r'\frac13', 1),
        (r'\boxed{a_n = 2n+1}', '2n+1', 1),
        (r'\boxed{(1, 2]}', r'(1,2]', 1),
        (r'\boxed{12\text{ m}^2}', '12', 1),
        (r'\boxed{\frac{1}{2}x^2}', r'\frac{x^2}{2}', 1),
        (r'\boxed{e^{i\pi}}', '-1', 1),
        (r'\boxed{\cos^2\theta}', r'1-\sin^2\theta', 1),
        (r'\boxed{\frac{3}{4}}', r'\frac{4}{3}', 0),
        ('**Final Answer**\n\nThe final answer is $\\boxed{7}$. I hope it is correct.', '7', 1),
        ('Final Answer: The final answer is $7$. I hope it is correct.', '7', 1),
        ('The answer is $\\boxed{7}$ apples.', '7', 1),
        ('The answer is \\(7\\).', '7', 1),
        ('Answer: \\[7\\]', '7', 1),
        ('So the number of ways is $\\binom{5}{2} = 10$.', '10', 1),
        ('Thus, there are 10 ways.', '10', 1),
        (r'\boxed{\{1,2,3\}}', r'\{1,2\}', 0),
        (r'\boxed{1,000}', '1', 0),
        (r'\boxed{[0,1]}', '[0,1)', 0),
        (r'\boxed{3.0}', '3', 1),
        (r'\boxed{\frac{6}{2}}', '3', 1),
        (r'\boxed{(3)}', '3', 1),
        (r'\boxed{3\%}', '0.03', 1),
        (r'\boxed{x \in \{1, 2\}}', '1,2', 1),
        (r'\boxed{\infty}', r'\infty', 1),
        (r'\boxed{-\infty}', r'\infty', 0),
        (r'\boxed{\frac{1}{2}x^2}', r'\frac{x}{2}', 0),
        ('Thus, there are 12 ways.', '10', 0),
        (r'\boxed{0.\overline{3}}', '0.3', 0),
        (r'\boxed{12\text{ m}^2}', '21', 0),
        (r'\boxed{e^{i\pi}}', '1', 0),
        (r'\boxed{(3)}', '(3,1)', 0),
        ('So she has 5 apples left.', '6', 0),
        (r'\boxed{x = 2, y = 3}', '(3,2)', 0),
        (r'\boxed{50\%}', r'\frac15', 0),
        (r'\boxed{\textbf{(B) } 7}', 'C', 0),
        ('Therefore, Janet makes $18 every day.', '16', 0),
        (r'\boxed{f(x) = 2x+1}', '2x-1', 0),
        (r'\boxed{a_n = 2n+1}', '2n-1', 0),
        (r'\boxed{\sqrt{x}}', 'x^{2}', 0),
        (r'\boxed{\cos^2\theta}', r'\sin^2\theta', 0),
        ('The answer is \\(7\\).', '1', 0),
        (r'\boxed{x < -2 \text{ or } x > 2}', r'(-\infty, -2] \cup [2, \infty)', 0),
    ],
    # Written blind after the code (first run: 45/47 right, 0 false positives; the two
    # misses, a unit after \pi and a ratio 3:2, were then fixed). Kept as regressions.
    'blind_round': [
        ('So the remainder is $\\boxed{3}$.', '3', 1),
        ('The length of the hypotenuse is $\\boxed{5\\sqrt{2}}$ units.', '\\sqrt{50}', 1),
        ('Hence $k=\\boxed{-\\tfrac{7}{3}}$.', '-\\frac73', 1),
        ('$\\boxed{\\text{B}}$', '\\text{(B)}', 1),
        ('The probability is $\\boxed{\\frac{5}{36}}$.', '\\frac{5}{36}', 1),
        ('The probability is $\\boxed{\\frac{5}{36}}$.', '\\frac{1}{6}', 0),
        ('Thus the area is $\\boxed{25\\pi\\text{ cm}^2}$.', '25\\pi', 1),
        ('The vertex is at $\\boxed{(-1, 4)}$.', '(-1,4)', 1),
        ('The vertex is at $\\boxed{(4, -1)}$.', '(-1,4)', 0),
        ('The roots are $\\boxed{-4, 1}$.', '1, -4', 1),
        ('The roots are $\\boxed{-4}$ and $\\boxed{1}$.', '1,-4', 1),
        ('We get $\\boxed{x \\in (-\\infty, -1] \\cup [3, \\infty)}$.', '(-\\infty,-1]\\cup[3,\\infty)', 1),
        ('We get $\\boxed{(-\\infty, -1) \\cup (3, \\infty)}$.', '(-\\infty,-1]\\cup[3,\\infty)', 0),
        ('The sum is $\\boxed{2^{11}-1}$.', '2047', 1),
        ('The sum is $\\boxed{2^{11}}$.', '2047', 0),
        ('Total: \\$\\boxed{3.50}', '3.5', 1),
        ('So he needs $\\boxed{12}$ more hours.', '12', 1),
        ('The answer is $\\boxed{\\dfrac{\\sqrt{10}}{5}}$', '\\frac{2}{\\sqrt{10}}', 1),
        ('The answer is $\\boxed{\\dfrac{\\sqrt{10}}{5}}$', '\\frac{\\sqrt{10}}{2}', 0),
        ('So $a+b = \\boxed{17}$.', '17', 1),
        ('The final answer is 1.5 hours.', '90 \\text{ minutes}', 0),
        ('The final answer is 1.5 hours.', '\\frac32', 1),
        ('<think>Hmm, 40? Let me redo. 42.</think>\n\nThe answer is **42**.', '42', 1),
        ('<think>Hmm, 40? Let me redo. 42.</think>\n\nThe answer is **40**.', '42', 0),
        (
            'The matrix is $\\boxed{\\begin{pmatrix} 2 & -1 \\\\ 0 & 3 \\end{pmatrix}}$.',
            '\\begin{pmatrix}2&-1\\\\0&3\\end{pmatrix}',
            1,
        ),
        (
            'The matrix is $\\boxed{\\begin{pmatrix} 2 & 0 \\\\ -1 & 3 \\end{pmatrix}}$.',
            '\\begin{pmatrix}2&-1\\\\0&3\\end{pmatrix}',
            0,
        ),
        ('Final answer: $\\boxed{y = -\\frac{1}{2}x + 2}$', 'x + 2y = 4', 1),
        ('Final answer: $\\boxed{y = -2x + 2}$', 'x + 2y = 4', 0),
        ('There are $\\boxed{1{,}260}$ arrangements.', '1260', 1),
        ('There are $\\boxed{126}$ arrangements.', '1260', 0),
        ('The answer is \\boxed{0.125}.', '\\frac{1}{8}', 1),
        ('The answer is \\boxed{0.0125}.', '\\frac{1}{8}', 0),
        ('The expression simplifies to $\\boxed{\\frac{x-1}{x+1}}$.', '\\frac{1-x}{-1-x}', 1),
        ('The expression simplifies to $\\boxed{\\frac{x+1}{x-1}}$.', '\\frac{x-1}{x+1}', 0),
        ('So the answer is $\\boxed{6}$ or maybe $\\boxed{7}$.', '6', 0),
        ('I am not sure, it could be 6.', '6', 0),
        ('$\\boxed{45^\\circ}$', '\\frac{\\pi}{4}', 0),
        ('The smallest value is $\\boxed{-\\infty}$.', '-\\infty', 1),
        ('Therefore, the answer is $\\boxed{\\textbf{(D)}\\ 24}$.', '\\textbf{(D)}', 1),
        ('Therefore, the answer is $\\boxed{\\textbf{(C)}\\ 24}$.', '\\textbf{(D)}', 0),
        ('The ratio is $\\boxed{3:2}$.', '3:2', 1),
        ('The ratio is $\\boxed{\\frac32}$.', '3:2', 1),
        ('The percentage is $\\boxed{37.5\\%}$.', '37.5', 1),
        ('The percentage is $\\boxed{0.375}$.', '37.5\\%', 1),
        ('The percentage is $\\boxed{3.75\\%}$.', '37.5\\%', 0),
        ('The base-6 number is $\\boxed{2015_6}$.', '2015_6', 1),
        ('The base-6 number is $\\boxed{443}$.', '2015_6', 1),
    ],
    # A second blind round, GSM8K and MATH style (first run: 39/40, 0 false positives;
    # the miss, a concluding sentence without a listed verb, was then fixed).
    'blind_round_2': [
        (
            "Janet's ducks lay 16 eggs per day. She eats 3 and bakes with 4, so 16 - 3 - 4 = 9 "
            'eggs remain. She sells them for $2 each, making 9 * 2 = $18.\n#### 18',
            '18',
            1,
        ),
        (
            'She makes 9 * 2 = 18 dollars.\nThe answer is: 18',
            'Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = '
            '$<<9*2=18>>18 every day at the farmer’s market.\n#### 18',
            1,
        ),
        (
            'She makes 9 * 2 = 18 dollars.\nThe answer is: 16',
            'Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n#### 18',
            0,
        ),
        (
            'It takes 2 bolts of blue fiber and 2/2 = 1 bolt of white fiber, so 2 + 1 = 3 bolts '
            'in total.\n\nThe answer is 3.',
            '3',
            1,
        ),
        ('The total is 3 bolts.', '3', 0),
        ('So, the profit is $70,000.\n\n**Final Answer:** \\$70,000', '70000', 1),
        ('So, the profit is $70,000.\n\n**Final Answer:** \\$7,000', '70000', 0),
        (
            'James runs 3 sprints 3 times a week, 60 meters each: 3 * 3 * 60 = 540 meters.\n\\boxed{540}',
            '540',
            1,
        ),
        ('Therefore, James runs 540 meters a week.', '540', 1),
        ('Therefore, James runs 450 meters a week.', '540', 0),
        ('Let me think... the answer might be 20 cups.', '20', 0),
        ('Final answer: 20 cups', '20', 1),
        ('The final answer is $\\boxed{20}$. I hope it is correct.', '20', 1),
        (
            'We have $x^2 - 5x + 6 = 0$, so $(x-2)(x-3) = 0$ and $x = 2$ or $x = 3$.\n\nThe '
            'solutions are $\\boxed{2, 3}$.',
            '2,3',
            1,
        ),
        ('$(x-2)(x-3) = 0$, so the solutions are $\\boxed{2}$.', '2,3', 0),
        ('The distance is $\\sqrt{(3-0)^2 + (4-0)^2} = \\boxed{5}$.', '5', 1),
        ('The slope is $m = \\frac{4-2}{3-1} = \\boxed{1}$.', '1', 1),
        ('The slope is $m = \\frac{4-2}{3-1} = \\boxed{1}$.', '-1', 0),
        ('The domain is $\\boxed{[-3, \\infty)}$.', 'x \\ge -3', 1),
        ('The domain is $\\boxed{(-3, \\infty)}$.', 'x \\ge -3', 0),
        ('Thus $f^{-1}(4) = \\boxed{\\frac{1}{2}}$.', '\\dfrac12', 1),
        ('$\\log_3 81 = \\boxed{4}$', '4', 1),
        ('The number of diagonals is $\\frac{n(n-3)}{2} = \\boxed{20}$.', '20', 1),
        ('The answer is $\\boxed{\\frac{3}{2}\\sqrt{3}}$.', '\\frac{3\\sqrt{3}}{2}', 1),
        ('The answer is $\\boxed{\\frac{2}{3}\\sqrt{3}}$.', '\\frac{3\\sqrt{3}}{2}', 0),
        ('The largest prime factor is $\\boxed{13}$.', '13', 1),
        ('The period is $\\boxed{\\pi}$.', '\\pi', 1),
        ('The period is $\\boxed{2\\pi}$.', '\\pi', 0),
        ('The center is $\\boxed{(2,-3)}$ and the radius is $\\boxed{4}$.', '(2,-3)', 0),
        ('$|{-7}| + |3| = \\boxed{10}$', '10', 1),
        ('The answer is $\\boxed{\\sqrt{3} - 1}$.', '-1 + \\sqrt{3}', 1),
        ('The answer is $\\boxed{1 - \\sqrt{3}}$.', '-1 + \\sqrt{3}', 0),
        ('Hence the value is $\\boxed{-\\frac{1}{4}}$.', '-0.25', 1),
        ('Hence the value is $\\boxed{\\frac{1}{4}}$.', '-0.25', 0),
        ('The product is $\\boxed{6!}$.', '720', 1),
        ('There are $\\binom{8}{3} = \\boxed{56}$ ways.', '56', 1),
        ('The answer is: $\\boxed{x=5}$', '5', 1),
        ('The answer is: $\\boxed{x=-5}$', '5', 0),
        ('The answer is 12.', '\\text{12}', 1),
        ('The answer is 1/4 of the pizza.', '\\frac{1}{4}', 1),
    ],
    # Inequalities as answers.
    'inequalities': [
        ('$\\boxed{x < 3}$', '(-\\infty, 3)', True),
        ('$\\boxed{x \\geq -1}$', '[-1, \\infty)', True),
        ('$\\boxed{0 < x \\le 2}$', '(0, 2]', True),
        ('$\\boxed{x \\in [2, 5)}$', '[2,5)', True),
        ('$\\boxed{x \\le 3}$', '(-\\infty, 3)', False),
        ('$\\boxed{x > -1}$', '[-1, \\infty)', False),
        ('$\\boxed{0 \\le x \\le 2}$', '(0, 2]', False),
        ('$\\boxed{x \\in (2, 5)}$', '[2,5)', False),
    ],
    # Ground truths given as full solutions (MATH) or GSM8K answers.
    # <answer>...</answer> blocks (R1-style GRPO, FormatReward's default): the last
    # complete block after </think> is the answer; inside it a box/####/"the answer is"
    # wins, else the whole content. Traps: the gold only in <think>, an empty or hedged
    # block, an unclosed block, two blocks with the last wrong, a box after the block
    # (committed later, so it wins), tag case variations.
    'answer_tags': [
        ('<think>Add 80 and 4.</think><answer>84</answer>', '84', True),
        ('<answer>\\frac{3}{4}</answer>', '0.75', True),
        ('<answer>#### 4</answer>', '4', True),
        ('<answer>The answer is 5.</answer>', '5', True),
        ('<think>\nSo x = 2.\n</think>\n<answer>\n$x = 2$\n</answer>', '2', True),
        ('<think>Sum the parts.</think><answer>The result is $\\boxed{12}$.</answer>', '12', True),
        ('<Answer>\\(\\sqrt{18}\\)</Answer>', '3\\sqrt{2}', True),
        ('<answer>10\\%</answer>', '10', True),
        ('<think>A point.</think><answer>(1, 2)</answer>', '(1,2)', True),
        ('<think>It might be 7.</think>\n<answer>8</answer><|im_end|>', '8', True),
        ('First guess: \\boxed{6}, a slip.\n<answer>5</answer>', '5', True),
        ('<answer>5</answer>\nDouble-checking: indeed $\\boxed{5}$.', '5', True),
        ('<think>The value is 84.</think><answer>85</answer>', '84', False),
        ('<think>It is 84.</think><answer></answer>', '84', False),
        ('<answer>84 or 85</answer>', '84', False),
        ('<answer>Maybe 84</answer>', '84', False),
        ('<think>Clearly 84.</think><answer>84', '84', False),
        ('<answer>84</answer>\n<answer>85</answer>', '84', False),
        ('<answer>84</answer> but actually $\\boxed{85}$.', '84', False),
        ('<think><answer>84</answer></think>\n<answer>85</answer>', '84', False),
        ('<answer>0.05</answer>', '0.5', False),
        ('<answer>#### 85</answer>', '84', False),
        ('<ANSWER>[1, 2)</ANSWER>', '[1,2]', False),
        ('<think>so 84</think>The answer is <answer>', '84', False),
    ],
    # Every marker's text stops at an XML-like tag or a chat special token instead of
    # swallowing it ('#### 7</answer>' holds 7, not '7</answer>').
    'marker_tags': [
        ('Total: 3 + 4 = 7.\n#### 7</answer>', '7', True),
        ('The answer is 12<|im_end|>', '12', True),
        ('The final answer is $\\frac12$.<|im_end|>', '0.5', True),
        ('**Answer:** 9</answer>', '9', True),
        ('Therefore, the total is $42$.<|im_end|>', '42', True),
        ('# Answer\n\n6<|endoftext|>', '6', True),
        ('#### 7</answer>', '8', False),
        ('The answer is 12<|im_end|>', '21', False),
        ('The answer is 8 or 9</answer>', '8', False),
        ('<think>The answer is 4.</think><|im_end|>', '4', False),
        ('**Answer:** 0.5</answer>', '0.05', False),
        ('#### </answer>', '0', False),
    ],
    # A plain declarative final statement, with no box or marker.
    'prose_statements': [
        ('The minimum value of the expression is 6.', '6', True),
        ('There are 89 subsets of {1, ..., 10} with no two consecutive elements.', '89', True),
        ('The number of such sequences is $3^{n-1}$.', '3^{n-1}', True),
        ('Thus the largest possible area is $\\frac{5}{2}$.', '2.5', True),
        ('The expansion will have 2,001,000 terms.', '2001000', True),
        ('The number of ways is $8! - 1260 - 6720 = 120$.', '120', True),
        ('The factor 2 occurs n times in the product.', 'n', True),
        ('The minimum value is $0$, which occurs when $a=b=c$.', '0', True),
        ('The minimum value of the expression is 6.', '7', False),
        ('The set {1, ..., 100} has 100 elements, and we check each of them.', '100', False),
        ('The minimum is achieved when a = b = c.', '1', False),
        ('The inequality holds for every n in the set {1, ..., 100}.', '100', False),
        ('The value is 8 or 9.', '8', False),
        ('The possible values are 1 and 19.', '1', False),
        ('The value of the sum is 5 because 2 + 3 = 5, so the sum is', '5', False),
        ('The value is 2 times larger than the previous one.', '2', False),
    ],
    # A marker followed by a clause: the value the clause states is the answer.
    'marker_clauses': [
        ('Final Answer: The largest value is 2/5', '\\frac25', True),
        ('So the final answer is 3^(n-1) ways to colour the row.', '3^{n-1}', True),
        ('Answer: 36 (because 4 × 9 = 36)', '36', True),
        ('So the answer is 12, not 10.', '12', True),
        ('$\\boxed{\\text{The total is } 9}$', '9', True),
        ('The answer is three thousand.', '3000', True),
        ('Final Answer: The largest value is 2/5', '\\frac35', False),
        ('Answer: 36 (because 4 × 9 = 36)', '9', False),
        ('So the answer is 12, not 10.', '10', False),
        ('The answer is 5 apples and 3 oranges.', '5', False),
        ('Final Answer: The value is either 4 or 5.', '4', False),
    ],
    # Math as models write it outside LaTeX.
    'plain_text_math': [
        ('The number of colourings is 3^(n-1).', '3^{n-1}', True),
        ('The number of handshakes is n(n-1)/2.', '\\frac{n(n-1)}{2}', True),
        ('The answer is sqrt(5)/3.', '\\frac{\\sqrt5}{3}', True),
        ('The angle is pi/6.', '\\frac{\\pi}{6}', True),
        ('The answer is C(8, 3).', '56', True),
        ('The answer is n mod 4 = 1.', '1', True),
        ('He walked 2 3/4 miles, so the answer is 2 3/4.', '\\frac{11}{4}', True),
        ('The solutions are x = 2 or x = -2.', '2, -2', True),
        ('The number of colourings is 3^(n-1).', '3^{n}', False),
        ('The answer is sqrt(5)/3.', '\\frac{\\sqrt3}{5}', False),
        ('The answer is C(8, 3).', '24', False),
        ('He walked 2 3/4 miles, so the answer is 2 3/4.', '1.5', False),
        ('The solutions are x = 2 or x = -2.', '2', False),
        ('The value is x = 2 or y = 3.', '2', False),
    ],
    # Numbers written in words.
    'number_words': [
        ('There are eleven ways to do it.', '11', True),
        ('The total is three thousand.', '3000', True),
        ('The fraction of red balls is two fifths.', '\\frac25', True),
        ('The number of eggs is a dozen.', '12', True),
        ('There are eleven ways to do it.', '12', False),
        ('The fraction of red balls is two fifths.', '\\frac15', False),
        ('The total is three thousand.', '300', False),
    ],
    # GSM8K-style prose: the last sentence states the result.
    'gsm8k_prose': [
        ('He starts with 60 stamps and gives away 15, so he has 45 stamps left.', '45', True),
        ('Each box holds 12 eggs. Therefore, Janet sells 18 eggs.', '18', True),
        ('She pays 3 * 4 = 12 dollars in total. So she has 8 dollars left.', '8', True),
        ('He starts with 60 stamps and gives away 15, so he has 45 stamps left.', '15', False),
        ('She pays 3 * 4 = 12 dollars in total. So she has 8 dollars left.', '12', False),
        ('He has 45 stamps and then buys some more stamps', '45', False),
    ],
    # Golds with sums and products (decided exactly, or by sympy for a symbolic bound).
    'big_operators': [
        ('The sum is $\\boxed{55}$.', '\\sum_{k=1}^{10} k', True),
        ('So the total is $\\boxed{\\frac{n(n+1)}{2}}$.', '\\sum_{k=1}^{n} k', True),
        ('Hence $\\boxed{n!}$.', '\\prod_{k=1}^{n} k', True),
        ('The answer is $\\sum_{k=1}^{n} \\frac{1}{k}$.', '\\sum_{k=1}^{n} \\frac{1}{k}', True),
        ('Hence $\\boxed{2^n}$.', '\\sum_{i=0}^{n} \\binom{n}{i}', True),
        ('The sum is $\\boxed{56}$.', '\\sum_{k=1}^{10} k', False),
        ('So the total is $\\boxed{\\frac{n(n-1)}{2}}$.', '\\sum_{k=1}^{n} k', False),
        ('Hence $\\boxed{2^{n+1}}$.', '\\sum_{i=0}^{n} \\binom{n}{i}', False),
    ],
    # Solutions given in several boxes or as named tuples; function arguments.
    'solution_forms': [
        ('So $x = \\boxed{2}$ or $x = \\boxed{-2}$.', '2, -2', True),
        ('Therefore $(x, y) = (2, 7)$.', '(2, 7)', True),
        ('The value is $\\cos 3\\theta$.', '\\cos(3\\theta)', True),
        ('So $\\boxed{8}$ or $\\boxed{9}$.', '9', False),
        ('So $x = \\boxed{2}$ or $x = \\boxed{-2}$.', '2', False),
        ('Therefore $(x, y) = (7, 2)$.', '(2, 7)', False),
        ('The value is $\\cos 3\\theta$.', '3\\cos(\\theta)', False),
    ],
    # Equations compare as equations, on every route.
    'equation_answers': [
        ('The line is $y = x + c$.', 'y = x + c', True),
        ('The answer is $\\boxed{y - x = c}$.', 'y = x + c', True),
        ('The line is $y = x - c$.', 'y = x + c', False),
        ('The answer is $\\boxed{y = x - c}$.', 'y = x + c', False),
        ('Final Answer: y = x - c', 'y = x + c', False),
    ],
    'gold_formats': [
        ('\\boxed{10}', 'The sum is $4+6=\\boxed{10}$.', True),
        ('#### 18', 'Janet sells 16 - 3 - 4 = 9 eggs.\n9 * 2 = 18.\n#### 18', True),
        ('The answer is $\\frac{3}{8}$.', 'So the probability is $\\boxed{\\dfrac{3}{8}}$.', True),
        ('\\boxed{1{,}000}', 'Janet has\n#### 1,000', True),
        ('\\boxed{9}', 'Janet sells 16 - 3 - 4 = 9 eggs.\n9 * 2 = 18.\n#### 18', False),
        ('\\boxed{4}', 'The sum is $\\boxed{4+6=10}$.', False),
        ('\\boxed{3}', 'First $\\boxed{3}$ was wrong, it is $\\boxed{5}$.', False),
        ('\\boxed{8}', 'The probability is $\\boxed{\\frac{3}{8}}$.', False),
    ],
}


# Answers whose meaning depends on the question: (question, completion, gold, expected).
ASKED: Dict[str, List[tuple]] = {
    'question_aware': [
        # a bound answers a question that asks for that bound, and no other
        (
            'At least how many of the three numbers must be divisible by 5?',
            'At least one of the three numbers must be divisible by 5.',
            '1',
            True,
        ),
        (
            'At most how many of the inequalities can be true at the same time?',
            'At most two of the three inequalities can be true at the same time.',
            '2',
            True,
        ),
        (
            'How many of the three numbers are divisible by 5?',
            'At least one of the three numbers must be divisible by 5.',
            '1',
            False,
        ),
        (
            'How many sequences satisfy the conditions?',
            'At least one sequence satisfies the conditions.',
            '1',
            False,
        ),
        (
            'At least how many of the three numbers must be divisible by 5?',
            'At most one of the three numbers can be divisible by 5.',
            '1',
            False,
        ),
        # a negation is the count 0 when the question counts those things
        (
            'How many pairs of odd integers (a, b) make a^2+b^2 a perfect square?',
            'There are no pairs of odd integers whose squares sum to a square.',
            '0',
            True,
        ),
        ('How many real zeros does the polynomial have?', 'The polynomial has no real zeros.', '0', True),
        (
            'For how many values of n in {1, ..., 100} does P(x) have a real root?',
            'For all values of n, the polynomial P(x) does not have any real root.',
            '0',
            False,
        ),
        (
            'What is the smallest positive integer n such that P(n) is prime?',
            'There is no such integer.',
            '0',
            False,
        ),
        # a helper unknown is not the asked count
        (
            'How many sequences of positive numbers a_0, a_1, ... satisfy a_0 = 1?',
            'The only possible value of $t$ is $t=1$.',
            '1',
            False,
        ),
        (
            'Solve 2x + 1 = 3. How many solutions are there, and what is x?',
            'The solution is $x = 1$.',
            '1',
            True,
        ),
        # a factorisation must be complete
        (
            'Factorize x^8+x^4+1 into terms of integer coefficients.',
            'The factorization is $(x^2+x+1)(x^2-x+1)(x^4-x^2+1)$.',
            '(x^2+x+1)(x^2-x+1)(x^4-x^2+1)',
            True,
        ),
        (
            'Factorize x^8+x^4+1 into terms of integer coefficients.',
            'The factorization is $(x^4+x^2+1)(x^4-x^2+1)$.',
            '(x^2+x+1)(x^2-x+1)(x^4-x^2+1)',
            False,
        ),
        (
            'Factorize x^8+x^4+1 into terms of integer coefficients.',
            'The answer is $x^8+x^4+1$.',
            '(x^2+x+1)(x^2-x+1)(x^4-x^2+1)',
            False,
        ),
        (
            'Find the number of ways to pick 2 of n people.',
            'The number of ways is $\\frac{n^2-n}{2}$.',
            '\\frac{n(n-1)}{2}',
            True,
        ),
        # a value boxed inside a derivation, then a different final statement
        (
            'How many sequences of positive numbers satisfy the conditions?',
            'The limit is $\\boxed{1}$.\n\nThe only possible value of $t$ is $t=1$.',
            '1',
            False,
        ),
        ('What is the sum of the roots?', 'We get $\\boxed{5}$.\n\nThe sum of the roots is 5.', '5', True),
    ],
}


def build_cases() -> List[dict]:
    """Every labelled case as a dict (id, category, completion, gold, expected, and
    question: the prompt, or None when the case does not depend on it)."""
    cases: List[dict] = []
    k = 0
    for cat, rows in PAIRS.items():
        for j, (gold, pred, expected) in enumerate(rows):
            tpl = TEMPLATES[(k + j) % len(TEMPLATES)]
            cases.append(
                {
                    'id': f'{cat}/{j}',
                    'category': cat,
                    'completion': tpl.format(a=pred),
                    'gold': gold,
                    'expected': bool(expected),
                    'question': None,
                }
            )
        k += 1
    for cat, rows in WHOLE.items():
        for j, (completion, gold, expected) in enumerate(rows):
            cases.append(
                {
                    'id': f'{cat}/{j}',
                    'category': cat,
                    'completion': completion,
                    'gold': gold,
                    'expected': bool(expected),
                    'question': None,
                }
            )
    for cat, rows in ASKED.items():
        for j, (question, completion, gold, expected) in enumerate(rows):
            cases.append(
                {
                    'id': f'{cat}/{j}',
                    'category': cat,
                    'completion': completion,
                    'gold': gold,
                    'expected': bool(expected),
                    'question': question,
                }
            )
    return cases


def load_cases(path: str = JSONL) -> List[dict]:
    """The cases from the JSONL file."""
    with open(path, encoding='utf-8') as f:
        return [json.loads(line) for line in f if line.strip()]


def write_cases(path: str = JSONL) -> int:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cases = build_cases()
    with open(path, 'w', encoding='utf-8') as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + '\n')
    return len(cases)


if __name__ == '__main__':
    n = write_cases()
    cases = build_cases()
    cats = {c['category'] for c in cases}
    pos = sum(c['expected'] for c in cases)
    print(f'wrote {n} cases in {len(cats)} categories ({pos} true, {n - pos} false) to {JSONL}')
