"""Pieces shared by the actor-learner processes (``silri_jax.learner``, ``.actor``,
``.launch``): building envs and agents from ``configs/train.py``, the learner's write-ahead
log, and child-process handling. The processes themselves live in their own modules."""
