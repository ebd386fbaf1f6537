# PowerShell completion for gsm (Windows PowerShell 5.1 and PowerShell 7+).
# Installation: see completions/README.md.
#
# Generated from gsm itself by `python -m gsm_cli.completion_scripts completions` (template:
# src/gsm_cli/completion_templates/gsm.ps1); do not edit the generated file.
# Names of the local store (servers, backups, plugins, communities, schedules, alert channels)
# come from `gsm __complete`; everything else is in the tables below.
Register-ArgumentCompleter -Native -CommandName 'gsm', 'gsm.exe' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $gsmCommands = @('server', 'auth', 'config', 'doctor', 'game', 'sync', 'plugin', 'metrics', 'community', 'revenue', 'alert', 'service', 'schedule')
    $gsmGlobalOptions = @('--version', '--verbose', '-v', '--debug', '-h', '--help')
    $gsmHelpOptions = @('-h', '--help')
    # Options that take a value, so that the value is not taken for an argument.
    $gsmValueOptions = @('--game', '-g', '--path', '--port', '--query-port', '--query-protocol', '--freeze-after', '--query-grace', '--max-players', '--arg', '--env', '--command', '--stop-command', '--max-restarts', '--ready-pattern', '--settle-seconds', '--plugin-dir', '--community', '--output', '-o', '--status', '--name', '--timeout', '--max-wait', '--wait-for', '--lines', '-n', '--interval', '--keep', '--api-url', '--email', '--batch-size', '--category', '--junit', '--changelog', '--sort', '--limit', '--wait', '--server', '--from', '--lock', '--since', '--until', '--format', '--older-than', '--count', '--refresh', '--search', '--description', '--logo-url', '--banner-url', '--code', '--expires', '--uses', '--amount', '--currency', '--message', '--by', '--url', '--on', '--home', '-s', '--cron', '--task')
    $gsmSubCommands = @{
        'server' = @('create', 'list', 'show', 'update', 'delete', 'adopt', 'start', 'stop', 'restart', 'status', 'send', 'logs', 'monitor', 'backup', 'backups', 'restore')
        'auth' = @('login', 'status', 'logout')
        'config' = @('list', 'get', 'set', 'unset', 'path')
        'game' = @('list', 'info', 'install', 'update', 'validate', 'installations')
        'sync' = @('push', 'pull', 'status', 'retry', 'drop', 'resolve')
        'plugin' = @('init', 'pack', 'validate', 'publish', 'search', 'info', 'buy', 'install', 'uninstall', 'enable', 'disable', 'update', 'pin', 'unpin', 'list', 'lock', 'apply', 'verify')
        'metrics' = @('show', 'export', 'prune', 'collect', 'watch')
        'community' = @('list', 'show', 'create', 'update', 'delete', 'join', 'leave', 'members', 'role', 'remove', 'invite', 'invitations', 'revoke', 'donate')
        'revenue' = @('report')
        'alert' = @('add', 'list', 'show', 'remove', 'test')
        'service' = @('install', 'status', 'uninstall', 'run')
        'schedule' = @('add', 'list', 'show', 'remove', 'enable', 'disable', 'run', 'history', 'tick')
    }
    # The options of each command.
    $gsmOptions = @{
        'server create' = @('--game', '-g', '--path', '--port', '--query-port', '--query-protocol', '--freeze-after', '--query-grace', '--max-players', '--arg', '--env', '--command', '--stop-command', '--restart', '--no-restart', '--autostart', '--no-autostart', '--max-restarts', '--ready-pattern', '--settle-seconds', '--plugin-dir', '--community', '--json', '--output', '-o', '-h', '--help')
        'server list' = @('--status', '--game', '--json', '--output', '-o', '-h', '--help')
        'server show' = @('--json', '--output', '-o', '-h', '--help')
        'server update' = @('--name', '--path', '--port', '--query-port', '--query-protocol', '--freeze-after', '--query-grace', '--max-players', '--arg', '--env', '--command', '--stop-command', '--restart', '--no-restart', '--autostart', '--no-autostart', '--max-restarts', '--ready-pattern', '--settle-seconds', '--plugin-dir', '--community', '--no-community', '--json', '--output', '-o', '-h', '--help')
        'server delete' = @('--purge', '--no-purge', '--yes', '-y', '--json', '-h', '--help')
        'server adopt' = @('--path', '--yes', '-y', '--json', '--output', '-o', '-h', '--help')
        'server start' = @('--all', '--timeout', '--json', '--output', '-o', '-h', '--help')
        'server stop' = @('--all', '--timeout', '--force', '--no-force', '--json', '--output', '-o', '-h', '--help')
        'server restart' = @('--all', '--timeout', '--when-empty', '--max-wait', '--json', '--output', '-o', '-h', '--help')
        'server status' = @('--all', '--json', '--output', '-o', '-h', '--help')
        'server send' = @('--wait-for', '--timeout', '--json', '-h', '--help')
        'server logs' = @('--follow', '-f', '--lines', '-n', '-h', '--help')
        'server monitor' = @('--once', '--no-once', '--interval', '--json', '--output', '-o', '-h', '--help')
        'server backup' = @('--keep', '--json', '--output', '-o', '-h', '--help')
        'server backups' = @('--json', '--output', '-o', '-h', '--help')
        'server restore' = @('--stop', '--yes', '-y', '--json', '--output', '-o', '-h', '--help')
        'auth login' = @('--api-url', '--with-token', '--no-with-token', '--email', '--json', '-h', '--help')
        'auth status' = @('--output', '-o', '--json', '-h', '--help')
        'auth logout' = @('--revoke', '--json', '-h', '--help')
        'config list' = @('--output', '-o', '--json', '-h', '--help')
        'config get' = @('--json', '-h', '--help')
        'config set' = @('--json', '-h', '--help')
        'config unset' = @('--json', '-h', '--help')
        'config path' = @('--output', '-o', '--json', '-h', '--help')
        'doctor' = @('--output', '-o', '--json', '-h', '--help')
        'game list' = @('--output', '-o', '--json', '-h', '--help')
        'game info' = @('--output', '-o', '--json', '-h', '--help')
        'game install' = @('--path', '--validate', '--json', '-h', '--help')
        'game update' = @('--validate', '--json', '-h', '--help')
        'game validate' = @('--json', '-h', '--help')
        'game installations' = @('--output', '-o', '--json', '-h', '--help')
        'sync push' = @('--batch-size', '--dry-run', '--no-dry-run', '--json', '-h', '--help')
        'sync pull' = @('--json', '-h', '--help')
        'sync status' = @('--output', '-o', '--json', '-h', '--help')
        'sync retry' = @('--all', '--json', '-h', '--help')
        'sync drop' = @('--all-rejected', '--yes', '-y', '--json', '-h', '--help')
        'sync resolve' = @('--keep', '--json', '-h', '--help')
        'plugin init' = @('--name', '--game', '--category', '--force', '--json', '-h', '--help')
        'plugin pack' = @('--output', '-o', '--json', '-h', '--help')
        'plugin validate' = @('--junit', '--output', '-o', '--json', '-h', '--help')
        'plugin publish' = @('--changelog', '--json', '--output', '-o', '-h', '--help')
        'plugin search' = @('--game', '--category', '--verified', '--sort', '--limit', '--json', '--output', '-o', '-h', '--help')
        'plugin info' = @('--json', '--output', '-o', '-h', '--help')
        'plugin buy' = @('--yes', '-y', '--wait', '--json', '--output', '-o', '-h', '--help')
        'plugin install' = @('--server', '--force', '--json', '--output', '-o', '-h', '--help')
        'plugin uninstall' = @('--server', '--force', '--json', '--output', '-o', '-h', '--help')
        'plugin enable' = @('--server', '--force', '--json', '--output', '-o', '-h', '--help')
        'plugin disable' = @('--server', '--force', '--json', '--output', '-o', '-h', '--help')
        'plugin update' = @('--server', '--all', '--from', '--force', '--json', '--output', '-o', '-h', '--help')
        'plugin pin' = @('--server', '--json', '--output', '-o', '-h', '--help')
        'plugin unpin' = @('--server', '--json', '--output', '-o', '-h', '--help')
        'plugin list' = @('--server', '--json', '--output', '-o', '-h', '--help')
        'plugin lock' = @('--server', '--output', '-o', '--json', '-h', '--help')
        'plugin apply' = @('--server', '--from', '--dry-run', '--force', '--json', '--output', '-o', '-h', '--help')
        'plugin verify' = @('--server', '--all', '--lock', '--junit', '--json', '--output', '-o', '-h', '--help')
        'metrics show' = @('--since', '--until', '--output', '-o', '--json', '-h', '--help')
        'metrics export' = @('--all', '--format', '--since', '--until', '--output', '-o', '-h', '--help')
        'metrics prune' = @('--older-than', '--rollup', '--output', '-o', '--json', '-h', '--help')
        'metrics collect' = @('--all', '--count', '--interval', '--output', '-o', '--json', '-h', '--help')
        'metrics watch' = @('--all', '--refresh', '--count', '--json', '-h', '--help')
        'community list' = @('--mine', '--search', '--json', '--output', '-o', '-h', '--help')
        'community show' = @('--json', '--output', '-o', '-h', '--help')
        'community create' = @('--description', '--public', '--private', '--logo-url', '--banner-url', '--json', '--output', '-o', '-h', '--help')
        'community update' = @('--name', '--description', '--public', '--private', '--logo-url', '--banner-url', '--json', '--output', '-o', '-h', '--help')
        'community delete' = @('--yes', '-y', '--json', '-h', '--help')
        'community join' = @('--code', '--json', '--output', '-o', '-h', '--help')
        'community leave' = @('--json', '--output', '-o', '-h', '--help')
        'community members' = @('--json', '--output', '-o', '-h', '--help')
        'community role' = @('--json', '--output', '-o', '-h', '--help')
        'community remove' = @('--json', '--output', '-o', '-h', '--help')
        'community invite' = @('--email', '--expires', '--uses', '--json', '--output', '-o', '-h', '--help')
        'community invitations' = @('--json', '--output', '-o', '-h', '--help')
        'community revoke' = @('--json', '--output', '-o', '-h', '--help')
        'community donate' = @('--amount', '--currency', '--message', '--yes', '-y', '--wait', '--json', '--output', '-o', '-h', '--help')
        'revenue report' = @('--since', '--until', '--by', '--json', '--output', '-o', '-h', '--help')
        'alert add' = @('--url', '--on', '--output', '-o', '--json', '-h', '--help')
        'alert list' = @('--output', '-o', '--json', '-h', '--help')
        'alert show' = @('--limit', '-n', '--output', '-o', '--json', '-h', '--help')
        'alert remove' = @('--json', '-h', '--help')
        'alert test' = @('--json', '-h', '--help')
        'service install' = @('--cron', '--at-startup', '--json', '--output', '-o', '-h', '--help')
        'service status' = @('--json', '--output', '-o', '-h', '--help')
        'service uninstall' = @('--json', '--output', '-o', '-h', '--help')
        'service run' = @('--once', '--boot', '--interval', '--home', '--json', '--output', '-o', '-h', '--help')
        'schedule add' = @('--server', '-s', '--cron', '--task', '--only-when-running', '--when-empty', '--max-wait', '--json', '--output', '-o', '-h', '--help')
        'schedule list' = @('--json', '--output', '-o', '-h', '--help')
        'schedule show' = @('--json', '--output', '-o', '-h', '--help')
        'schedule remove' = @('--json', '-h', '--help')
        'schedule enable' = @('--json', '--output', '-o', '-h', '--help')
        'schedule disable' = @('--json', '--output', '-o', '-h', '--help')
        'schedule run' = @('--json', '--output', '-o', '-h', '--help')
        'schedule history' = @('--limit', '-n', '--json', '--output', '-o', '-h', '--help')
        'schedule tick' = @('--json', '--output', '-o', '-h', '--help')
    }
    # What an option's value is: 'COMMAND OPTION' = spec.
    $gsmValues = @{
        'server create --game' = 'words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising'
        'server create -g' = 'words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising'
        'server create --path' = 'dir'
        'server create --query-protocol' = 'words minecraft a2s tcp none'
        'server create --output' = 'words table json csv'
        'server create -o' = 'words table json csv'
        'server list --status' = 'words stopped starting running stopping crashed failed remote'
        'server list --game' = 'words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising'
        'server list --output' = 'words table json csv'
        'server list -o' = 'words table json csv'
        'server show --output' = 'words table json csv'
        'server show -o' = 'words table json csv'
        'server update --path' = 'dir'
        'server update --query-protocol' = 'words minecraft a2s tcp none'
        'server update --output' = 'words table json csv'
        'server update -o' = 'words table json csv'
        'server adopt --path' = 'dir'
        'server adopt --output' = 'words table json csv'
        'server adopt -o' = 'words table json csv'
        'server start --output' = 'words table json csv'
        'server start -o' = 'words table json csv'
        'server stop --output' = 'words table json csv'
        'server stop -o' = 'words table json csv'
        'server restart --output' = 'words table json csv'
        'server restart -o' = 'words table json csv'
        'server status --output' = 'words table json csv'
        'server status -o' = 'words table json csv'
        'server monitor --output' = 'words table json csv'
        'server monitor -o' = 'words table json csv'
        'server backup --output' = 'words table json csv'
        'server backup -o' = 'words table json csv'
        'server backups --output' = 'words table json csv'
        'server backups -o' = 'words table json csv'
        'server restore --output' = 'words table json csv'
        'server restore -o' = 'words table json csv'
        'auth status --output' = 'words table json csv'
        'auth status -o' = 'words table json csv'
        'config list --output' = 'words table json csv'
        'config list -o' = 'words table json csv'
        'config path --output' = 'words table json csv'
        'config path -o' = 'words table json csv'
        'doctor --output' = 'words table json csv'
        'doctor -o' = 'words table json csv'
        'game list --output' = 'words table json csv'
        'game list -o' = 'words table json csv'
        'game info --output' = 'words table json csv'
        'game info -o' = 'words table json csv'
        'game install --path' = 'dir'
        'game installations --output' = 'words table json csv'
        'game installations -o' = 'words table json csv'
        'sync status --output' = 'words table json csv'
        'sync status -o' = 'words table json csv'
        'sync resolve --keep' = 'words local cloud'
        'plugin init --game' = 'words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising'
        'plugin init --category' = 'words admin anticheat chat economy gameplay library maps performance protection utility world other'
        'plugin pack --output' = 'file'
        'plugin pack -o' = 'file'
        'plugin validate --junit' = 'file'
        'plugin validate --output' = 'words table json csv'
        'plugin validate -o' = 'words table json csv'
        'plugin publish --output' = 'words table json csv'
        'plugin publish -o' = 'words table json csv'
        'plugin search --game' = 'words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising'
        'plugin search --category' = 'words admin anticheat chat economy gameplay library maps performance protection utility world other'
        'plugin search --sort' = 'words downloads rating new'
        'plugin search --output' = 'words table json csv'
        'plugin search -o' = 'words table json csv'
        'plugin info --output' = 'words table json csv'
        'plugin info -o' = 'words table json csv'
        'plugin buy --output' = 'words table json csv'
        'plugin buy -o' = 'words table json csv'
        'plugin install --server' = 'servers'
        'plugin install --output' = 'words table json csv'
        'plugin install -o' = 'words table json csv'
        'plugin uninstall --server' = 'servers'
        'plugin uninstall --output' = 'words table json csv'
        'plugin uninstall -o' = 'words table json csv'
        'plugin enable --server' = 'servers'
        'plugin enable --output' = 'words table json csv'
        'plugin enable -o' = 'words table json csv'
        'plugin disable --server' = 'servers'
        'plugin disable --output' = 'words table json csv'
        'plugin disable -o' = 'words table json csv'
        'plugin update --server' = 'servers'
        'plugin update --from' = 'dir'
        'plugin update --output' = 'words table json csv'
        'plugin update -o' = 'words table json csv'
        'plugin pin --server' = 'servers'
        'plugin pin --output' = 'words table json csv'
        'plugin pin -o' = 'words table json csv'
        'plugin unpin --server' = 'servers'
        'plugin unpin --output' = 'words table json csv'
        'plugin unpin -o' = 'words table json csv'
        'plugin list --server' = 'servers'
        'plugin list --output' = 'words table json csv'
        'plugin list -o' = 'words table json csv'
        'plugin lock --server' = 'servers'
        'plugin lock --output' = 'file'
        'plugin lock -o' = 'file'
        'plugin apply --server' = 'servers'
        'plugin apply --from' = 'dir'
        'plugin apply --output' = 'words table json csv'
        'plugin apply -o' = 'words table json csv'
        'plugin verify --server' = 'servers'
        'plugin verify --lock' = 'file'
        'plugin verify --junit' = 'file'
        'plugin verify --output' = 'words table json csv'
        'plugin verify -o' = 'words table json csv'
        'metrics show --output' = 'words table json csv'
        'metrics show -o' = 'words table json csv'
        'metrics export --format' = 'words csv json'
        'metrics export --output' = 'file'
        'metrics export -o' = 'file'
        'metrics prune --output' = 'words table json csv'
        'metrics prune -o' = 'words table json csv'
        'metrics collect --output' = 'words table json csv'
        'metrics collect -o' = 'words table json csv'
        'community list --output' = 'words table json csv'
        'community list -o' = 'words table json csv'
        'community show --output' = 'words table json csv'
        'community show -o' = 'words table json csv'
        'community create --output' = 'words table json csv'
        'community create -o' = 'words table json csv'
        'community update --output' = 'words table json csv'
        'community update -o' = 'words table json csv'
        'community join --output' = 'words table json csv'
        'community join -o' = 'words table json csv'
        'community leave --output' = 'words table json csv'
        'community leave -o' = 'words table json csv'
        'community members --output' = 'words table json csv'
        'community members -o' = 'words table json csv'
        'community role --output' = 'words table json csv'
        'community role -o' = 'words table json csv'
        'community remove --output' = 'words table json csv'
        'community remove -o' = 'words table json csv'
        'community invite --output' = 'words table json csv'
        'community invite -o' = 'words table json csv'
        'community invitations --output' = 'words table json csv'
        'community invitations -o' = 'words table json csv'
        'community revoke --output' = 'words table json csv'
        'community revoke -o' = 'words table json csv'
        'community donate --output' = 'words table json csv'
        'community donate -o' = 'words table json csv'
        'revenue report --by' = 'words plugin community month'
        'revenue report --output' = 'words table json csv'
        'revenue report -o' = 'words table json csv'
        'alert add --output' = 'words table json csv'
        'alert add -o' = 'words table json csv'
        'alert list --output' = 'words table json csv'
        'alert list -o' = 'words table json csv'
        'alert show --output' = 'words table json csv'
        'alert show -o' = 'words table json csv'
        'service install --output' = 'words table json csv'
        'service install -o' = 'words table json csv'
        'service status --output' = 'words table json csv'
        'service status -o' = 'words table json csv'
        'service uninstall --output' = 'words table json csv'
        'service uninstall -o' = 'words table json csv'
        'service run --home' = 'dir'
        'service run --output' = 'words table json csv'
        'service run -o' = 'words table json csv'
        'schedule add --server' = 'servers'
        'schedule add -s' = 'servers'
        'schedule add --output' = 'words table json csv'
        'schedule add -o' = 'words table json csv'
        'schedule list --output' = 'words table json csv'
        'schedule list -o' = 'words table json csv'
        'schedule show --output' = 'words table json csv'
        'schedule show -o' = 'words table json csv'
        'schedule enable --output' = 'words table json csv'
        'schedule enable -o' = 'words table json csv'
        'schedule disable --output' = 'words table json csv'
        'schedule disable -o' = 'words table json csv'
        'schedule run --output' = 'words table json csv'
        'schedule run -o' = 'words table json csv'
        'schedule history --output' = 'words table json csv'
        'schedule history -o' = 'words table json csv'
        'schedule tick --output' = 'words table json csv'
        'schedule tick -o' = 'words table json csv'
    }
    # What an argument is: 'COMMAND N' = spec ('COMMAND *': any after).
    $gsmArguments = @{
        'server show 1' = 'servers'
        'server update 1' = 'servers'
        'server delete 1' = 'servers'
        'server start 1' = 'servers'
        'server stop 1' = 'servers'
        'server restart 1' = 'servers'
        'server status 1' = 'servers'
        'server send 1' = 'servers'
        'server logs 1' = 'servers'
        'server backup 1' = 'servers'
        'server backups 1' = 'servers'
        'server restore 1' = 'servers'
        'server restore 2' = 'backups'
        'config get 1' = 'words alerts.attempts alerts.console_lines alerts.retry_seconds alerts.timeout alerts.window backup.backend backup.dir backup.exclude backup.keep_daily backup.password_file backup.repository backup.retention cloud.api_url cloud.timeout device.name metrics.interval metrics.retention_days metrics.rollup output.format server.log_max_bytes server.stop_timeout steamcmd.path sync.batch_size'
        'config set 1' = 'words alerts.attempts alerts.console_lines alerts.retry_seconds alerts.timeout alerts.window backup.backend backup.dir backup.exclude backup.keep_daily backup.password_file backup.repository backup.retention cloud.api_url cloud.timeout device.name metrics.interval metrics.retention_days metrics.rollup output.format server.log_max_bytes server.stop_timeout steamcmd.path sync.batch_size'
        'config set 2' = 'setting-value'
        'config unset 1' = 'words alerts.attempts alerts.console_lines alerts.retry_seconds alerts.timeout alerts.window backup.backend backup.dir backup.exclude backup.keep_daily backup.password_file backup.repository backup.retention cloud.api_url cloud.timeout device.name metrics.interval metrics.retention_days metrics.rollup output.format server.log_max_bytes server.stop_timeout steamcmd.path sync.batch_size'
        'game info 1' = 'words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising'
        'game install 1' = 'words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising'
        'game update 1' = 'words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising'
        'game validate 1' = 'words 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising'
        'sync resolve 1' = 'servers'
        'plugin init 1' = 'dir'
        'plugin pack 1' = 'dir'
        'plugin validate 1' = 'file'
        'plugin publish 1' = 'file'
        'plugin install *' = 'file'
        'plugin uninstall 1' = 'plugins'
        'plugin enable 1' = 'plugins'
        'plugin disable 1' = 'plugins'
        'plugin update *' = 'plugins'
        'plugin pin 1' = 'plugins'
        'plugin unpin 1' = 'plugins'
        'plugin apply 1' = 'file'
        'metrics show 1' = 'servers'
        'metrics export 1' = 'servers'
        'metrics collect *' = 'servers'
        'metrics watch *' = 'servers'
        'community show 1' = 'communities'
        'community update 1' = 'communities'
        'community delete 1' = 'communities'
        'community leave 1' = 'communities'
        'community members 1' = 'communities'
        'community role 1' = 'communities'
        'community remove 1' = 'communities'
        'community invite 1' = 'communities'
        'community invitations 1' = 'communities'
        'community revoke 1' = 'communities'
        'community donate 1' = 'communities'
        'alert show 1' = 'alerts'
        'alert remove 1' = 'alerts'
        'alert test 1' = 'alerts'
        'schedule show 1' = 'schedules'
        'schedule remove 1' = 'schedules'
        'schedule enable 1' = 'schedules'
        'schedule disable 1' = 'schedules'
        'schedule run 1' = 'schedules'
        'schedule history 1' = 'schedules'
    }
    # What the value of gsm config set KEY VALUE is, by KEY.
    $gsmSettingValues = @{
        'output.format' = 'words table json csv'
        'backup.dir' = 'dir'
        'steamcmd.path' = 'file'
    }

    # The words before the cursor, without `gsm` itself.
    # (The word being completed ends at the cursor, so it is not among them.)
    $before = @($commandAst.CommandElements |
        Where-Object { $_.Extent.EndOffset -lt $cursorPosition } |
        Select-Object -Skip 1 |
        ForEach-Object { $_.Extent.Text })

    # Positional words typed so far: not options, nor an option's value. $previous is an
    # option typed just before the cursor that still waits for its value.
    $words = @()
    $previous = ''
    $serverOption = ''  # the value given to --server, for a server's installed plugins
    for ($i = 0; $i -lt $before.Count; $i++) {
        $word = $before[$i]
        if ($gsmValueOptions -contains $word) {
            if ($i + 1 -lt $before.Count) {
                $i++
                if ($word -eq '--server') { $serverOption = $before[$i] }
            }
            else { $previous = $word }
            continue
        }
        if ($word -like '--server=*') { $serverOption = $word.Substring(9) }
        if ($word -notlike '-*') { $words += $word }
    }

    # The names gsm's local store holds: `gsm __complete KIND [--server NAME]` (KIND: servers,
    # backups, plugins, communities, schedules or alerts). gsm answers that without loading its
    # libraries, read-only, and prints nothing when it cannot (no store, gsm not installed).
    $gsmNames = {
        param($kind, $server)
        $exe = Get-Command -Name 'gsm' -CommandType Application -ErrorAction SilentlyContinue |
            Select-Object -First 1
        if (-not $exe) { return @() }
        try {
            if ($server) { $found = & $exe.Source __complete $kind --server $server 2>$null }
            else { $found = & $exe.Source __complete $kind 2>$null }
        }
        catch { return @() }
        @($found | Where-Object { $_ })
    }

    $command = ''
    $depth = 1
    if ($words.Count -ge 1) { $command = $words[0] }
    $hasSubs = $command -and $gsmSubCommands.ContainsKey($command)
    $path = $command
    if ($hasSubs) {
        $depth = 2
        if ($words.Count -ge 2) { $path = "$($words[0]) $($words[1])" } else { $path = '' }
    }
    $first = ''
    if ($words.Count -gt $depth) { $first = $words[$depth] }

    $prefix = ''
    if ($wordToComplete -match '^(--[^=]+)=' -and $gsmValueOptions -contains $Matches[1]) {
        # --output=js: the option's value, after its "=".
        $prefix = $Matches[0]
        $previous = $Matches[1]
    }

    $spec = $null
    $candidates = @()
    $kind = 'ParameterValue'
    if ($previous -ne '') {
        $spec = $gsmValues["$path $previous"]
        if (-not $spec) {
            # A number, a name or a command line: nothing to offer.
            return
        }
    }
    elseif ($wordToComplete -like '-*') {
        $kind = 'ParameterName'
        if ($words.Count -eq 0) {
            $candidates = $gsmGlobalOptions
        }
        elseif ($hasSubs -and $words.Count -lt 2) {
            $candidates = $gsmHelpOptions
        }
        elseif ($gsmOptions.ContainsKey($path)) {
            $candidates = $gsmOptions[$path]
        }
        else {
            $candidates = $gsmHelpOptions
        }
    }
    elseif ($words.Count -eq 0) {
        $candidates = $gsmCommands
    }
    elseif ($words.Count -eq 1 -and $hasSubs) {
        $candidates = $gsmSubCommands[$command]
    }
    else {
        $index = $words.Count - $depth + 1
        $spec = $gsmArguments["$path $index"]
        if (-not $spec) { $spec = $gsmArguments["$path *"] }
        if (-not $spec) {
            # Nothing of ours to offer: PowerShell falls back to file names.
            return
        }
    }

    if ($spec -eq 'setting-value') {
        $spec = $gsmSettingValues[$first]
        if (-not $spec) { return }
    }
    if ($spec) {
        if ($spec -eq 'dir' -or $spec -eq 'file') {
            # A folder or a file: PowerShell falls back to file names.
            return
        }
        elseif ($spec -like 'words *') {
            $candidates = $spec.Substring(6).Split(' ')
        }
        elseif ($spec -eq 'backups') {
            if (-not $first) { return }
            $candidates = & $gsmNames 'backups' $first
        }
        elseif ($spec -eq 'plugins') {
            $candidates = & $gsmNames 'plugins' $serverOption
        }
        else {
            $candidates = & $gsmNames $spec
        }
    }

    $typed = $wordToComplete.Substring($prefix.Length)
    $candidates |
        Where-Object { $_.StartsWith($typed, [System.StringComparison]::OrdinalIgnoreCase) } |
        ForEach-Object {
            # A name with a space or a quote ("The Guild") goes in single quotes.
            $text = $_
            if ($text -match '[\s''"`$;,(){}@|&<>#]') {
                $text = "'" + ($text -replace "'", "''") + "'"
            }
            [System.Management.Automation.CompletionResult]::new(
                "$prefix$text", $_, $kind, $_)
        }
}
