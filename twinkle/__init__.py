"""twinkle: RLHF/GRPO rewards and advantages as batched tensor programs.

>>> import twinkle
>>> sorted(twinkle.extension_info())[:2]
['cpu', 'cuda']
"""

from twinkle._ext import extension_info

__version__ = '0.1.0'
__all__ = ['extension_info', '__version__']
