"""`python -m bench.eval`: the answer-quality benchmark, posterchat's answers to checkable design questions."""
