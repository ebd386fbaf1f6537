"""Write the shell completion scripts of completions/ from the app itself:
``python -m gsm_cli.completion_scripts [FOLDER]`` (FOLDER: completions/ of the checkout).

It loads every command group of gsm_cli.app.COMMANDS and reads their commands, sub-commands,
options (which take a value) and arguments; what a value is (a server's name, a folder, one of
a few words) comes from gsm_cli.commands._values. Each shell's script is its template from
completion_templates/ with the generated tables put in place of the ``@TABLES@`` line. The
scripts never run Python for these lists: only the names of the local store are asked for at
Tab time, from ``gsm __complete`` (gsm_cli.completion). tests/cli/test_completion_scripts.py
fails when completions/ is not what this writes.
"""

from __future__ import annotations

import enum
import re
import sys
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

TEMPLATES = Path(__file__).with_name("completion_templates")
SCRIPTS = ("gsm.bash", "gsm.zsh", "gsm.fish", "gsm.ps1")
REGENERATE = "python -m gsm_cli.completion_scripts completions"


@dataclass
class Option:
    names: list[str]  # as typed: --game, -g, --no-restart
    takes_value: bool
    values: str  # a spec: see _spec()
    help: str


@dataclass
class Command:
    path: str  # "server start", or "doctor" for a command without sub-commands
    options: list[Option]
    arguments: list[str]  # the spec of each argument, in order
    many: str | None  # the spec of the arguments after them, when it takes any number


@dataclass
class Model:
    commands: list[tuple[str, str]]  # name, summary
    subcommands: dict[str, list[tuple[str, str]]]
    leaves: dict[str, Command] = field(default_factory=dict)
    global_options: list[Option] = field(default_factory=list)
    help_option: Option = field(default_factory=lambda: Option(["--help"], False, "", ""))
    setting_values: dict[str, str] = field(default_factory=dict)

    @property
    def value_options(self) -> list[str]:
        """Every option, of any command, that takes a value (so that the value is not taken
        for an argument), in the order they are first met."""
        found: dict[str, None] = {}
        for command in self.leaves.values():
            for option in command.options:
                if option.takes_value:
                    found.update(dict.fromkeys(option.names))
        return list(found)


def _summary(text: str | None) -> str:
    """The first sentence of a help text, on one line."""
    line = " ".join((text or "").split())
    first = re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0]
    return first.rstrip(".")


def _spec(values: Any, model_words: Callable[[str], tuple[str, ...] | None]) -> str:
    """A parameter's values as the templates read them: "" (nothing to complete), a kind of
    name of the store ("servers", ...), "dir", "file", "setting-value", or "words W1 W2..."."""
    from gsm_cli.commands import _values as v

    if values is None:
        return ""
    if isinstance(values, tuple):
        return "words " + " ".join(values)
    words = model_words(values)
    if words is not None:
        return "words " + " ".join(words)
    if values in (*v.LIVE, v.DIR, v.FILE, v.SETTING_VALUE):
        return values
    raise ValueError(f"unknown kind of value: {values!r}")


def _static_words(kind: str) -> tuple[str, ...] | None:
    from gsm_cli.commands import _values as v

    if kind == v.SETTINGS:
        from gsm_cli.services.settings import SPECS

        return tuple(sorted(SPECS))
    if kind == v.GAMES:
        from gsm_cli.services.games import catalog

        return tuple(sorted(catalog()))
    return None


def _is_path(param: Any) -> bool:
    annotation = param.type_descriptor.annotation
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, PurePath):
            return True
    return False


def _choices(param: Any) -> tuple[str, ...]:
    """The values of a parameter typed as an Enum or a Literal (Typer's choices)."""
    found: list[str] = []
    annotation = param.type_descriptor.annotation
    for candidate in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(candidate) is typing.Literal:
            found += [str(value) for value in typing.get_args(candidate)]
        elif isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            found += [str(member.value) for member in candidate]
    return tuple(found)


def build() -> Model:
    """The model of the whole app: every command group loaded."""
    from gsm_cli import app
    from gsm_cli.commands import _values as v

    used: set[tuple[str, str]] = set()

    def values_of(path: str, param: Any) -> str:
        group = path.split(" ")[0]
        for key in ((path, param.name), (group, param.name), ("", param.name)):
            if key in v.VALUES:
                used.add(key)
                return _spec(v.VALUES[key], _static_words)
        if getattr(param, "is_flag", False):
            return ""
        choices = _choices(param)
        if choices:
            return _spec(choices, _static_words)
        return v.FILE if _is_path(param) else ""

    def read(path: str, command: Any) -> Command:
        options: list[Option] = []
        arguments: list[str] = []
        many = None
        for param in command.params:
            if getattr(param, "hidden", False):
                continue
            spec = values_of(path, param)
            if getattr(param, "param_type_name", "") == "argument":
                if param.nargs == -1:
                    many = spec
                else:
                    arguments.extend([spec] * param.nargs)
                continue
            names = [*param.opts, *param.secondary_opts]
            options.append(Option(names, not param.is_flag, spec, _summary(param.help)))
        options.append(help_option)
        return Command(path, options, arguments, many)

    root = typer_command(app.app)
    # The help options every command inherits from the root's context (-h, --help).
    help_names = root.context_settings.get("help_option_names", ["--help"])
    help_option = Option(
        sorted(help_names, key=lambda n: n.startswith("--")), False, "", "Show help and exit"
    )
    model = Model(
        commands=[(name, summary) for name, (_m, summary) in app.COMMANDS.items()], subcommands={}
    )
    for name in app.COMMANDS:
        group = app.load_command(name)
        subs = getattr(group, "commands", None)
        if subs is None:
            model.leaves[name] = read(name, group)
            continue
        shown = [(sub, cmd) for sub, cmd in subs.items() if not getattr(cmd, "hidden", False)]
        model.subcommands[name] = [(sub, _summary(cmd.help)) for sub, cmd in shown]
        for sub, cmd in shown:
            model.leaves[f"{name} {sub}"] = read(f"{name} {sub}", cmd)
    for param in root.params:
        names = [*param.opts, *param.secondary_opts]
        model.global_options.append(Option(names, False, "", _summary(param.help)))
    model.global_options.append(help_option)
    model.help_option = help_option
    unused = sorted(set(v.VALUES) - used)
    if unused:
        raise ValueError(f"gsm_cli.commands._values.VALUES names no parameter: {unused}")
    from gsm_cli.services.settings import SPECS

    for key, values in v.SETTING_VALUES.items():
        if key not in SPECS:
            raise ValueError(f"SETTING_VALUES: no such setting key: {key}")
        model.setting_values[key] = _spec(values, _static_words)
    return model


def typer_command(typer_app: Any) -> Any:
    import typer.main

    return typer.main.get_command(typer_app)


# --- the shells' tables --------------------------------------------------------------------


def _wrap(words: Iterable[str], first: str, indent: str, end: str = "", width: int = 100) -> str:
    """``first`` followed by ``words``, broken into lines of at most ``width``."""
    lines: list[str] = []
    line = first
    for word in words:
        if len(line) + len(word) + 1 + len(end) > width and line.strip():
            lines.append(line)
            line = indent + word
        else:
            line = f"{line} {word}" if line and not line.endswith(("(", "@(")) else line + word
    lines.append(line + end)
    return "\n".join(lines)


def _arg_cases(model: Model) -> list[tuple[str, str]]:
    """("PATH N", spec) for each argument that has something to complete; ("PATH *", spec)
    for the arguments of any number."""
    cases = []
    for path, command in model.leaves.items():
        for index, spec in enumerate(command.arguments, start=1):
            if spec:
                cases.append((f"{path} {index}", spec))
        if command.many:
            cases.append((f"{path} *", command.many))
    return cases


def _value_cases(model: Model) -> list[tuple[str, str]]:
    """("PATH OPTION", spec) for each option whose value has something to complete."""
    return [
        (f"{path} {name}", option.values)
        for path, command in model.leaves.items()
        for option in command.options
        if option.takes_value and option.values
        for name in option.names
    ]


def bash_tables(model: Model) -> str:
    out = [
        f'_gsm_commands="{" ".join(c for c, _ in model.commands)}"',
        f'_gsm_global_opts="{" ".join(_names(model.global_options))}"',
        f'_gsm_value_opts="{" ".join(model.value_options)}"',
        f'_gsm_help_opts="{" ".join(model.help_option.names)}"',
        "",
        "# The sub-commands of command $1, in _gsm_r (none: empty).",
        "_gsm_subs() {",
        "    case $1 in",
    ]
    for name, subs in model.subcommands.items():
        out.append(f'    {name}) _gsm_r="{" ".join(s for s, _ in subs)}" ;;')
    out += ['    *) _gsm_r="" ;;', "    esac", "}", ""]
    out += [
        '# The options of command $1 ("server start"), in _gsm_r.',
        "_gsm_opts() {",
        "    case $1 in",
    ]
    for path, command in model.leaves.items():
        out.append(f'    "{path}") _gsm_r="{" ".join(_names(command.options))}" ;;')
    out += ['    *) _gsm_r="$_gsm_help_opts" ;;', "    esac", "}", ""]
    out += [
        '# What the value of option $1 of a command ("server create --game") is, in _gsm_r.',
        "_gsm_value() {",
        "    case $1 in",
    ]
    out += [f'    "{key}") _gsm_r="{spec}" ;;' for key, spec in _value_cases(model)]
    out += ['    *) _gsm_r="" ;;', "    esac", "}", ""]
    out += [
        '# What argument N of a command ("server restore 2") is, in _gsm_r.',
        "_gsm_arg() {",
        "    case $1 in",
    ]
    for key, spec in _arg_cases(model):
        pattern = f'"{key[:-1]}"*' if key.endswith("*") else f'"{key}"'
        out.append(f'    {pattern}) _gsm_r="{spec}" ;;')
    out += ['    *) _gsm_r="" ;;', "    esac", "}", ""]
    out += [
        "# What the value of `gsm config set KEY VALUE` is, by KEY, in _gsm_r.",
        "_gsm_setting_value() {",
        "    case $1 in",
    ]
    out += [f'    "{key}") _gsm_r="{spec}" ;;' for key, spec in model.setting_values.items()]
    out += ['    *) _gsm_r="" ;;', "    esac", "}"]
    return "\n".join(out)


def _names(options: list[Option]) -> list[str]:
    return [name for option in options for name in option.names]


def _zsh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def zsh_tables(model: Model) -> str:
    def described(name: str, help: str) -> str:
        return _zsh_quote(f"{name.replace(':', chr(92) + ':')}:{help}")

    out = ["_gsm_commands=("]
    out += [f"  {described(name, summary)}" for name, summary in model.commands]
    out += [")", "_gsm_global_opts=("]
    out += [f"  {described(n, o.help)}" for o in model.global_options for n in o.names]
    out += [")", "_gsm_help_opts=("]
    out += [f"  {described(n, model.help_option.help)}" for n in model.help_option.names]
    out += [")", _wrap(model.value_options, "_gsm_value_opts=(", "  ", ")"), ""]
    out += [
        "# The sub-commands of command $1, with what they do, in reply.",
        "_gsm_subs() {",
        "  case $1 in",
    ]
    for name, subs in model.subcommands.items():
        items = " ".join(described(s, h) for s, h in subs)
        out.append(f"    ({name}) reply=({items}) ;;")
    out += ["    (*) reply=() ;;", "  esac", "}", ""]
    out += [
        '# The options of command $1 ("server start"), with what they do, in reply.',
        "_gsm_opts() {",
        "  case $1 in",
    ]
    for path, command in model.leaves.items():
        items = " ".join(described(n, o.help) for o in command.options for n in o.names)
        out.append(f"    ({_zsh_quote(path)}) reply=({items}) ;;")
    out += ["    (*) reply=($_gsm_help_opts) ;;", "  esac", "}", ""]
    out += [
        '# What the value of option $1 of a command ("server create --game") is, in REPLY.',
        "_gsm_value() {",
        "  case $1 in",
    ]
    out += [f"    ({_zsh_quote(k)}) REPLY={_zsh_quote(s)} ;;" for k, s in _value_cases(model)]
    out += ["    (*) REPLY='' ;;", "  esac", "}", ""]
    out += [
        '# What argument N of a command ("server restore 2") is, in REPLY.',
        "_gsm_arg() {",
        "  case $1 in",
    ]
    for key, spec in _arg_cases(model):
        pattern = _zsh_quote(key[:-1]) + "*" if key.endswith("*") else _zsh_quote(key)
        out.append(f"    ({pattern}) REPLY={_zsh_quote(spec)} ;;")
    out += ["    (*) REPLY='' ;;", "  esac", "}", ""]
    out += [
        "# What the value of `gsm config set KEY VALUE` is, by KEY, in REPLY.",
        "_gsm_setting_value() {",
        "  case $1 in",
    ]
    out += [
        f"    ({_zsh_quote(k)}) REPLY={_zsh_quote(s)} ;;" for k, s in model.setting_values.items()
    ]
    out += ["    (*) REPLY='' ;;", "  esac", "}"]
    return "\n".join(out)


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fish_tables(model: Model) -> str:
    def described(name: str, help: str) -> str:
        return _fish_quote(f"{name}\t{help}")

    out = [_wrap([c for c, _ in model.commands], "set -g __gsm_commands", "    ", "")]
    out[0] = out[0].replace("\n", " \\\n")
    value_opts = _wrap(model.value_options, "set -g __gsm_value_opts", "    ")
    out += [value_opts.replace("\n", " \\\n"), ""]
    out += ["# The commands, with what they do.", "function __gsm_command_list"]
    out += [f"    echo {described(n, s)}" for n, s in model.commands]
    out += ["end", "", "# The help options, with what they do.", "function __gsm_help_opts"]
    out += [f"    echo {described(n, model.help_option.help)}" for n in model.help_option.names]
    out += ["end", "", "# The global options, with what they do.", "function __gsm_global_opts"]
    out += [f"    echo {described(n, o.help)}" for o in model.global_options for n in o.names]
    out += [
        "end",
        "",
        "# The sub-commands of command $argv[1], with what they do.",
        "function __gsm_subs",
        "    switch $argv[1]",
    ]
    for name, subs in model.subcommands.items():
        out.append(f"        case {name}")
        out += [f"            echo {described(s, h)}" for s, h in subs]
    out += [
        "    end",
        "end",
        "",
        '# The options of command $argv[1] ("server start"), with what they do.',
        "function __gsm_opts",
        "    switch $argv[1]",
    ]
    for path, command in model.leaves.items():
        out.append(f"        case {_fish_quote(path)}")
        out += [
            f"            echo {described(n, o.help)}" for o in command.options for n in o.names
        ]
    out += [
        "        case '*'",
        "            __gsm_help_opts",
        "    end",
        "end",
        "",
    ]
    out += [
        '# What the value of option $argv[1] of a command ("server create --game") is.',
        "function __gsm_value",
        "    switch $argv[1]",
    ]
    for key, spec in _value_cases(model):
        out += [f"        case {_fish_quote(key)}", f"            echo {_fish_quote(spec)}"]
    out += [
        "    end",
        "end",
        "",
        '# What argument N of a command ("server restore 2") is.',
        "function __gsm_arg",
        "    switch $argv[1]",
    ]
    for key, spec in _arg_cases(model):
        pattern = _fish_quote(key[:-1]) + "'*'" if key.endswith("*") else _fish_quote(key)
        out += [f"        case {pattern}", f"            echo {_fish_quote(spec)}"]
    out += [
        "    end",
        "end",
        "",
        "# What the value of `gsm config set KEY VALUE` is, by KEY.",
        "function __gsm_setting_value",
        "    switch $argv[1]",
    ]
    for key, spec in model.setting_values.items():
        out += [f"        case {_fish_quote(key)}", f"            echo {_fish_quote(spec)}"]
    out += ["    end", "end"]
    return "\n".join(out)


def _ps_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ps_list(words: Iterable[str]) -> str:
    return "@(" + ", ".join(_ps_quote(w) for w in words) + ")"


def ps_tables(model: Model) -> str:
    ind = "    "
    out = [
        f"{ind}$gsmCommands = {_ps_list(c for c, _ in model.commands)}",
        f"{ind}$gsmGlobalOptions = {_ps_list(_names(model.global_options))}",
        f"{ind}$gsmHelpOptions = {_ps_list(model.help_option.names)}",
        f"{ind}# Options that take a value, so that the value is not taken for an argument.",
        f"{ind}$gsmValueOptions = {_ps_list(model.value_options)}",
        f"{ind}$gsmSubCommands = @{{",
    ]
    out += [
        f"{ind}    {_ps_quote(n)} = {_ps_list(s for s, _ in subs)}"
        for n, subs in model.subcommands.items()
    ]
    out += [f"{ind}}}", f"{ind}# The options of each command.", f"{ind}$gsmOptions = @{{"]
    out += [
        f"{ind}    {_ps_quote(p)} = {_ps_list(_names(c.options))}" for p, c in model.leaves.items()
    ]
    out += [
        f"{ind}}}",
        f"{ind}# What an option's value is: 'COMMAND OPTION' = spec.",
        f"{ind}$gsmValues = @{{",
    ]
    out += [f"{ind}    {_ps_quote(k)} = {_ps_quote(s)}" for k, s in _value_cases(model)]
    out += [
        f"{ind}}}",
        f"{ind}# What an argument is: 'COMMAND N' = spec ('COMMAND *': any after).",
        f"{ind}$gsmArguments = @{{",
    ]
    out += [f"{ind}    {_ps_quote(k)} = {_ps_quote(s)}" for k, s in _arg_cases(model)]
    out += [
        f"{ind}}}",
        f"{ind}# What the value of gsm config set KEY VALUE is, by KEY.",
        f"{ind}$gsmSettingValues = @{{",
    ]
    out += [f"{ind}    {_ps_quote(k)} = {_ps_quote(s)}" for k, s in model.setting_values.items()]
    out += [f"{ind}}}"]
    return "\n".join(out)


RENDERERS: dict[str, Callable[[Model], str]] = {
    "gsm.bash": bash_tables,
    "gsm.zsh": zsh_tables,
    "gsm.fish": fish_tables,
    "gsm.ps1": ps_tables,
}


def render(model: Model | None = None) -> dict[str, str]:
    """Each script's text, by file name."""
    model = model or build()
    scripts = {}
    for name, tables in RENDERERS.items():
        template = (TEMPLATES / name).read_text(encoding="utf-8")
        marker = next(line for line in template.splitlines() if line.strip() == "@TABLES@")
        scripts[name] = template.replace(marker, tables(model), 1)
    return scripts


def write(folder: Path) -> list[Path]:
    """Write the four scripts into ``folder``; the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render().items():
        path = folder / name
        path.write_bytes(text.encode("utf-8"))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else Path("completions")
    for path in write(folder):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
