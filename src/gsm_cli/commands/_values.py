"""What the values of the commands' arguments and options are, for the shell completion
scripts in completions/ (generated from the app by ``python -m gsm_cli.completion_scripts``).

One table, keyed by the command (``"server start"``; ``"server"`` for every sub-command of
``gsm server``) and the parameter's name in the command's function. The most precise key
wins; ``None`` says "nothing to complete" where a group's key would say otherwise. A value is:

- a kind of name the local store holds, completed live through ``gsm __complete KIND``
  (gsm_cli.completion): SERVERS, BACKUPS (of the server named by the command's first
  argument), PLUGINS (installed on the server given to ``--server``), COMMUNITIES, SCHEDULES,
  ALERTS;
- SETTINGS (the setting keys), GAMES (the catalog's game ids), SETTING_VALUE (the value of
  the setting named just before it: see SETTING_VALUES);
- DIR or FILE: a folder or a file of the machine (a ``Path`` parameter not listed here is a
  FILE; an Enum or Literal one completes its values);
- a tuple of the words it takes.

The generator refuses an entry that names no parameter of the app, so the table cannot go
stale silently.
"""

from gsm_cli.commands._common import SERVER_STATUSES
from gsm_cli.commands.plugin import SEARCH_SORTS
from gsm_cli.output import FORMATS
from gsm_cli.services.plugin_package import CATEGORIES
from gsm_cli.services.query import PROTOCOLS
from gsm_cli.services.revenue import GROUPINGS

SERVERS = "servers"
BACKUPS = "backups"
PLUGINS = "plugins"
COMMUNITIES = "communities"
SCHEDULES = "schedules"
ALERTS = "alerts"
LIVE = (SERVERS, BACKUPS, PLUGINS, COMMUNITIES, SCHEDULES, ALERTS)

SETTINGS = "settings"
GAMES = "games"
SETTING_VALUE = "setting-value"
DIR = "dir"
FILE = "file"

Values = str | tuple[str, ...] | None


EXPORT_FORMATS = ("csv", "json")
SYNC_SIDES = ("local", "cloud")

VALUES: dict[tuple[str, str], Values] = {
    # Every command's -o/--output (where it is a format, not a file: see below).
    ("", "output_"): tuple(FORMATS),
    ("", "game"): GAMES,
    # gsm server: NAME is an existing server, but for the new one of create and adopt.
    ("server", "name"): SERVERS,
    ("server create", "name"): None,
    ("server adopt", "name"): None,
    ("server restore", "backup_ref"): BACKUPS,
    ("server", "path"): DIR,
    ("server list", "status"): SERVER_STATUSES,
    ("server", "query_protocol"): PROTOCOLS,
    ("game install", "path"): DIR,
    ("config", "key"): SETTINGS,
    ("config set", "value"): SETTING_VALUE,
    ("sync resolve", "name"): SERVERS,
    ("sync resolve", "keep"): SYNC_SIDES,
    ("plugin", "server"): SERVERS,
    ("plugin", "category"): CATEGORIES,
    ("plugin search", "sort"): SEARCH_SORTS,
    ("plugin init", "folder"): DIR,
    ("plugin pack", "folder"): DIR,
    ("plugin install", "targets"): FILE,
    ("plugin", "from_dir"): DIR,
    ("plugin uninstall", "name"): PLUGINS,
    ("plugin enable", "name"): PLUGINS,
    ("plugin disable", "name"): PLUGINS,
    ("plugin pin", "name"): PLUGINS,
    ("plugin unpin", "name"): PLUGINS,
    ("plugin update", "names"): PLUGINS,
    ("metrics", "server"): SERVERS,
    ("metrics", "servers"): SERVERS,
    ("metrics export", "format_"): EXPORT_FORMATS,
    ("community", "community"): COMMUNITIES,
    ("community join", "community"): None,  # one you are not a member of yet
    ("revenue report", "by"): GROUPINGS,
    ("alert show", "name"): ALERTS,
    ("alert remove", "name"): ALERTS,
    ("alert test", "name"): ALERTS,
    ("service run", "home"): DIR,
    ("schedule add", "server"): SERVERS,
    ("schedule show", "name"): SCHEDULES,
    ("schedule remove", "name"): SCHEDULES,
    ("schedule enable", "name"): SCHEDULES,
    ("schedule disable", "name"): SCHEDULES,
    ("schedule run", "name"): SCHEDULES,
    ("schedule history", "name"): SCHEDULES,
}

# The value of `gsm config set KEY VALUE`, by KEY (other keys: nothing to complete).
SETTING_VALUES: dict[str, Values] = {
    "output.format": tuple(FORMATS),
    "backup.dir": DIR,
    "steamcmd.path": FILE,
}
