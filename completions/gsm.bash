# bash completion for gsm (bash 4.2 or later). Installation: see completions/README.md.
#
# Generated from gsm itself by `python -m gsm_cli.completion_scripts completions` (template:
# src/gsm_cli/completion_templates/gsm.bash); do not edit the generated file.
# Names of the local store (servers, backups, plugins, communities, schedules, alert channels)
# come from `gsm __complete`; everything else is in the tables below.
_gsm_commands="server auth config doctor game sync plugin metrics community revenue alert service schedule"
_gsm_global_opts="--version --verbose -v --debug -h --help"
_gsm_value_opts="--game -g --path --port --query-port --query-protocol --freeze-after --query-grace --max-players --arg --env --command --stop-command --max-restarts --ready-pattern --settle-seconds --plugin-dir --community --output -o --status --name --timeout --max-wait --wait-for --lines -n --interval --keep --api-url --email --batch-size --category --junit --changelog --sort --limit --wait --server --from --lock --since --until --format --older-than --count --refresh --search --description --logo-url --banner-url --code --expires --uses --amount --currency --message --by --url --on --home -s --cron --task"
_gsm_help_opts="-h --help"

# The sub-commands of command $1, in _gsm_r (none: empty).
_gsm_subs() {
    case $1 in
    server) _gsm_r="create list show update delete adopt start stop restart status send logs monitor backup backups restore" ;;
    auth) _gsm_r="login status logout" ;;
    config) _gsm_r="list get set unset path" ;;
    game) _gsm_r="list info install update validate installations" ;;
    sync) _gsm_r="push pull status retry drop resolve" ;;
    plugin) _gsm_r="init pack validate publish search info buy install uninstall enable disable update pin unpin list lock apply verify" ;;
    metrics) _gsm_r="show export prune collect watch" ;;
    community) _gsm_r="list show create update delete join leave members role remove invite invitations revoke donate" ;;
    revenue) _gsm_r="report" ;;
    alert) _gsm_r="add list show remove test" ;;
    service) _gsm_r="install status uninstall run" ;;
    schedule) _gsm_r="add list show remove enable disable run history tick" ;;
    *) _gsm_r="" ;;
    esac
}

# The options of command $1 ("server start"), in _gsm_r.
_gsm_opts() {
    case $1 in
    "server create") _gsm_r="--game -g --path --port --query-port --query-protocol --freeze-after --query-grace --max-players --arg --env --command --stop-command --restart --no-restart --autostart --no-autostart --max-restarts --ready-pattern --settle-seconds --plugin-dir --community --json --output -o -h --help" ;;
    "server list") _gsm_r="--status --game --json --output -o -h --help" ;;
    "server show") _gsm_r="--json --output -o -h --help" ;;
    "server update") _gsm_r="--name --path --port --query-port --query-protocol --freeze-after --query-grace --max-players --arg --env --command --stop-command --restart --no-restart --autostart --no-autostart --max-restarts --ready-pattern --settle-seconds --plugin-dir --community --no-community --json --output -o -h --help" ;;
    "server delete") _gsm_r="--purge --no-purge --yes -y --json -h --help" ;;
    "server adopt") _gsm_r="--path --yes -y --json --output -o -h --help" ;;
    "server start") _gsm_r="--all --timeout --json --output -o -h --help" ;;
    "server stop") _gsm_r="--all --timeout --force --no-force --json --output -o -h --help" ;;
    "server restart") _gsm_r="--all --timeout --when-empty --max-wait --json --output -o -h --help" ;;
    "server status") _gsm_r="--all --json --output -o -h --help" ;;
    "server send") _gsm_r="--wait-for --timeout --json -h --help" ;;
    "server logs") _gsm_r="--follow -f --lines -n -h --help" ;;
    "server monitor") _gsm_r="--once --no-once --interval --json --output -o -h --help" ;;
    "server backup") _gsm_r="--keep --json --output -o -h --help" ;;
    "server backups") _gsm_r="--json --output -o -h --help" ;;
    "server restore") _gsm_r="--stop --yes -y --json --output -o -h --help" ;;
    "auth login") _gsm_r="--api-url --with-token --no-with-token --email --json -h --help" ;;
    "auth status") _gsm_r="--output -o --json -h --help" ;;
    "auth logout") _gsm_r="--revoke --json -h --help" ;;
    "config list") _gsm_r="--output -o --json -h --help" ;;
    "config get") _gsm_r="--json -h --help" ;;
    "config set") _gsm_r="--json -h --help" ;;
    "config unset") _gsm_r="--json -h --help" ;;
    "config path") _gsm_r="--output -o --json -h --help" ;;
    "doctor") _gsm_r="--output -o --json -h --help" ;;
    "game list") _gsm_r="--output -o --json -h --help" ;;
    "game info") _gsm_r="--output -o --json -h --help" ;;
    "game install") _gsm_r="--path --validate --json -h --help" ;;
    "game update") _gsm_r="--validate --json -h --help" ;;
    "game validate") _gsm_r="--json -h --help" ;;
    "game installations") _gsm_r="--output -o --json -h --help" ;;
    "sync push") _gsm_r="--batch-size --dry-run --no-dry-run --json -h --help" ;;
    "sync pull") _gsm_r="--json -h --help" ;;
    "sync status") _gsm_r="--output -o --json -h --help" ;;
    "sync retry") _gsm_r="--all --json -h --help" ;;
    "sync drop") _gsm_r="--all-rejected --yes -y --json -h --help" ;;
    "sync resolve") _gsm_r="--keep --json -h --help" ;;
    "plugin init") _gsm_r="--name --game --category --force --json -h --help" ;;
    "plugin pack") _gsm_r="--output -o --json -h --help" ;;
    "plugin validate") _gsm_r="--junit --output -o --json -h --help" ;;
    "plugin publish") _gsm_r="--changelog --json --output -o -h --help" ;;
    "plugin search") _gsm_r="--game --category --verified --sort --limit --json --output -o -h --help" ;;
    "plugin info") _gsm_r="--json --output -o -h --help" ;;
    "plugin buy") _gsm_r="--yes -y --wait --json --output -o -h --help" ;;
    "plugin install") _gsm_r="--server --force --json --output -o -h --help" ;;
    "plugin uninstall") _gsm_r="--server --force --json --output -o -h --help" ;;
    "plugin enable") _gsm_r="--server --force --json --output -o -h --help" ;;
    "plugin disable") _gsm_r="--server --force --json --output -o -h --help" ;;
    "plugin update") _gsm_r="--server --all --from --force --json --output -o -h --help" ;;
    "plugin pin") _gsm_r="--server --json --output -o -h --help" ;;
    "plugin unpin") _gsm_r="--server --json --output -o -h --help" ;;
    "plugin list") _gsm_r="--server --json --output -o -h --help" ;;
    "plugin lock") _gsm_r="--server --output -o --json -h --help" ;;
    "plugin apply") _gsm_r="--server --from --dry-run --force --json --output -o -h --help" ;;
    "plugin verify") _gsm_r="--server --all --lock --junit --json --output -o -h --help" ;;
    "metrics show") _gsm_r="--since --until --output -o --json -h --help" ;;
    "metrics export") _gsm_r="--all --format --since --until --output -o -h --help" ;;
    "metrics prune") _gsm_r="--older-than --rollup --output -o --json -h --help" ;;
    "metrics collect") _gsm_r="--all --count --interval --output -o --json -h --help" ;;
    "metrics watch") _gsm_r="--all --refresh --count --json -h --help" ;;
    "community list") _gsm_r="--mine --search --json --output -o -h --help" ;;
    "community show") _gsm_r="--json --output -o -h --help" ;;
    "community create") _gsm_r="--description --public --private --logo-url --banner-url --json --output -o -h --help" ;;
    "community update") _gsm_r="--name --description --public --private --logo-url --banner-url --json --output -o -h --help" ;;
    "community delete") _gsm_r="--yes -y --json -h --help" ;;
    "community join") _gsm_r="--code --json --output -o -h --help" ;;
    "community leave") _gsm_r="--json --output -o -h --help" ;;
    "community members") _gsm_r="--json --output -o -h --help" ;;
    "community role") _gsm_r="--json --output -o -h --help" ;;
    "community remove") _gsm_r="--json --output -o -h --help" ;;
    "community invite") _gsm_r="--email --expires --uses --json --output -o -h --help" ;;
    "community invitations") _gsm_r="--json --output -o -h --help" ;;
    "community revoke") _gsm_r="--json --output -o -h --help" ;;
    "community donate") _gsm_r="--amount --currency --message --yes -y --wait --json --output -o -h --help" ;;
    "revenue report") _gsm_r="--since --until --by --json --output -o -h --help" ;;
    "alert add") _gsm_r="--url --on --output -o --json -h --help" ;;
    "alert list") _gsm_r="--output -o --json -h --help" ;;
    "alert show") _gsm_r="--limit -n --output -o --json -h --help" ;;
    "alert remove") _gsm_r="--json -h --help" ;;
    "alert test") _gsm_r="--json -h --help" ;;
    "service install") _gsm_r="--cron --at-startup --json --output -o -h --help" ;;
    "service status") _gsm_r="--json --output -o -h --help" ;;
    "service uninstall") _gsm_r="--json --output -o -h --help" ;;
    "service run") _gsm_r="--once --boot --interval --home --json --output -o -h --help" ;;
    "schedule add") _gsm_r="--server -s --cron --task --only-when-running --when-empty --max-wait --json --output -o -h --help" ;;
    "schedule list") _gsm_r="--json --output -o -h --help" ;;
    "schedule show") _gsm_r="--json --output -o -h --help" ;;
    "schedule remove") _gsm_r="--json -h --help" ;;
    "schedule enable") _gsm_r="--json --output -o -h --help" ;;
    "schedule disable") _gsm_r="--json --output -o -h --help" ;;
    "schedule run") _gsm_r="--json --output -o -h --help" ;;
    "schedule history") _gsm_r="--limit -n --json --output -o -h --help" ;;
    "schedule tick") _gsm_r="--json --output -o -h --help" ;;
    *) _gsm_r="$_gsm_help_opts" ;;
    esac
}

# What the value of option $1 of a command ("server create --game") is, in _gsm_r.
_gsm_value() {
    case $1 in
    "server create --game") _gsm_r="words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising" ;;
    "server create -g") _gsm_r="words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising" ;;
    "server create --path") _gsm_r="dir" ;;
    "server create --query-protocol") _gsm_r="words minecraft a2s tcp none" ;;
    "server create --output") _gsm_r="words table json csv" ;;
    "server create -o") _gsm_r="words table json csv" ;;
    "server list --status") _gsm_r="words stopped starting running stopping crashed failed remote" ;;
    "server list --game") _gsm_r="words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising" ;;
    "server list --output") _gsm_r="words table json csv" ;;
    "server list -o") _gsm_r="words table json csv" ;;
    "server show --output") _gsm_r="words table json csv" ;;
    "server show -o") _gsm_r="words table json csv" ;;
    "server update --path") _gsm_r="dir" ;;
    "server update --query-protocol") _gsm_r="words minecraft a2s tcp none" ;;
    "server update --output") _gsm_r="words table json csv" ;;
    "server update -o") _gsm_r="words table json csv" ;;
    "server adopt --path") _gsm_r="dir" ;;
    "server adopt --output") _gsm_r="words table json csv" ;;
    "server adopt -o") _gsm_r="words table json csv" ;;
    "server start --output") _gsm_r="words table json csv" ;;
    "server start -o") _gsm_r="words table json csv" ;;
    "server stop --output") _gsm_r="words table json csv" ;;
    "server stop -o") _gsm_r="words table json csv" ;;
    "server restart --output") _gsm_r="words table json csv" ;;
    "server restart -o") _gsm_r="words table json csv" ;;
    "server status --output") _gsm_r="words table json csv" ;;
    "server status -o") _gsm_r="words table json csv" ;;
    "server monitor --output") _gsm_r="words table json csv" ;;
    "server monitor -o") _gsm_r="words table json csv" ;;
    "server backup --output") _gsm_r="words table json csv" ;;
    "server backup -o") _gsm_r="words table json csv" ;;
    "server backups --output") _gsm_r="words table json csv" ;;
    "server backups -o") _gsm_r="words table json csv" ;;
    "server restore --output") _gsm_r="words table json csv" ;;
    "server restore -o") _gsm_r="words table json csv" ;;
    "auth status --output") _gsm_r="words table json csv" ;;
    "auth status -o") _gsm_r="words table json csv" ;;
    "config list --output") _gsm_r="words table json csv" ;;
    "config list -o") _gsm_r="words table json csv" ;;
    "config path --output") _gsm_r="words table json csv" ;;
    "config path -o") _gsm_r="words table json csv" ;;
    "doctor --output") _gsm_r="words table json csv" ;;
    "doctor -o") _gsm_r="words table json csv" ;;
    "game list --output") _gsm_r="words table json csv" ;;
    "game list -o") _gsm_r="words table json csv" ;;
    "game info --output") _gsm_r="words table json csv" ;;
    "game info -o") _gsm_r="words table json csv" ;;
    "game install --path") _gsm_r="dir" ;;
    "game installations --output") _gsm_r="words table json csv" ;;
    "game installations -o") _gsm_r="words table json csv" ;;
    "sync status --output") _gsm_r="words table json csv" ;;
    "sync status -o") _gsm_r="words table json csv" ;;
    "sync resolve --keep") _gsm_r="words local cloud" ;;
    "plugin init --game") _gsm_r="words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising" ;;
    "plugin init --category") _gsm_r="words admin anticheat chat economy gameplay library maps performance protection utility world other" ;;
    "plugin pack --output") _gsm_r="file" ;;
    "plugin pack -o") _gsm_r="file" ;;
    "plugin validate --junit") _gsm_r="file" ;;
    "plugin validate --output") _gsm_r="words table json csv" ;;
    "plugin validate -o") _gsm_r="words table json csv" ;;
    "plugin publish --output") _gsm_r="words table json csv" ;;
    "plugin publish -o") _gsm_r="words table json csv" ;;
    "plugin search --game") _gsm_r="words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising" ;;
    "plugin search --category") _gsm_r="words admin anticheat chat economy gameplay library maps performance protection utility world other" ;;
    "plugin search --sort") _gsm_r="words downloads rating new" ;;
    "plugin search --output") _gsm_r="words table json csv" ;;
    "plugin search -o") _gsm_r="words table json csv" ;;
    "plugin info --output") _gsm_r="words table json csv" ;;
    "plugin info -o") _gsm_r="words table json csv" ;;
    "plugin buy --output") _gsm_r="words table json csv" ;;
    "plugin buy -o") _gsm_r="words table json csv" ;;
    "plugin install --server") _gsm_r="servers" ;;
    "plugin install --output") _gsm_r="words table json csv" ;;
    "plugin install -o") _gsm_r="words table json csv" ;;
    "plugin uninstall --server") _gsm_r="servers" ;;
    "plugin uninstall --output") _gsm_r="words table json csv" ;;
    "plugin uninstall -o") _gsm_r="words table json csv" ;;
    "plugin enable --server") _gsm_r="servers" ;;
    "plugin enable --output") _gsm_r="words table json csv" ;;
    "plugin enable -o") _gsm_r="words table json csv" ;;
    "plugin disable --server") _gsm_r="servers" ;;
    "plugin disable --output") _gsm_r="words table json csv" ;;
    "plugin disable -o") _gsm_r="words table json csv" ;;
    "plugin update --server") _gsm_r="servers" ;;
    "plugin update --from") _gsm_r="dir" ;;
    "plugin update --output") _gsm_r="words table json csv" ;;
    "plugin update -o") _gsm_r="words table json csv" ;;
    "plugin pin --server") _gsm_r="servers" ;;
    "plugin pin --output") _gsm_r="words table json csv" ;;
    "plugin pin -o") _gsm_r="words table json csv" ;;
    "plugin unpin --server") _gsm_r="servers" ;;
    "plugin unpin --output") _gsm_r="words table json csv" ;;
    "plugin unpin -o") _gsm_r="words table json csv" ;;
    "plugin list --server") _gsm_r="servers" ;;
    "plugin list --output") _gsm_r="words table json csv" ;;
    "plugin list -o") _gsm_r="words table json csv" ;;
    "plugin lock --server") _gsm_r="servers" ;;
    "plugin lock --output") _gsm_r="file" ;;
    "plugin lock -o") _gsm_r="file" ;;
    "plugin apply --server") _gsm_r="servers" ;;
    "plugin apply --from") _gsm_r="dir" ;;
    "plugin apply --output") _gsm_r="words table json csv" ;;
    "plugin apply -o") _gsm_r="words table json csv" ;;
    "plugin verify --server") _gsm_r="servers" ;;
    "plugin verify --lock") _gsm_r="file" ;;
    "plugin verify --junit") _gsm_r="file" ;;
    "plugin verify --output") _gsm_r="words table json csv" ;;
    "plugin verify -o") _gsm_r="words table json csv" ;;
    "metrics show --output") _gsm_r="words table json csv" ;;
    "metrics show -o") _gsm_r="words table json csv" ;;
    "metrics export --format") _gsm_r="words csv json" ;;
    "metrics export --output") _gsm_r="file" ;;
    "metrics export -o") _gsm_r="file" ;;
    "metrics prune --output") _gsm_r="words table json csv" ;;
    "metrics prune -o") _gsm_r="words table json csv" ;;
    "metrics collect --output") _gsm_r="words table json csv" ;;
    "metrics collect -o") _gsm_r="words table json csv" ;;
    "community list --output") _gsm_r="words table json csv" ;;
    "community list -o") _gsm_r="words table json csv" ;;
    "community show --output") _gsm_r="words table json csv" ;;
    "community show -o") _gsm_r="words table json csv" ;;
    "community create --output") _gsm_r="words table json csv" ;;
    "community create -o") _gsm_r="words table json csv" ;;
    "community update --output") _gsm_r="words table json csv" ;;
    "community update -o") _gsm_r="words table json csv" ;;
    "community join --output") _gsm_r="words table json csv" ;;
    "community join -o") _gsm_r="words table json csv" ;;
    "community leave --output") _gsm_r="words table json csv" ;;
    "community leave -o") _gsm_r="words table json csv" ;;
    "community members --output") _gsm_r="words table json csv" ;;
    "community members -o") _gsm_r="words table json csv" ;;
    "community role --output") _gsm_r="words table json csv" ;;
    "community role -o") _gsm_r="words table json csv" ;;
    "community remove --output") _gsm_r="words table json csv" ;;
    "community remove -o") _gsm_r="words table json csv" ;;
    "community invite --output") _gsm_r="words table json csv" ;;
    "community invite -o") _gsm_r="words table json csv" ;;
    "community invitations --output") _gsm_r="words table json csv" ;;
    "community invitations -o") _gsm_r="words table json csv" ;;
    "community revoke --output") _gsm_r="words table json csv" ;;
    "community revoke -o") _gsm_r="words table json csv" ;;
    "community donate --output") _gsm_r="words table json csv" ;;
    "community donate -o") _gsm_r="words table json csv" ;;
    "revenue report --by") _gsm_r="words plugin community month" ;;
    "revenue report --output") _gsm_r="words table json csv" ;;
    "revenue report -o") _gsm_r="words table json csv" ;;
    "alert add --output") _gsm_r="words table json csv" ;;
    "alert add -o") _gsm_r="words table json csv" ;;
    "alert list --output") _gsm_r="words table json csv" ;;
    "alert list -o") _gsm_r="words table json csv" ;;
    "alert show --output") _gsm_r="words table json csv" ;;
    "alert show -o") _gsm_r="words table json csv" ;;
    "service install --output") _gsm_r="words table json csv" ;;
    "service install -o") _gsm_r="words table json csv" ;;
    "service status --output") _gsm_r="words table json csv" ;;
    "service status -o") _gsm_r="words table json csv" ;;
    "service uninstall --output") _gsm_r="words table json csv" ;;
    "service uninstall -o") _gsm_r="words table json csv" ;;
    "service run --home") _gsm_r="dir" ;;
    "service run --output") _gsm_r="words table json csv" ;;
    "service run -o") _gsm_r="words table json csv" ;;
    "schedule add --server") _gsm_r="servers" ;;
    "schedule add -s") _gsm_r="servers" ;;
    "schedule add --output") _gsm_r="words table json csv" ;;
    "schedule add -o") _gsm_r="words table json csv" ;;
    "schedule list --output") _gsm_r="words table json csv" ;;
    "schedule list -o") _gsm_r="words table json csv" ;;
    "schedule show --output") _gsm_r="words table json csv" ;;
    "schedule show -o") _gsm_r="words table json csv" ;;
    "schedule enable --output") _gsm_r="words table json csv" ;;
    "schedule enable -o") _gsm_r="words table json csv" ;;
    "schedule disable --output") _gsm_r="words table json csv" ;;
    "schedule disable -o") _gsm_r="words table json csv" ;;
    "schedule run --output") _gsm_r="words table json csv" ;;
    "schedule run -o") _gsm_r="words table json csv" ;;
    "schedule history --output") _gsm_r="words table json csv" ;;
    "schedule history -o") _gsm_r="words table json csv" ;;
    "schedule tick --output") _gsm_r="words table json csv" ;;
    "schedule tick -o") _gsm_r="words table json csv" ;;
    *) _gsm_r="" ;;
    esac
}

# What argument N of a command ("server restore 2") is, in _gsm_r.
_gsm_arg() {
    case $1 in
    "server show 1") _gsm_r="servers" ;;
    "server update 1") _gsm_r="servers" ;;
    "server delete 1") _gsm_r="servers" ;;
    "server start 1") _gsm_r="servers" ;;
    "server stop 1") _gsm_r="servers" ;;
    "server restart 1") _gsm_r="servers" ;;
    "server status 1") _gsm_r="servers" ;;
    "server send 1") _gsm_r="servers" ;;
    "server logs 1") _gsm_r="servers" ;;
    "server backup 1") _gsm_r="servers" ;;
    "server backups 1") _gsm_r="servers" ;;
    "server restore 1") _gsm_r="servers" ;;
    "server restore 2") _gsm_r="backups" ;;
    "config get 1") _gsm_r="words alerts.attempts alerts.console_lines alerts.retry_seconds alerts.timeout alerts.window backup.backend backup.dir backup.exclude backup.keep_daily backup.password_file backup.repository backup.retention cloud.api_url cloud.timeout device.name metrics.interval metrics.retention_days metrics.rollup output.format server.log_max_bytes server.stop_timeout steamcmd.path sync.batch_size" ;;
    "config set 1") _gsm_r="words alerts.attempts alerts.console_lines alerts.retry_seconds alerts.timeout alerts.window backup.backend backup.dir backup.exclude backup.keep_daily backup.password_file backup.repository backup.retention cloud.api_url cloud.timeout device.name metrics.interval metrics.retention_days metrics.rollup output.format server.log_max_bytes server.stop_timeout steamcmd.path sync.batch_size" ;;
    "config set 2") _gsm_r="setting-value" ;;
    "config unset 1") _gsm_r="words alerts.attempts alerts.console_lines alerts.retry_seconds alerts.timeout alerts.window backup.backend backup.dir backup.exclude backup.keep_daily backup.password_file backup.repository backup.retention cloud.api_url cloud.timeout device.name metrics.interval metrics.retention_days metrics.rollup output.format server.log_max_bytes server.stop_timeout steamcmd.path sync.batch_size" ;;
    "game info 1") _gsm_r="words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising" ;;
    "game install 1") _gsm_r="words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising" ;;
    "game update 1") _gsm_r="words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising" ;;
    "game validate 1") _gsm_r="words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising" ;;
    "sync resolve 1") _gsm_r="servers" ;;
    "plugin init 1") _gsm_r="dir" ;;
    "plugin pack 1") _gsm_r="dir" ;;
    "plugin validate 1") _gsm_r="file" ;;
    "plugin publish 1") _gsm_r="file" ;;
    "plugin install "*) _gsm_r="file" ;;
    "plugin uninstall 1") _gsm_r="plugins" ;;
    "plugin enable 1") _gsm_r="plugins" ;;
    "plugin disable 1") _gsm_r="plugins" ;;
    "plugin update "*) _gsm_r="plugins" ;;
    "plugin pin 1") _gsm_r="plugins" ;;
    "plugin unpin 1") _gsm_r="plugins" ;;
    "plugin apply 1") _gsm_r="file" ;;
    "metrics show 1") _gsm_r="servers" ;;
    "metrics export 1") _gsm_r="servers" ;;
    "metrics collect "*) _gsm_r="servers" ;;
    "metrics watch "*) _gsm_r="servers" ;;
    "community show 1") _gsm_r="communities" ;;
    "community update 1") _gsm_r="communities" ;;
    "community delete 1") _gsm_r="communities" ;;
    "community leave 1") _gsm_r="communities" ;;
    "community members 1") _gsm_r="communities" ;;
    "community role 1") _gsm_r="communities" ;;
    "community remove 1") _gsm_r="communities" ;;
    "community invite 1") _gsm_r="communities" ;;
    "community invitations 1") _gsm_r="communities" ;;
    "community revoke 1") _gsm_r="communities" ;;
    "community donate 1") _gsm_r="communities" ;;
    "alert show 1") _gsm_r="alerts" ;;
    "alert remove 1") _gsm_r="alerts" ;;
    "alert test 1") _gsm_r="alerts" ;;
    "schedule show 1") _gsm_r="schedules" ;;
    "schedule remove 1") _gsm_r="schedules" ;;
    "schedule enable 1") _gsm_r="schedules" ;;
    "schedule disable 1") _gsm_r="schedules" ;;
    "schedule run 1") _gsm_r="schedules" ;;
    "schedule history 1") _gsm_r="schedules" ;;
    *) _gsm_r="" ;;
    esac
}

# What the value of `gsm config set KEY VALUE` is, by KEY, in _gsm_r.
_gsm_setting_value() {
    case $1 in
    "output.format") _gsm_r="words table json csv" ;;
    "backup.dir") _gsm_r="dir" ;;
    "steamcmd.path") _gsm_r="file" ;;
    *) _gsm_r="" ;;
    esac
}

# True when $1 is an option followed by a value (--output json, --game valheim).
_gsm_takes_value() {
    [[ -n $1 && " $_gsm_value_opts " == *" $1 "* ]]
}

# Adds to COMPREPLY the names gsm's local store holds that start with $2: `gsm __complete KIND
# PREFIX [--server NAME]` (KIND: servers, backups, plugins, communities, schedules or alerts;
# $3 the server whose backups or plugins). gsm answers that without loading its libraries,
# read-only, and prints nothing when it cannot (no store, gsm not on PATH): then nothing is
# offered.
_gsm_names() {
    local kind=$1 prefix=${2//\\/} server=$3 name quoted
    local -a found=()
    if [[ -n $server ]]; then
        mapfile -t found < <(command gsm __complete "$kind" "$prefix" --server "$server" 2>/dev/null)
    else
        mapfile -t found < <(command gsm __complete "$kind" "$prefix" 2>/dev/null)
    fi
    for name in "${found[@]}"; do
        if [[ $name == "$prefix"* ]]; then
            printf -v quoted '%q' "$name" # "The Guild" is typed as The\ Guild
            COMPREPLY+=("$quoted")
        fi
    done
}

# The value given to --server on the line (bash splits "--server=x" into "--server" "=" "x",
# unless "=" was taken out of COMP_WORDBREAKS).
_gsm_server_option() {
    local i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
        --server)
            if [[ ${COMP_WORDS[i + 1]} == "=" ]]; then
                printf '%s' "${COMP_WORDS[i + 2]}"
            else
                printf '%s' "${COMP_WORDS[i + 1]}"
            fi
            return
            ;;
        --server=*)
            printf '%s' "${COMP_WORDS[i]#--server=}"
            return
            ;;
        esac
    done
}

# Fills COMPREPLY with what spec $1 offers for the word $2 ($3: the command's first argument,
# the server of a backup or the key of a setting).
_gsm_offer() {
    local spec=$1 cur=$2
    case $spec in
    "") ;;
    words\ *) COMPREPLY=($(compgen -W "${spec#words }" -- "$cur")) ;;
    dir)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        ;;
    file)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        ;;
    setting-value)
        _gsm_setting_value "$3"
        [[ $_gsm_r != setting-value ]] && _gsm_offer "$_gsm_r" "$cur"
        ;;
    backups) [[ -n $3 ]] && _gsm_names backups "$cur" "$3" ;;
    plugins) _gsm_names plugins "$cur" "$(_gsm_server_option)" ;;
    *) _gsm_names "$spec" "$cur" ;;
    esac
}

_gsm() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local prev="" i word path depth=1 _gsm_r
    local -a args=()
    ((COMP_CWORD > 0)) && prev="${COMP_WORDS[COMP_CWORD - 1]}"
    COMPREPLY=()

    # bash splits "--output=js" into "--output" "=" "js".
    if [[ $cur == "=" ]] && _gsm_takes_value "$prev"; then
        cur=""
    elif [[ $prev == "=" ]] && ((COMP_CWORD > 1)) &&
        _gsm_takes_value "${COMP_WORDS[COMP_CWORD - 2]}"; then
        prev="${COMP_WORDS[COMP_CWORD - 2]}"
    fi

    # The words typed before the cursor that are not options (nor an option's value).
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${COMP_WORDS[i]}"
        if _gsm_takes_value "$word"; then
            if [[ ${COMP_WORDS[i + 1]} == "=" ]]; then ((i += 2)); else ((i += 1)); fi
            continue
        fi
        case "$word" in
        -* | "=") ;;
        *) args+=("$word") ;;
        esac
    done

    local cmd="${args[0]}" sub="${args[1]}" subs=""
    [[ -n $cmd ]] && _gsm_subs "$cmd" && subs=$_gsm_r
    path=$cmd
    if [[ -n $subs ]]; then
        path="$cmd $sub"
        depth=2
    fi

    # The value of an option: formats, game ids, a folder, names; nothing for numbers, URLs
    # and command lines.
    if _gsm_takes_value "$prev"; then
        _gsm_value "$path $prev"
        _gsm_offer "$_gsm_r" "$cur" "${args[depth]}"
        return 0
    fi

    if [[ $cur == -* ]]; then
        if [[ -z $cmd ]]; then
            COMPREPLY=($(compgen -W "$_gsm_global_opts" -- "$cur"))
        elif [[ -n $subs && -z $sub ]]; then
            COMPREPLY=($(compgen -W "$_gsm_help_opts" -- "$cur"))
        else
            _gsm_opts "$path"
            COMPREPLY=($(compgen -W "$_gsm_r" -- "$cur"))
        fi
        return 0
    fi

    if ((${#args[@]} == 0)); then
        COMPREPLY=($(compgen -W "$_gsm_commands" -- "$cur"))
    elif ((${#args[@]} == 1)) && [[ -n $subs ]]; then
        COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    else
        _gsm_arg "$path $((${#args[@]} - depth + 1))"
        _gsm_offer "$_gsm_r" "$cur" "${args[depth]}"
    fi
    return 0
}

complete -F _gsm gsm
