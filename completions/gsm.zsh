#compdef gsm
# zsh completion for gsm (zsh 5). Installation: see completions/README.md.
#
# Generated from gsm itself by `python -m gsm_cli.completion_scripts completions` (template:
# src/gsm_cli/completion_templates/gsm.zsh); do not edit the generated file.
# Names of the local store (servers, backups, plugins, communities, schedules, alert channels)
# come from `gsm __complete`; everything else is in the tables below.
_gsm_commands=(
  'server:Create, start, stop, supervise, back up and restore game servers.'
  'auth:Log in to gsm-cloud and out again.'
  'config:Show and change gsm'\''s settings.'
  'doctor:Check the store, folders, cloud and tools.'
  'game:List games; install, update and validate game files.'
  'sync:Push queued changes to gsm-cloud and pull others'\'' changes.'
  'plugin:Author, publish, search, install, lock and verify plugins.'
  'metrics:Collect, show, chart, watch, export and prune servers'\'' performance history.'
  'community:Create, join and manage communities in gsm-cloud: members, roles, invitations.'
  'revenue:What you earned from your plugins and communities.'
  'alert:Send crashes, crash loops and other server events to chat, mail or webhooks.'
  'service:Install and run the gsm service: autostart servers at boot, run gsm'\''s duties.'
  'schedule:Schedule task chains per server: in-game warnings, backups, restarts, updates.'
)
_gsm_global_opts=(
  '--version:Show gsm'\''s version and exit'
  '--verbose:Say more about what gsm does, on stderr'
  '-v:Say more about what gsm does, on stderr'
  '--debug:Debug logging; tracebacks on errors'
  '-h:Show help and exit'
  '--help:Show help and exit'
)
_gsm_help_opts=(
  '-h:Show help and exit'
  '--help:Show help and exit'
)
_gsm_value_opts=(--game -g --path --port --query-port --query-protocol --freeze-after --query-grace
  --max-players --arg --env --command --stop-command --max-restarts --ready-pattern
  --settle-seconds --plugin-dir --community --output -o --status --name --timeout --max-wait
  --wait-for --lines -n --interval --keep --api-url --email --batch-size --category --junit
  --changelog --sort --limit --wait --server --from --lock --since --until --format --older-than
  --count --refresh --search --description --logo-url --banner-url --code --expires --uses --amount
  --currency --message --by --url --on --home -s --cron --task)

# The sub-commands of command $1, with what they do, in reply.
_gsm_subs() {
  case $1 in
    (server) reply=('create:Create a server record and its folder' 'list:List servers' 'show:Show one server'\''s record' 'update:Change a server'\''s settings (takes effect at its next start)' 'delete:Delete a stopped server (its folder too with --purge)' 'adopt:Take a server of another device (a remote one) onto this machine, in folder --path' 'start:Start a server under its supervisor and wait until the game is up (its ready line, or its settle time); it keeps running after gsm exits' 'stop:Stop gracefully: the game'\''s stop command or signal, then terminate, then kill' 'restart:Stop and start again (a stopped server is just started; --all restarts only the servers that run, and starts none that is down)' 'status:Is it running?' 'send:Write a line to a running server'\''s console' 'logs:Print a server'\''s console log (the game'\''s output and gsm'\''s notes)' 'monitor:Check every server: restart crashed ones, and frozen ones (a running game whose query failed --freeze-after times in a row, counted across runs), attach a supervisor to a game whose supervisor died' 'backup:Archive a server'\''s folder (after its save command, when running)' 'backups:List a server'\''s backups, newest first' 'restore:Replace a server'\''s folder with a backup, atomically (a failed restore changes nothing)') ;;
    (auth) reply=('login:Log in with email and password (asked on a terminal), or --with-token for CI' 'status:Who you are on which cloud, and whether the token still works' 'logout:Forget the token on this machine (it keeps working elsewhere); --revoke revokes it') ;;
    (config) reply=('list:List every setting with its value and where the value comes from' 'get:Print a setting'\''s value (an empty line when it has none)' 'set:Store a setting after checking its value' 'unset:Forget a stored setting, so its default applies again' 'path:Show where gsm keeps its store, settings, logs and backups') ;;
    (game) reply=('list:List the games gsm knows, with their Steam app ids and default ports' 'info:Show one game: ports, how it starts and stops, and where it is installed' 'install:Install a game'\''s server files with SteamCMD (anonymous login)' 'update:Update an installed game'\''s files where they were installed' 'validate:Check an installed game'\''s files; SteamCMD fetches again what is missing or damaged' 'installations:List the games installed with gsm, where, and which build') ;;
    (sync) reply=('push:Send queued operations, oldest first, in batches; each leaves the queue once answered' 'pull:Apply what changed in the cloud since the last pull, page by page' 'status:Queued, retrying and rejected operations, conflicts, and the last push and pull' 'retry:Queue rejected operations again (as new operations built from the current local rows)' 'drop:Forget rejected operations: the cloud will never learn of those changes' 'resolve:Settle a conflict: keep the local version (queued again) or the cloud'\''s (applied here)') ;;
    (plugin) reply=('init:Write a plugin skeleton that validates: gsm-plugin.toml, files/ and a README.md' 'pack:Validate a plugin folder and build its zip reproducibly; print its path and sha256' 'validate:List every problem of a package, each with its rule id and path; exit 8 when any' 'publish:Validate a package here, then publish it to gsm-cloud (Developer role); print its sha256' 'search:Search the marketplace; offline or logged out, the catalog cache of `gsm sync pull`' 'info:Show a marketplace plugin: its versions with their sha256s, games and dependencies' 'buy:Buy a paid plugin at its price; once the payment is confirmed, install it' 'install:Install plugins and their dependencies on a stopped server, all or nothing' 'uninstall:Remove exactly the files a plugin installed (changed files are kept unless --force)' 'enable:Move a disabled plugin'\''s files back into place' 'disable:Move a plugin'\''s files aside (into .gsm-disabled/ in the server folder); none deleted' 'update:Update plugins to the newest version their dependents allow; all or nothing' 'pin:Keep a plugin at its version: update leaves it alone' 'unpin:Let update change a pinned plugin again' 'list:List the plugins installed on a server' 'lock:Write the server'\''s exact plugin set: versions, package and file sha256s, states' 'apply:Make a server'\''s plugins exactly what a lock file says; all or nothing' 'verify:Check installed plugin files, games, dependencies and states; exit 8 on any drift') ;;
    (metrics) reply=('show:Samples, min, average, p95 and max of CPU, memory, latency and players, with charts' 'export:Stream samples in time order, as CSV or JSON, to stdout or a file (constant memory)' 'prune:Delete samples recorded before a cutoff (or roll them into hourly averages)' 'collect:Sample running servers now, into their performance history (as the supervisor does)' 'watch:A live dashboard of servers (JSON Lines off a terminal); it writes no samples') ;;
    (community) reply=('list:List the communities you can see; offline, --mine answers from the membership cache' 'show:Show a community and your role in it' 'create:Create a community; you become its Owner' 'update:Change a community'\''s name, description, visibility or pictures (Owners and Admins)' 'delete:Delete a community and its memberships (its Owner only); asks first unless --yes' 'join:Join a community as a Member: a public one, or any with an invitation'\''s code' 'leave:Leave a community (its last Owner cannot: make someone else Owner first)' 'members:List a community'\''s members and their roles, in the order they joined' 'role:Give a member another role (Owners and Admins)' 'remove:Remove a member (Owners and Admins; an Admin cannot remove an Owner or an Admin)' 'invite:Create an invitation (Owners and Admins) and print its code: shown this once only' 'invitations:List a community'\''s invitations and their state (Owners and Admins); codes are not kept' 'revoke:Revoke an invitation: its code admits nobody from now on (Owners and Admins)' 'donate:Donate to a community: its owner receives it once the payment is confirmed') ;;
    (revenue) reply=('report:Confirmed purchases of your plugins and donations to your communities, per currency') ;;
    (alert) reply=('add:Add a channel: an Apprise URL and the events sent to it (checked by Apprise now)' 'list:The channels, their URLs masked, and their messages by status' 'show:One channel (URL masked) and its latest messages: sent, pending, failed, suppressed' 'remove:Remove a channel, with its queued and sent messages' 'test:Send a test message now and wait for it (exit 1, with the reason, when undelivered)') ;;
    (service) reply=('install:Install the service and start it' 'status:What is installed, whether the service runs (its pid), and its last round' 'uninstall:Stop and remove what gsm service install set up (only that)' 'run:Run the service (what install sets up to run)') ;;
    (schedule) reply=('add:Add a schedule: a cron expression and a chain of tasks for one server' 'list:List schedules with their next time (local time in the table, UTC in JSON)' 'show:Show one schedule: its chain, its next time and its last run' 'remove:Delete a schedule and its run history (a chain running now runs to its end)' 'enable:Enable a schedule; it fires from its next time on (missed times are not caught up)' 'disable:Disable a schedule: it does not fire until enabled again' 'run:Run a schedule'\''s chain now, here, showing each step (--when-empty and --only-when-running apply)' 'history:Past and running runs, newest first, with each task'\''s outcome (in JSON and CSV)' 'tick:Fire the schedules that are due now, once, and exit (what `gsm service run` does every 30 seconds; usable from cron: `* * * * * gsm schedule tick`)') ;;
    (*) reply=() ;;
  esac
}

# The options of command $1 ("server start"), with what they do, in reply.
_gsm_opts() {
  case $1 in
    ('server create') reply=('--game:Game id (see gsm game list)' '-g:Game id (see gsm game list)' '--path:Server folder (default: data folder)' '--port:Game port (default: the game'\''s)' '--query-port:Port the game answers queries on, 1-65535 (default: the game'\''s, else --port)' '--query-protocol:How gsm asks the game for players and latency ('\'''\'' for the game'\''s own; default: the game'\''s, none for --game custom)' '--freeze-after:Failed queries in a row that make gsm restart the game as frozen; 0 turns it off (default: 4, or off without a query protocol)' '--query-grace:Seconds after a start during which failed queries do not count (default: the game'\''s, see gsm game info; 120 for most)' '--max-players:Player slots' '--arg:Extra argument (repeatable)' '--env:Environment K=V (repeatable)' '--command:Command line to run (required for --game custom)' '--stop-command:Console line(s) that stop it, '\'';'\''-separated' '--restart:Restart after a crash' '--no-restart:Restart after a crash' '--autostart:Start it when the machine starts (see gsm service install)' '--no-autostart:Start it when the machine starts (see gsm service install)' '--max-restarts:Restarts allowed per 10 minutes' '--ready-pattern:Regex of the console line that says the game is up ('\'''\'' for the game'\''s own)' '--settle-seconds:Seconds the game must stay up to count as started, 0-600 (default: the game'\''s)' '--plugin-dir:Plugin folder, relative to the server folder ('\'''\'' for the game'\''s own; default: the game'\''s, see gsm game info)' '--community:Put the server in this gsm-cloud community (name or id; you must be a member)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('server list') reply=('--status:Only servers in this status' '--game:Only servers of this game' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('server show') reply=('--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('server update') reply=('--name:Rename the server' '--path:Move to another folder (stopped only)' '--port:Game port (default: the game'\''s)' '--query-port:Port the game answers queries on, 1-65535 (default: the game'\''s, else --port)' '--query-protocol:How gsm asks the game for players and latency ('\'''\'' for the game'\''s own; default: the game'\''s, none for --game custom)' '--freeze-after:Failed queries in a row that make gsm restart the game as frozen; 0 turns it off (default: 4, or off without a query protocol)' '--query-grace:Seconds after a start during which failed queries do not count (default: the game'\''s, see gsm game info; 120 for most)' '--max-players:Player slots' '--arg:Extra argument (repeatable)' '--env:Environment K=V (repeatable)' '--command:Command line to run' '--stop-command:Console line(s) that stop it, '\'';'\''-separated' '--restart:Restart after a crash' '--no-restart:Restart after a crash' '--autostart:Start it when the machine starts (see gsm service install)' '--no-autostart:Start it when the machine starts (see gsm service install)' '--max-restarts:Restarts allowed per 10 minutes' '--ready-pattern:Regex of the console line that says the game is up ('\'''\'' for the game'\''s own)' '--settle-seconds:Seconds the game must stay up to count as started, 0-600 (default: the game'\''s)' '--plugin-dir:Plugin folder, relative to the server folder ('\'''\'' for the game'\''s own; default: the game'\''s, see gsm game info)' '--community:Put the server in this gsm-cloud community (name or id; you must be a member)' '--no-community:Take the server out of its community' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('server delete') reply=('--purge:Also delete the server'\''s folder' '--no-purge:Also delete the server'\''s folder' '--yes:Do it without asking' '-y:Do it without asking' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('server adopt') reply=('--path:This machine'\''s folder for the server' '--yes:Do it without asking' '-y:Do it without asking' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('server start') reply=('--all:Every server' '--timeout:Seconds to wait for it to be up (default: 30, or its settle time + 10)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('server stop') reply=('--all:Every server' '--timeout:Seconds to wait at each step (default: server.stop_timeout)' '--force:Kill at once, without asking it to stop' '--no-force:Kill at once, without asking it to stop' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('server restart') reply=('--all:Every server' '--timeout:Seconds to wait at each step (default: server.stop_timeout)' '--when-empty:First wait until no player is on (from the server'\''s query), up to --max-wait; then warn the players for a minute and restart anyway' '--max-wait:With --when-empty: the longest wait (default 30m)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('server status') reply=('--all:Every server' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('server send') reply=('--wait-for:Wait for a log line matching this regular expression' '--timeout:Seconds to wait with --wait-for' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('server logs') reply=('--follow:Keep printing new lines' '-f:Keep printing new lines' '--lines:How many last lines' '-n:How many last lines' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('server monitor') reply=('--once:Check once and exit (for cron / Task Scheduler)' '--no-once:Check once and exit (for cron / Task Scheduler)' '--interval:Seconds between checks' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('server backup') reply=('--keep:Backups to keep, 1-1000 (default: backup.retention)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('server backups') reply=('--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('server restore') reply=('--stop:Stop the server first, and start it again after' '--yes:Do it without asking' '-y:Do it without asking' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('auth login') reply=('--api-url:The cloud API (default: configured)' '--with-token:Read a token (e.g' '--no-with-token:Read a token (e.g' '--email:Email (asked for when not given)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('auth status') reply=('--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('auth logout') reply=('--revoke:Also revoke the token on the cloud: it stops working on every machine' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('config list') reply=('--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('config get') reply=('--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('config set') reply=('--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('config unset') reply=('--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('config path') reply=('--output:Output format (default: GSM_OUTPUT, then table)' '-o:Output format (default: GSM_OUTPUT, then table)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('doctor') reply=('--output:Output format (default: GSM_OUTPUT, then table)' '-o:Output format (default: GSM_OUTPUT, then table)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('game list') reply=('--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('game info') reply=('--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('game install') reply=('--path:Folder for the game'\''s files (default: <data>/games/GAME)' '--validate:Also check every file after the download' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('game update') reply=('--validate:Also check every file after the download' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('game validate') reply=('--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('game installations') reply=('--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('sync push') reply=('--batch-size:Operations per request, 1-1000 (default: the sync.batch_size setting)' '--dry-run:Only say what would be sent' '--no-dry-run:Only say what would be sent' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('sync pull') reply=('--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('sync status') reply=('--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('sync retry') reply=('--all:Every rejected operation' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('sync drop') reply=('--all-rejected:Every rejected operation' '--yes:Do it without asking' '-y:Do it without asking' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('sync resolve') reply=('--keep:local: push this machine'\''s version; cloud: take the cloud'\''s' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('plugin init') reply=('--name:Plugin name: 1-128 letters, digits, _ or -' '--game:Game id from `gsm game list` (or custom)' '--category:admin, anticheat, chat, economy, gameplay, library, maps, performance, protection, utility, world or other' '--force:Write into a folder that is not empty (replaces its gsm-plugin.toml and README.md; nothing else is touched)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('plugin pack') reply=('--output:Zip to write (default: NAME-VERSION.zip in the current folder)' '-o:Zip to write (default: NAME-VERSION.zip in the current folder)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('plugin validate') reply=('--junit:Also write a JUnit XML report: one test case per rule' '--output:Output format (default: GSM_OUTPUT, then table)' '-o:Output format (default: GSM_OUTPUT, then table)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('plugin publish') reply=('--changelog:What changed in this version' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('plugin search') reply=('--game:Only plugins for this game' '--category:Only plugins of this category' '--verified:Only plugins an admin verified' '--sort:Most downloaded, best rated or newest first' '--limit:Show at most N plugins (1-200)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('plugin info') reply=('--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('plugin buy') reply=('--yes:Buy without asking' '-y:Buy without asking' '--wait:Wait up to SECONDS for a pending payment to be confirmed (or failed)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('plugin install') reply=('--server:Server name (or id)' '--force:Install over files gsm did not install (they are kept in .gsm-replaced/)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('plugin uninstall') reply=('--server:Server name (or id)' '--force:Also remove files changed since the install, and plugins others need' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('plugin enable') reply=('--server:Server name (or id)' '--force:Even when other plugins need it, or files gsm did not install are in the way' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('plugin disable') reply=('--server:Server name (or id)' '--force:Even when other plugins need it, or files gsm did not install are in the way' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('plugin update') reply=('--server:Server name (or id)' '--all:Every plugin that is not pinned' '--from:Take the packages from this folder of package files instead of the cloud' '--force:Replace files changed here (kept in .gsm-replaced/)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('plugin pin') reply=('--server:Server name (or id)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('plugin unpin') reply=('--server:Server name (or id)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('plugin list') reply=('--server:Server name (or id)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('plugin lock') reply=('--server:Server name (or id)' '--output:Lock file to write; - for stdout (default: gsm-plugins.lock)' '-o:Lock file to write; - for stdout (default: gsm-plugins.lock)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('plugin apply') reply=('--server:Server name (or id)' '--from:Take packages from this folder (matched by sha256) instead of the cloud' '--dry-run:Only show what would change' '--force:Replace files changed here or not gsm'\''s (kept in .gsm-replaced/), remove changed files of plugins the lock drops' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('plugin verify') reply=('--server:Server to check (repeatable)' '--all:Every server of this machine' '--lock:Also require exactly this lock'\''s set' '--junit:Also write a JUnit XML report: one test case per plugin' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('metrics show') reply=('--since:Start: a duration back from now (90s, 30m, 24h, 7d, 2w) or an ISO date/time' '--until:End, in the same forms as --since (default: now)' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('metrics export') reply=('--all:Every server'\''s samples' '--format:csv (a header row), or json (one array, one sample object per line)' '--since:Start: a duration back from now (90s, 30m, 24h, 7d, 2w) or an ISO date/time' '--until:End, in the same forms as --since (default: now)' '--output:Write to FILE (replaced whole, atomically) instead of stdout' '-o:Write to FILE (replaced whole, atomically) instead of stdout' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('metrics prune') reply=('--older-than:Delete samples older than this: 90s, 30m, 24h, 7d, 2w' '--rollup:Keep one average per server and hour instead of deleting (docs/metrics.md)' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('metrics collect') reply=('--all:Every server' '--count:Samples per server' '--interval:Seconds between samples; the CPU is measured over each (the first too)' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('metrics watch') reply=('--all:Every server' '--refresh:Seconds between two redraws' '--count:Stop after N refreshes (default: until Ctrl-C)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('community list') reply=('--mine:Only communities you are a member of' '--search:Only names that contain TEXT (any case)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('community show') reply=('--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('community create') reply=('--description:What the community is ('\'''\'' clears it)' '--public:Anyone may see and join it, or only members see it and join by invitation (create: public unless --private)' '--private:Anyone may see and join it, or only members see it and join by invitation (create: public unless --private)' '--logo-url:An http(s) URL of its logo ('\'''\'' clears it)' '--banner-url:An http(s) URL of its banner ('\'''\'' clears it)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('community update') reply=('--name:Rename the community' '--description:What the community is ('\'''\'' clears it)' '--public:Anyone may see and join it, or only members see it and join by invitation (create: public unless --private)' '--private:Anyone may see and join it, or only members see it and join by invitation (create: public unless --private)' '--logo-url:An http(s) URL of its logo ('\'''\'' clears it)' '--banner-url:An http(s) URL of its banner ('\'''\'' clears it)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('community delete') reply=('--yes:Do it without asking' '-y:Do it without asking' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('community join') reply=('--code:An invitation'\''s code: joins a private community too (name it by its id)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('community leave') reply=('--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('community members') reply=('--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('community role') reply=('--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('community remove') reply=('--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('community invite') reply=('--email:Only the user with this email may use it' '--expires:How long it is valid: 60s to 90d (30m, 24h, 2w)' '--uses:How many users it admits, 1-1000' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('community invitations') reply=('--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('community revoke') reply=('--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('community donate') reply=('--amount:How much, above zero, with a decimal point: 5.00 (at most the currency'\''s decimals)' '--currency:ISO 4217 currency: EUR, USD' '--message:A few words to go with it' '--yes:Do it without asking' '-y:Do it without asking' '--wait:Wait up to SECONDS for a pending payment to be confirmed (or failed)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('revenue report') reply=('--since:From this time: a duration back from now (30d, 12h) or an ISO date or time' '--until:Up to this time (same forms as --since; default now)' '--by:One row per plugin, per community or per month (and currency)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('alert add') reply=('--url:An Apprise URL (discord://..., slack://..., tgram://..., mailto://..., ntfy://..., json://host/path...)' '--on:Comma-separated events to send: crash, crash-loop, freeze, backup-failed, start, stop, update, schedule-failed, or all (default: crash, crash-loop, freeze, backup-failed, schedule-failed)' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('alert list') reply=('--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('alert show') reply=('--limit:Latest messages shown' '-n:Latest messages shown' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('alert remove') reply=('--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('alert test') reply=('--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('service install') reply=('--cron:Write gsm'\''s lines into your crontab instead (not Windows)' '--at-startup:Windows: run when the machine starts rather than at your log-on (an administrator shell; no password is stored)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('service status') reply=('--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('service uninstall') reply=('--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('service run') reply=('--once:Run one round and exit' '--boot:The machine has just started: start autostart servers' '--interval:Seconds between rounds, at most 30' '--home:Use this GSM_HOME (the service'\''s install sets it when needed)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('schedule add') reply=('--server:The server it runs for' '-s:The server it runs for' '--cron:When, as cron'\''s five fields in this machine'\''s local time: '\''0 4 * * *'\'' is 04:00 every day' '--task:A task of the chain, in order (repeatable): say TEXT, command LINE, wait DURATION, countdown DURATION [TEXT], backup, restart, stop, start, update; before it, +OFFSET and continue-on-failure may be given' '--only-when-running:Skip a firing when the server is not running' '--when-empty:Wait until no player is on (from the server'\''s query) first' '--max-wait:With --when-empty: the longest wait, then a countdown and on anyway (default 30m)' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('schedule list') reply=('--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('schedule show') reply=('--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('schedule remove') reply=('--json:Same as --output json' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('schedule enable') reply=('--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('schedule disable') reply=('--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('schedule run') reply=('--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('schedule history') reply=('--limit:How many runs, newest first' '-n:How many runs, newest first' '--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    ('schedule tick') reply=('--json:Same as --output json' '--output:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-o:Output format (default: GSM_OUTPUT, then the output.format setting, then table)' '-h:Show help and exit' '--help:Show help and exit') ;;
    (*) reply=($_gsm_help_opts) ;;
  esac
}

# What the value of option $1 of a command ("server create --game") is, in REPLY.
_gsm_value() {
  case $1 in
    ('server create --game') REPLY='words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising' ;;
    ('server create -g') REPLY='words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising' ;;
    ('server create --path') REPLY='dir' ;;
    ('server create --query-protocol') REPLY='words minecraft a2s tcp none' ;;
    ('server create --output') REPLY='words table json csv' ;;
    ('server create -o') REPLY='words table json csv' ;;
    ('server list --status') REPLY='words stopped starting running stopping crashed failed remote' ;;
    ('server list --game') REPLY='words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising' ;;
    ('server list --output') REPLY='words table json csv' ;;
    ('server list -o') REPLY='words table json csv' ;;
    ('server show --output') REPLY='words table json csv' ;;
    ('server show -o') REPLY='words table json csv' ;;
    ('server update --path') REPLY='dir' ;;
    ('server update --query-protocol') REPLY='words minecraft a2s tcp none' ;;
    ('server update --output') REPLY='words table json csv' ;;
    ('server update -o') REPLY='words table json csv' ;;
    ('server adopt --path') REPLY='dir' ;;
    ('server adopt --output') REPLY='words table json csv' ;;
    ('server adopt -o') REPLY='words table json csv' ;;
    ('server start --output') REPLY='words table json csv' ;;
    ('server start -o') REPLY='words table json csv' ;;
    ('server stop --output') REPLY='words table json csv' ;;
    ('server stop -o') REPLY='words table json csv' ;;
    ('server restart --output') REPLY='words table json csv' ;;
    ('server restart -o') REPLY='words table json csv' ;;
    ('server status --output') REPLY='words table json csv' ;;
    ('server status -o') REPLY='words table json csv' ;;
    ('server monitor --output') REPLY='words table json csv' ;;
    ('server monitor -o') REPLY='words table json csv' ;;
    ('server backup --output') REPLY='words table json csv' ;;
    ('server backup -o') REPLY='words table json csv' ;;
    ('server backups --output') REPLY='words table json csv' ;;
    ('server backups -o') REPLY='words table json csv' ;;
    ('server restore --output') REPLY='words table json csv' ;;
    ('server restore -o') REPLY='words table json csv' ;;
    ('auth status --output') REPLY='words table json csv' ;;
    ('auth status -o') REPLY='words table json csv' ;;
    ('config list --output') REPLY='words table json csv' ;;
    ('config list -o') REPLY='words table json csv' ;;
    ('config path --output') REPLY='words table json csv' ;;
    ('config path -o') REPLY='words table json csv' ;;
    ('doctor --output') REPLY='words table json csv' ;;
    ('doctor -o') REPLY='words table json csv' ;;
    ('game list --output') REPLY='words table json csv' ;;
    ('game list -o') REPLY='words table json csv' ;;
    ('game info --output') REPLY='words table json csv' ;;
    ('game info -o') REPLY='words table json csv' ;;
    ('game install --path') REPLY='dir' ;;
    ('game installations --output') REPLY='words table json csv' ;;
    ('game installations -o') REPLY='words table json csv' ;;
    ('sync status --output') REPLY='words table json csv' ;;
    ('sync status -o') REPLY='words table json csv' ;;
    ('sync resolve --keep') REPLY='words local cloud' ;;
    ('plugin init --game') REPLY='words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising' ;;
    ('plugin init --category') REPLY='words admin anticheat chat economy gameplay library maps performance protection utility world other' ;;
    ('plugin pack --output') REPLY='file' ;;
    ('plugin pack -o') REPLY='file' ;;
    ('plugin validate --junit') REPLY='file' ;;
    ('plugin validate --output') REPLY='words table json csv' ;;
    ('plugin validate -o') REPLY='words table json csv' ;;
    ('plugin publish --output') REPLY='words table json csv' ;;
    ('plugin publish -o') REPLY='words table json csv' ;;
    ('plugin search --game') REPLY='words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising' ;;
    ('plugin search --category') REPLY='words admin anticheat chat economy gameplay library maps performance protection utility world other' ;;
    ('plugin search --sort') REPLY='words downloads rating new' ;;
    ('plugin search --output') REPLY='words table json csv' ;;
    ('plugin search -o') REPLY='words table json csv' ;;
    ('plugin info --output') REPLY='words table json csv' ;;
    ('plugin info -o') REPLY='words table json csv' ;;
    ('plugin buy --output') REPLY='words table json csv' ;;
    ('plugin buy -o') REPLY='words table json csv' ;;
    ('plugin install --server') REPLY='servers' ;;
    ('plugin install --output') REPLY='words table json csv' ;;
    ('plugin install -o') REPLY='words table json csv' ;;
    ('plugin uninstall --server') REPLY='servers' ;;
    ('plugin uninstall --output') REPLY='words table json csv' ;;
    ('plugin uninstall -o') REPLY='words table json csv' ;;
    ('plugin enable --server') REPLY='servers' ;;
    ('plugin enable --output') REPLY='words table json csv' ;;
    ('plugin enable -o') REPLY='words table json csv' ;;
    ('plugin disable --server') REPLY='servers' ;;
    ('plugin disable --output') REPLY='words table json csv' ;;
    ('plugin disable -o') REPLY='words table json csv' ;;
    ('plugin update --server') REPLY='servers' ;;
    ('plugin update --from') REPLY='dir' ;;
    ('plugin update --output') REPLY='words table json csv' ;;
    ('plugin update -o') REPLY='words table json csv' ;;
    ('plugin pin --server') REPLY='servers' ;;
    ('plugin pin --output') REPLY='words table json csv' ;;
    ('plugin pin -o') REPLY='words table json csv' ;;
    ('plugin unpin --server') REPLY='servers' ;;
    ('plugin unpin --output') REPLY='words table json csv' ;;
    ('plugin unpin -o') REPLY='words table json csv' ;;
    ('plugin list --server') REPLY='servers' ;;
    ('plugin list --output') REPLY='words table json csv' ;;
    ('plugin list -o') REPLY='words table json csv' ;;
    ('plugin lock --server') REPLY='servers' ;;
    ('plugin lock --output') REPLY='file' ;;
    ('plugin lock -o') REPLY='file' ;;
    ('plugin apply --server') REPLY='servers' ;;
    ('plugin apply --from') REPLY='dir' ;;
    ('plugin apply --output') REPLY='words table json csv' ;;
    ('plugin apply -o') REPLY='words table json csv' ;;
    ('plugin verify --server') REPLY='servers' ;;
    ('plugin verify --lock') REPLY='file' ;;
    ('plugin verify --junit') REPLY='file' ;;
    ('plugin verify --output') REPLY='words table json csv' ;;
    ('plugin verify -o') REPLY='words table json csv' ;;
    ('metrics show --output') REPLY='words table json csv' ;;
    ('metrics show -o') REPLY='words table json csv' ;;
    ('metrics export --format') REPLY='words csv json' ;;
    ('metrics export --output') REPLY='file' ;;
    ('metrics export -o') REPLY='file' ;;
    ('metrics prune --output') REPLY='words table json csv' ;;
    ('metrics prune -o') REPLY='words table json csv' ;;
    ('metrics collect --output') REPLY='words table json csv' ;;
    ('metrics collect -o') REPLY='words table json csv' ;;
    ('community list --output') REPLY='words table json csv' ;;
    ('community list -o') REPLY='words table json csv' ;;
    ('community show --output') REPLY='words table json csv' ;;
    ('community show -o') REPLY='words table json csv' ;;
    ('community create --output') REPLY='words table json csv' ;;
    ('community create -o') REPLY='words table json csv' ;;
    ('community update --output') REPLY='words table json csv' ;;
    ('community update -o') REPLY='words table json csv' ;;
    ('community join --output') REPLY='words table json csv' ;;
    ('community join -o') REPLY='words table json csv' ;;
    ('community leave --output') REPLY='words table json csv' ;;
    ('community leave -o') REPLY='words table json csv' ;;
    ('community members --output') REPLY='words table json csv' ;;
    ('community members -o') REPLY='words table json csv' ;;
    ('community role --output') REPLY='words table json csv' ;;
    ('community role -o') REPLY='words table json csv' ;;
    ('community remove --output') REPLY='words table json csv' ;;
    ('community remove -o') REPLY='words table json csv' ;;
    ('community invite --output') REPLY='words table json csv' ;;
    ('community invite -o') REPLY='words table json csv' ;;
    ('community invitations --output') REPLY='words table json csv' ;;
    ('community invitations -o') REPLY='words table json csv' ;;
    ('community revoke --output') REPLY='words table json csv' ;;
    ('community revoke -o') REPLY='words table json csv' ;;
    ('community donate --output') REPLY='words table json csv' ;;
    ('community donate -o') REPLY='words table json csv' ;;
    ('revenue report --by') REPLY='words plugin community month' ;;
    ('revenue report --output') REPLY='words table json csv' ;;
    ('revenue report -o') REPLY='words table json csv' ;;
    ('alert add --output') REPLY='words table json csv' ;;
    ('alert add -o') REPLY='words table json csv' ;;
    ('alert list --output') REPLY='words table json csv' ;;
    ('alert list -o') REPLY='words table json csv' ;;
    ('alert show --output') REPLY='words table json csv' ;;
    ('alert show -o') REPLY='words table json csv' ;;
    ('service install --output') REPLY='words table json csv' ;;
    ('service install -o') REPLY='words table json csv' ;;
    ('service status --output') REPLY='words table json csv' ;;
    ('service status -o') REPLY='words table json csv' ;;
    ('service uninstall --output') REPLY='words table json csv' ;;
    ('service uninstall -o') REPLY='words table json csv' ;;
    ('service run --home') REPLY='dir' ;;
    ('service run --output') REPLY='words table json csv' ;;
    ('service run -o') REPLY='words table json csv' ;;
    ('schedule add --server') REPLY='servers' ;;
    ('schedule add -s') REPLY='servers' ;;
    ('schedule add --output') REPLY='words table json csv' ;;
    ('schedule add -o') REPLY='words table json csv' ;;
    ('schedule list --output') REPLY='words table json csv' ;;
    ('schedule list -o') REPLY='words table json csv' ;;
    ('schedule show --output') REPLY='words table json csv' ;;
    ('schedule show -o') REPLY='words table json csv' ;;
    ('schedule enable --output') REPLY='words table json csv' ;;
    ('schedule enable -o') REPLY='words table json csv' ;;
    ('schedule disable --output') REPLY='words table json csv' ;;
    ('schedule disable -o') REPLY='words table json csv' ;;
    ('schedule run --output') REPLY='words table json csv' ;;
    ('schedule run -o') REPLY='words table json csv' ;;
    ('schedule history --output') REPLY='words table json csv' ;;
    ('schedule history -o') REPLY='words table json csv' ;;
    ('schedule tick --output') REPLY='words table json csv' ;;
    ('schedule tick -o') REPLY='words table json csv' ;;
    (*) REPLY='' ;;
  esac
}

# What argument N of a command ("server restore 2") is, in REPLY.
_gsm_arg() {
  case $1 in
    ('server show 1') REPLY='servers' ;;
    ('server update 1') REPLY='servers' ;;
    ('server delete 1') REPLY='servers' ;;
    ('server start 1') REPLY='servers' ;;
    ('server stop 1') REPLY='servers' ;;
    ('server restart 1') REPLY='servers' ;;
    ('server status 1') REPLY='servers' ;;
    ('server send 1') REPLY='servers' ;;
    ('server logs 1') REPLY='servers' ;;
    ('server backup 1') REPLY='servers' ;;
    ('server backups 1') REPLY='servers' ;;
    ('server restore 1') REPLY='servers' ;;
    ('server restore 2') REPLY='backups' ;;
    ('config get 1') REPLY='words alerts.attempts alerts.console_lines alerts.retry_seconds alerts.timeout alerts.window backup.backend backup.dir backup.exclude backup.keep_daily backup.password_file backup.repository backup.retention cloud.api_url cloud.timeout device.name metrics.interval metrics.retention_days metrics.rollup output.format server.log_max_bytes server.stop_timeout steamcmd.path sync.batch_size' ;;
    ('config set 1') REPLY='words alerts.attempts alerts.console_lines alerts.retry_seconds alerts.timeout alerts.window backup.backend backup.dir backup.exclude backup.keep_daily backup.password_file backup.repository backup.retention cloud.api_url cloud.timeout device.name metrics.interval metrics.retention_days metrics.rollup output.format server.log_max_bytes server.stop_timeout steamcmd.path sync.batch_size' ;;
    ('config set 2') REPLY='setting-value' ;;
    ('config unset 1') REPLY='words alerts.attempts alerts.console_lines alerts.retry_seconds alerts.timeout alerts.window backup.backend backup.dir backup.exclude backup.keep_daily backup.password_file backup.repository backup.retention cloud.api_url cloud.timeout device.name metrics.interval metrics.retention_days metrics.rollup output.format server.log_max_bytes server.stop_timeout steamcmd.path sync.batch_size' ;;
    ('game info 1') REPLY='words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising' ;;
    ('game install 1') REPLY='words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising' ;;
    ('game update 1') REPLY='words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising' ;;
    ('game validate 1') REPLY='words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising' ;;
    ('sync resolve 1') REPLY='servers' ;;
    ('plugin init 1') REPLY='dir' ;;
    ('plugin pack 1') REPLY='dir' ;;
    ('plugin validate 1') REPLY='file' ;;
    ('plugin publish 1') REPLY='file' ;;
    ('plugin install '*) REPLY='file' ;;
    ('plugin uninstall 1') REPLY='plugins' ;;
    ('plugin enable 1') REPLY='plugins' ;;
    ('plugin disable 1') REPLY='plugins' ;;
    ('plugin update '*) REPLY='plugins' ;;
    ('plugin pin 1') REPLY='plugins' ;;
    ('plugin unpin 1') REPLY='plugins' ;;
    ('plugin apply 1') REPLY='file' ;;
    ('metrics show 1') REPLY='servers' ;;
    ('metrics export 1') REPLY='servers' ;;
    ('metrics collect '*) REPLY='servers' ;;
    ('metrics watch '*) REPLY='servers' ;;
    ('community show 1') REPLY='communities' ;;
    ('community update 1') REPLY='communities' ;;
    ('community delete 1') REPLY='communities' ;;
    ('community leave 1') REPLY='communities' ;;
    ('community members 1') REPLY='communities' ;;
    ('community role 1') REPLY='communities' ;;
    ('community remove 1') REPLY='communities' ;;
    ('community invite 1') REPLY='communities' ;;
    ('community invitations 1') REPLY='communities' ;;
    ('community revoke 1') REPLY='communities' ;;
    ('community donate 1') REPLY='communities' ;;
    ('alert show 1') REPLY='alerts' ;;
    ('alert remove 1') REPLY='alerts' ;;
    ('alert test 1') REPLY='alerts' ;;
    ('schedule show 1') REPLY='schedules' ;;
    ('schedule remove 1') REPLY='schedules' ;;
    ('schedule enable 1') REPLY='schedules' ;;
    ('schedule disable 1') REPLY='schedules' ;;
    ('schedule run 1') REPLY='schedules' ;;
    ('schedule history 1') REPLY='schedules' ;;
    (*) REPLY='' ;;
  esac
}

# What the value of `gsm config set KEY VALUE` is, by KEY, in REPLY.
_gsm_setting_value() {
  case $1 in
    ('output.format') REPLY='words table json csv' ;;
    ('backup.dir') REPLY='dir' ;;
    ('steamcmd.path') REPLY='file' ;;
    (*) REPLY='' ;;
  esac
}

# The names gsm's local store holds: `gsm __complete KIND [--server NAME]` (KIND: servers,
# backups, plugins, communities, schedules or alerts; $2 the server whose backups or plugins).
# gsm answers that without loading its libraries, read-only, and prints nothing when it
# cannot (no store, gsm not on PATH): then nothing is offered.
_gsm_names() {
  local expl
  local -a names
  if [[ -n $2 ]]; then
    names=(${(f)"$(command gsm __complete $1 --server ${(Q)2} 2>/dev/null)"})
  else
    names=(${(f)"$(command gsm __complete $1 2>/dev/null)"})
  fi
  _wanted $1 expl $1 compadd -a names
}

# The value given to --server on the line.
_gsm_server_option() {
  local i
  for (( i = 2; i < CURRENT; i++ )); do
    case $words[i] in
      (--server) print -r -- $words[i+1]; return ;;
      (--server=*) print -r -- ${words[i]#--server=}; return ;;
    esac
  done
}

# Offers what spec $1 says ($2: the command's first argument, the server of a backup or the key
# of a setting).
_gsm_offer() {
  local spec=$1 expl
  local -a choices
  case $spec in
    ('') _message 'value' ;;
    ('words '*)
      choices=(${=spec#words })
      _wanted values expl value compadd -a choices
      ;;
    (dir) _files -/ ;;
    (file) _files ;;
    (setting-value)
      local REPLY
      _gsm_setting_value $2
      _gsm_offer "$REPLY"
      ;;
    (backups) [[ -n $2 ]] && _gsm_names backups $2 ;;
    (plugins) _gsm_names plugins "$(_gsm_server_option)" ;;
    (*) _gsm_names $spec ;;
  esac
}

_gsm() {
  local -a args reply
  local i word prev='' REPLY
  # The words typed before the cursor that are not options (nor an option's value).
  for (( i = 2; i < CURRENT; i++ )); do
    word=$words[i]
    if [[ -n $prev ]]; then
      prev=''
      continue
    fi
    if (( ${_gsm_value_opts[(Ie)$word]} )); then
      prev=$word
      continue
    fi
    [[ $word == -* ]] || args+=("$word")
  done

  local cmd=$args[1] cmdpath=$args[1] depth=1
  local -a subs
  if [[ -n $cmd ]]; then
    _gsm_subs $cmd
    subs=("${reply[@]}")
  fi
  if (( $#subs )); then
    cmdpath="$cmd $args[2]"
    depth=2
  fi
  local first=$args[depth+1]

  # --output=js: the option's value, after its "=".
  if [[ -z $prev && $PREFIX == --*=* ]] && (( ${_gsm_value_opts[(Ie)${PREFIX%%=*}]} )); then
    prev=${PREFIX%%=*}
    compset -P '*='
  fi
  if [[ -n $prev ]]; then
    _gsm_value "$cmdpath $prev"
    _gsm_offer "$REPLY" $first
    return
  fi

  if [[ $PREFIX == -* ]]; then
    if [[ -z $cmd ]]; then
      _describe -t options 'gsm option' _gsm_global_opts
    elif (( $#subs )) && [[ -z $args[2] ]]; then
      _describe -t options 'option' _gsm_help_opts
    else
      _gsm_opts $cmdpath
      _describe -t options "gsm $cmdpath option" reply
    fi
    return
  fi

  if (( $#args == 0 )); then
    _describe -t commands 'gsm command' _gsm_commands
  elif (( $#args == 1 && $#subs )); then
    _describe -t commands "gsm $cmd command" subs
  else
    _gsm_arg "$cmdpath $(( $#args - depth + 1 ))"
    _gsm_offer "$REPLY" $first
  fi
}

if [[ $funcstack[1] == _gsm ]]; then
  # Loaded from $fpath by compinit: the file body runs as _gsm; complete now.
  _gsm "$@"
elif (( $+functions[compdef] )); then
  # Sourced (for example from ~/.zshrc after compinit).
  compdef _gsm gsm
fi
