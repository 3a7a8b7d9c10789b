"""What every ``python -m silri_jax.<app>`` entry point shares on the command line.

- ``--config`` names an ml_collections file (``configs/train.py:<variant>``). A relative
  path is tried from the working folder, then from the repository, so the defaults and
  the documented commands work from any folder.
- ``--help`` (``-h``, ``--helpshort``, ``--helpfull``) prints the app's flags and EVERY
  config field with its default and its one-line doc (read from the comment above the
  field in the config file, so each default is documented once, where it is set), and
  exits 0.
- A config mistake (unknown key, missing file, a value of the wrong type, a value out of
  range) is ONE line on stderr naming the field, the value and what is allowed, with no
  traceback, and exit code 2 (``EXIT_CONFIG_ERROR``): the usual code for a usage error.

Only the parsing and the ``validate`` callback an app passes are treated as config
errors; an exception inside the app itself keeps its traceback.
"""

from __future__ import annotations

import pathlib
import re
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NoReturn

import ml_collections

from silri_jax.config_files import REPO

EXIT_CONFIG_ERROR = 2
HELP_FLAGS = ("-h", "--help", "--helpshort", "--helpfull", "-help", "-?")
AGENT_CONFIG_FILE = pathlib.Path(__file__).resolve().parent / "agents" / "config.py"
SCHEMA_FILE = REPO / "configs" / "train.py"
# the teleop section's device fields are documented where they are set
TELEOP_CONFIG_FILE = pathlib.Path(__file__).resolve().parent / "teleop" / "config.py"
# ... and the learned-reward section's where reward_config() sets them
REWARD_CONFIG_FILE = pathlib.Path(__file__).resolve().parent / "reward" / "config.py"


class ConfigError(ValueError):
    """A config the app cannot run with; the message names the field, value and rule."""


# ----------------------------------------------------------------------------- paths
def resolve_config_path(spec: str) -> str:
    """``path[:variant]`` with ``path`` made absolute: as given from the working folder if
    it exists there, else from the repository root (``configs/train.py`` from anywhere)."""
    path, sep, variant = spec.partition(":")
    candidates = [pathlib.Path(path).expanduser()]
    if not candidates[0].is_absolute():
        candidates.append(REPO / path)
    for c in candidates:
        if c.is_file():
            return f"{c.resolve()}{sep}{variant}"
    tried = " or ".join(str(c) for c in candidates)
    raise ConfigError(f"--config={spec}: no such config file (looked for {tried})")


def _config_arg_index(argv: Sequence[str]) -> tuple[int, int] | None:
    """(index, form) of the ``--config`` flag: form 1 is ``--config=X``, 2 ``--config X``."""
    for i, a in enumerate(argv):
        if a.startswith("--config="):
            return i, 1
        if a == "--config" and i + 1 < len(argv):
            return i, 2
    return None


def resolve_config_args(argv: list[str]) -> str | None:
    """Rewrites ``argv``'s ``--config`` value to an absolute path (in place); returns it."""
    found = _config_arg_index(argv)
    if found is None:
        return None
    i, form = found
    if form == 1:
        argv[i] = "--config=" + resolve_config_path(argv[i][len("--config="):])
        return argv[i][len("--config="):]
    argv[i + 1] = resolve_config_path(argv[i + 1])
    return argv[i + 1]


def load_config(spec: str) -> ml_collections.ConfigDict:
    """The config an entry point would get from ``--config=spec`` (no overrides)."""
    from silri_jax import config_files

    path, _, variant = resolve_config_path(spec).partition(":")
    module = config_files.load_module(path)
    try:
        return module.get_config(variant) if variant else module.get_config()
    except ValueError as e:
        raise ConfigError(f"--config={spec}: {e}") from None


# ----------------------------------------------------------------------------- docs
_ASSIGN = re.compile(r"^\s*(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*)\s*=(?!=)")
_DICT_KEY = re.compile(r"^\s*[\"']([A-Za-z_]\w*)[\"']\s*:")
_DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(")
_TRAILING = re.compile(r"#\s*(.*)$")


def field_docs(path: str | pathlib.Path) -> dict[tuple[str, str], str]:
    """``{(function, field): doc}`` from a config file's source: the comment lines right
    above ``x.field = ...`` or ``"field": ...`` (or a comment after it on the same line),
    inside top-level function ``function``. The first documented assignment wins."""
    docs: dict[tuple[str, str], str] = {}
    scope = ""
    comment: list[str] = []
    for line in pathlib.Path(path).read_text().splitlines():
        stripped = line.strip()
        m = _DEF.match(line)
        if m:
            scope, comment = m.group(1), []
            continue
        if stripped.startswith("#"):
            text = stripped.lstrip("#").strip()
            if text.startswith("----"):
                comment = []
            else:
                comment.append(text)
            continue
        m = _ASSIGN.match(line) or _DICT_KEY.match(line)
        if m:
            doc = " ".join(comment)
            if not doc:
                trail = _TRAILING.search(line.split("=", 1)[-1] if "=" in line else line)
                doc = trail.group(1).strip() if trail and '"' not in trail.group(0) else ""
            if doc and (scope, m.group(1)) not in docs:
                docs[(scope, m.group(1))] = doc
        comment = []
    return docs


def _lookup(docs: Mapping[tuple[str, str], str], path: Sequence[str],
            preferred: Sequence[str]) -> str:
    """The doc of config path ``path``: its section's function (``runtime`` ->
    ``_runtime``) first, then ``preferred`` functions, then any function."""
    leaf = path[-1]
    scopes = [f"_{path[-2]}", path[-2]] if len(path) > 1 else []
    for scope in (*scopes, *preferred):
        if (scope, leaf) in docs:
            return docs[(scope, leaf)]
    for (_, field), doc in docs.items():
        if field == leaf:
            return doc
    return ""


def _leaves(config: Mapping[str, Any], prefix: tuple[str, ...] = ()
            ) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key in config:
        value = config[key]
        if isinstance(value, ml_collections.ConfigDict | dict) and len(value):
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def _agent_section(config: ml_collections.ConfigDict) -> tuple[str, str] | None:
    """(override prefix, algorithm) where this config takes agent overrides."""
    if "agent" in config and "overrides" in config.agent:
        return "config.agent.overrides", str(config.agent.algo)
    return None


def config_field_docs(config: ml_collections.ConfigDict, config_path: str
                      ) -> list[tuple[str, Any, str]]:
    """``[(flag name, default, doc)]`` for every field of ``config``; the agent override
    section's fields take their docs from the agent configs (where they are set)."""
    # configs/train.py defines the schema; another config file documents what it sets
    docs = {**field_docs(TELEOP_CONFIG_FILE), **field_docs(REWARD_CONFIG_FILE),
            **field_docs(SCHEMA_FILE),
            **field_docs(config_path)}
    section = _agent_section(config)
    agent_docs = field_docs(AGENT_CONFIG_FILE) if section is not None else {}
    algo, depth = "", 0
    if section is not None:
        node = config
        for key in section[0].split(".")[1:]:
            node, depth = node[key], depth + 1
        algo = str(node.get("name", section[1]))
    rows = []
    for p, v in _leaves(config):
        name = "config." + ".".join(p)
        if section is not None and name.startswith(section[0] + "."):
            sub = p[depth:]
            doc = _lookup(agent_docs, sub, (f"{algo}_config", "_common", "hgdagger_config"))
        else:
            doc = _lookup(docs, p, ("get_config",))
        rows.append((name, v, doc))
    return rows


def _fmt_default(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, ml_collections.ConfigDict | dict):
        return "{}"
    return str(value)


def help_text(prog: str, summary: str, app_flags: Sequence[tuple[str, Any, str]],
              config: ml_collections.ConfigDict, config_path: str, width: int = 80) -> str:
    """The ``--help`` page: usage, the app's own flags, then every config field."""
    wrap = textwrap.TextWrapper(width=width, initial_indent="      ",
                                subsequent_indent="      ")
    out = [f"usage: python -m {prog} [flags]",
           "         [--config=FILE[:VARIANT]] [--config.FIELD=VALUE ...]", "",
           *textwrap.wrap(" ".join(summary.split()), width), "", "flags:"]
    for name, default, doc in app_flags:
        out.append(f"  --{name}={_fmt_default(default)}")
        out.extend(wrap.wrap(doc) or [])
    out += ["", "config fields (override any with --FIELD=VALUE), defaults from", "  " +
            config_path + ":"]
    head = textwrap.TextWrapper(width=width, initial_indent="  ",
                                subsequent_indent="        ", break_on_hyphens=False)
    for name, default, doc in config_field_docs(config, config_path.partition(":")[0]):
        out.extend(head.wrap(f"--{name}={_fmt_default(default)}"))
        out.extend(wrap.wrap(doc or "(undocumented)"))
    return "\n".join(out) + "\n"


def _app_flags(default_config: str) -> list[tuple[str, Any, str]]:
    from absl import flags

    rows = [("config", default_config, "config file, optionally :VARIANT; relative paths "
             "are tried from here, then from the repository")]
    for f in flags.FLAGS.flags_by_module_dict().get(sys.argv[0], []) + \
            flags.FLAGS.flags_by_module_dict().get("__main__", []):
        if f.name != "config" and not f.name.startswith("config."):
            rows.append((f.name, f.default, f.help or ""))
    return rows


# ----------------------------------------------------------------------------- running
def fail(prog: str, message: str) -> NoReturn:
    """Prints ``<prog>: config error: <message>`` (one line) and exits 2."""
    one_line = " ".join(str(message).split())
    sys.stderr.write(f"{prog}: config error: {one_line}\n")
    sys.stderr.flush()
    raise SystemExit(EXIT_CONFIG_ERROR)


def _explain(e: BaseException) -> str:
    """A parsing exception as a sentence (absl and ml_collections wrap them variously)."""
    text = str(e).strip()
    if isinstance(e, AttributeError | KeyError):
        found = re.search(r"([A-Za-z_]\w*)", text)
        key = found.group(1) if found else text
        flag = next((a.split("=", 1)[0] for a in sys.argv[1:]
                     if a.startswith("--config.") and re.search(rf"\.{key}(=|$|\.)", a)),
                    f"--config...{key}")
        hint = re.search(r'Did you mean "([^"]+)"', text)
        return (f"{flag}: no such config field" +
                (f" (did you mean {hint.group(1)!r}?)" if hint else "")
                + "; --help lists the fields")
    if "Error whilst parsing config file" in text:
        lines = [x for x in text.splitlines() if x.strip()]
        return f"{lines[0].split(':', 1)[0]}: {lines[-1].strip()}"
    return text


def run(main: Callable[[list[str]], Any], *, prog: str, summary: str,
        default_config: str, config_holder: Any | None,
        validate: Callable[[ml_collections.ConfigDict], None] | None = None) -> None:
    """``absl.app.run(main)`` with the shared help and config-error handling.

    ``config_holder`` is the ``--config`` FlagHolder (None for an app without a config);
    ``validate(config)`` raises ``ValueError`` naming a field for a value the app cannot
    run with, before ``main`` starts.
    """
    from absl import app, flags

    argv = sys.argv
    try:
        config_spec = resolve_config_args(argv) if config_holder is not None else None
    except ConfigError as e:
        fail(prog, str(e))
    if any(a in HELP_FLAGS for a in argv[1:]):
        try:
            config = load_config(config_spec or default_config)
        except (ConfigError, FileNotFoundError) as e:
            fail(prog, str(e))
        sys.stdout.write(help_text(prog, summary, _app_flags(default_config), config,
                                   resolve_config_path(config_spec or default_config)))
        raise SystemExit(0)

    def parse(args: list[str]) -> list[str]:
        try:
            rest = flags.FLAGS(args)
            if config_holder is not None and validate is not None:
                validate(config_holder.value)
        except SystemExit:
            raise
        except flags.Error as e:
            cause = e.__cause__ or e.__context__
            fail(prog, _explain(cause) if isinstance(cause, AttributeError | KeyError)
                 else _explain(e))
        except (ValueError, TypeError, AttributeError, KeyError, FileNotFoundError) as e:
            fail(prog, _explain(e))
        return rest

    app.run(main, flags_parser=parse)


def define_config(default: str, help_text_: str, prog: str) -> Any:
    """The ``--config`` flag (``default`` resolved against the repository).

    ml_collections reads the config file and applies the ``--config.*`` overrides from
    ``sys.argv`` already here, at definition: a relative path is made absolute first, and
    an unknown key or a missing file ends the program with one line (exit 2)."""
    from ml_collections import config_flags

    try:
        resolve_config_args(sys.argv)
        default = resolve_config_path(default)
    except ConfigError as e:
        fail(prog, str(e))
    try:
        return config_flags.DEFINE_config_file("config", default, help_text_)
    except (AttributeError, KeyError, ValueError, TypeError, FileNotFoundError) as e:
        fail(prog, _explain(e))
