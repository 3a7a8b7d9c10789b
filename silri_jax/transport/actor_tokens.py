"""Per-actor tokens: one secret per actor id, so that a holder of one actor's token cannot
write into another actor's stream (the shared ``runtime.token`` lets any holder use any
id). The file is JSON, ``{"actor-0": "secret", "actor-1": "another"}``, named by
``runtime.actor_tokens_file``: the learner reads all of it, each actor only its own entry
(on a robot PC, a file holding that actor's entry alone is enough).
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping

CONFIG_KEY = "config.runtime.actor_tokens_file"
MIN_LENGTH = 16  # characters; a short secret is refused, not weakly accepted


def load(path: str) -> dict[str, str]:
    """``{actor_id: token}`` from ``path``; ValueError naming the file and the problem."""
    where = f"{CONFIG_KEY}={path!r}"
    try:
        raw = pathlib.Path(path).read_text()
    except OSError as e:
        raise ValueError(f"{where}: cannot read it ({e.strerror or e})") from e
    try:
        tokens = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}: not valid JSON ({e})") from e
    if not isinstance(tokens, Mapping) or not tokens:
        raise ValueError(f"{where}: must be a JSON object of actor id to token, "
                         'e.g. {"actor-0": "<secret>"}')
    for actor, token in tokens.items():
        if not isinstance(token, str) or len(token) < MIN_LENGTH:
            raise ValueError(f"{where}: the token of {actor!r} must be a string of at least "
                             f"{MIN_LENGTH} characters (python -c 'import secrets; "
                             "print(secrets.token_hex(16))' makes one)")
    if len(set(tokens.values())) != len(tokens):
        raise ValueError(f"{where}: two actors share a token; each needs its own")
    return dict(tokens)


def token_for(actor_id: str, path: str, shared: str) -> str | None:
    """The token an actor sends: its own entry in the file when there is one, else the
    shared token (None when neither is set)."""
    if path:
        own = load(path).get(actor_id)
        if own is not None:
            return own
    return shared or None
