# PowerShell completion for gsm (Windows PowerShell 5.1 and PowerShell 7+).
# Installation: see completions/README.md.
#
# These lists must follow gsm itself; tests/cli/test_completions.py checks that every command
# of gsm_cli.app.COMMANDS and every setting key of gsm_cli.services.settings.SPECS is here.
# A new command: add its name to $gsmCommands. If it has sub-commands, add an entry to
# $gsmSubCommands. Commands that take only --json (no --output) go in $gsmJsonOnly; other
# options go in $gsmOptions, and those that take a value in $gsmValueOptions too.
Register-ArgumentCompleter -Native -CommandName 'gsm', 'gsm.exe' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $gsmCommands = @('server', 'auth', 'config', 'doctor', 'game', 'sync', 'plugin', 'metrics',
        'community', 'revenue', 'alert', 'service', 'schedule')
    $gsmSubCommands = @{
        'server' = @('create', 'list', 'show', 'update', 'delete', 'adopt', 'start', 'stop',
            'restart', 'status', 'send', 'logs', 'monitor', 'backup', 'backups', 'restore')
        'auth' = @('login', 'status', 'logout')
        'config' = @('list', 'get', 'set', 'unset', 'path')
        'game' = @('list', 'info', 'install', 'update', 'validate', 'installations')
        'sync' = @('push', 'pull', 'status', 'retry', 'drop', 'resolve')
        'plugin' = @('init', 'pack', 'validate', 'publish', 'search', 'info', 'install',
            'uninstall', 'enable', 'disable', 'update', 'pin', 'unpin', 'list', 'lock', 'apply',
            'verify', 'buy')
        'metrics' = @('show', 'export', 'prune', 'collect', 'watch')
        'community' = @('list', 'show', 'create', 'update', 'delete', 'join', 'leave', 'members',
            'role', 'remove', 'invite', 'invitations', 'revoke', 'donate')
        'revenue' = @('report')
        'alert' = @('add', 'list', 'show', 'remove', 'test')
        'service' = @('install', 'status', 'uninstall', 'run')
        'schedule' = @('add', 'list', 'show', 'remove', 'enable', 'disable', 'run', 'history',
            'tick')
    }
    $gsmSettingKeys = @(
        'alerts.attempts', 'alerts.console_lines', 'alerts.retry_seconds', 'alerts.timeout',
        'alerts.window', 'backup.backend', 'backup.dir', 'backup.exclude', 'backup.keep_daily',
        'backup.password_file', 'backup.repository', 'backup.retention', 'cloud.api_url',
        'cloud.timeout', 'device.name', 'metrics.interval', 'metrics.retention_days',
        'metrics.rollup', 'output.format', 'server.log_max_bytes', 'server.stop_timeout',
        'steamcmd.path', 'sync.batch_size'
    )
    $gsmGameIds = @(
        '7dtd', 'ark', 'corekeeper', 'cs2', 'custom', 'dst', 'enshrouded', 'factorio', 'gmod',
        'l4d2', 'minecraft', 'palworld', 'pz', 'rust', 'satisfactory', 'terraria', 'tf2',
        'unturned', 'valheim', 'vrising'
    )
    $gsmServerStatuses = @('stopped', 'starting', 'running', 'stopping', 'crashed', 'failed',
        'remote')
    $gsmQueryProtocols = @('minecraft', 'a2s', 'tcp', 'none')
    $gsmFormats = @('table', 'json', 'csv')
    $gsmSyncSides = @('local', 'cloud')
    $gsmPluginCategories = @('admin', 'anticheat', 'chat', 'economy', 'gameplay', 'library',
        'maps', 'performance', 'protection', 'utility', 'world', 'other')
    $gsmPluginSorts = @('downloads', 'rating', 'new')
    $gsmExportFormats = @('csv', 'json')
    $gsmRevenueBy = @('plugin', 'community', 'month')
    $gsmGlobalOptions = @('--help', '--version', '--verbose', '-v', '--debug')
    $gsmDataOptions = @('--json', '--output', '-o', '--help')
    $gsmJsonOnly = @('config get', 'config set', 'config unset', 'game validate', 'sync pull',
        'alert remove', 'alert test', 'schedule remove')
    # Options that take a value, so that the value is not taken for an argument.
    $gsmValueOptions = @(
        '-o', '--output', '--path', '-g', '--game', '--port', '--query-port', '--query-protocol',
        '--max-players', '--arg', '--env', '--command', '--stop-command', '--max-restarts',
        '--ready-pattern', '--settle-seconds', '--status', '--name', '--timeout', '--wait-for',
        '-n', '--lines', '--interval', '--keep', '--api-url', '--email', '--batch-size',
        '--category', '--junit', '--plugin-dir', '--server', '--lock', '--from', '--changelog',
        '--sort', '--limit', '--format', '--since', '--until', '--older-than',
        '--freeze-after', '--query-grace', '--count', '--refresh', '--community', '--search',
        '--description', '--logo-url', '--banner-url', '--code', '--email', '--expires', '--uses',
        '--amount', '--currency', '--message', '--wait', '--by', '--url', '--on', '--home',
        '-s', '--cron', '--task', '--max-wait'
    )
    # Sub-commands whose options are not the usual data options (or --json alone).
    $serverChange = @('--port', '--query-port', '--query-protocol', '--max-players', '--arg',
        '--env', '--command', '--stop-command', '--restart', '--no-restart', '--autostart',
        '--no-autostart', '--max-restarts',
        '--ready-pattern', '--settle-seconds', '--freeze-after', '--query-grace', '--plugin-dir')
    $gsmOptions = @{
        'game install' = @('--path', '--validate', '--json', '--help')
        'game update' = @('--validate', '--json', '--help')
        'server create' = @('--game', '-g', '--path', '--community') + $serverChange + $gsmDataOptions
        'server list' = @('--status', '--game') + $gsmDataOptions
        'server update' = @('--name', '--path', '--community', '--no-community') + $serverChange +
            $gsmDataOptions
        'server delete' = @('--purge', '--no-purge', '--yes', '-y', '--json', '--help')
        'server adopt' = @('--path', '--yes', '-y') + $gsmDataOptions
        'server start' = @('--all', '--timeout') + $gsmDataOptions
        'server stop' = @('--all', '--timeout', '--force', '--no-force') + $gsmDataOptions
        'server restart' = @('--all', '--timeout', '--when-empty', '--max-wait') + $gsmDataOptions
        'server status' = @('--all') + $gsmDataOptions
        'server send' = @('--wait-for', '--timeout', '--json', '--help')
        'server logs' = @('--follow', '-f', '--lines', '-n', '--help')
        'server monitor' = @('--once', '--no-once', '--interval') + $gsmDataOptions
        'server backup' = @('--keep') + $gsmDataOptions
        'server restore' = @('--stop', '--yes', '-y') + $gsmDataOptions
        'auth login' = @('--api-url', '--with-token', '--no-with-token', '--email', '--json',
            '--help')
        'auth logout' = @('--revoke', '--json', '--help')
        'sync push' = @('--batch-size', '--dry-run', '--no-dry-run', '--json', '--help')
        'sync retry' = @('--all', '--json', '--help')
        'sync drop' = @('--all-rejected', '--yes', '-y', '--json', '--help')
        'sync resolve' = @('--keep', '--json', '--help')
        'plugin init' = @('--name', '--game', '--category', '--force', '--json', '--help')
        'plugin pack' = @('--output', '-o', '--json', '--help')
        'plugin validate' = @('--junit') + $gsmDataOptions
        'plugin publish' = @('--changelog') + $gsmDataOptions
        'plugin search' = @('--game', '--category', '--verified', '--sort', '--limit') +
            $gsmDataOptions
        'plugin info' = $gsmDataOptions
        'plugin install' = @('--server', '--force') + $gsmDataOptions
        'plugin uninstall' = @('--server', '--force') + $gsmDataOptions
        'plugin enable' = @('--server', '--force') + $gsmDataOptions
        'plugin disable' = @('--server', '--force') + $gsmDataOptions
        'plugin update' = @('--server', '--all', '--from', '--force') + $gsmDataOptions
        'plugin pin' = @('--server') + $gsmDataOptions
        'plugin unpin' = @('--server') + $gsmDataOptions
        'plugin list' = @('--server') + $gsmDataOptions
        'plugin lock' = @('--server', '--output', '-o', '--json', '--help')
        'plugin apply' = @('--server', '--from', '--dry-run', '--force') + $gsmDataOptions
        'plugin verify' = @('--server', '--all', '--lock', '--junit') + $gsmDataOptions
        'metrics show' = @('--since', '--until') + $gsmDataOptions
        'metrics export' = @('--all', '--format', '--since', '--until', '--output', '-o', '--help')
        'metrics prune' = @('--older-than', '--rollup') + $gsmDataOptions
        'metrics collect' = @('--all', '--count', '--interval') + $gsmDataOptions
        'metrics watch' = @('--all', '--refresh', '--count', '--json', '--help')
        'community list' = @('--mine', '--search') + $gsmDataOptions
        'community create' = @('--description', '--public', '--private', '--logo-url',
            '--banner-url') + $gsmDataOptions
        'community update' = @('--name', '--description', '--public', '--private', '--logo-url',
            '--banner-url') + $gsmDataOptions
        'community delete' = @('--yes', '-y', '--json', '--help')
        'community join' = @('--code') + $gsmDataOptions
        'community invite' = @('--email', '--expires', '--uses') + $gsmDataOptions
        'community donate' = @('--amount', '--currency', '--message', '--yes', '-y', '--wait') +
            $gsmDataOptions
        'plugin buy' = @('--yes', '-y', '--wait') + $gsmDataOptions
        'revenue report' = @('--since', '--until', '--by') + $gsmDataOptions
        'alert add' = @('--url', '--on') + $gsmDataOptions
        'alert show' = @('--limit', '-n') + $gsmDataOptions
        'service install' = @('--cron', '--at-startup') + $gsmDataOptions
        'service run' = @('--once', '--boot', '--interval', '--home') + $gsmDataOptions
        'schedule add' = @('--server', '-s', '--cron', '--task', '--only-when-running',
            '--when-empty', '--max-wait') + $gsmDataOptions
        'schedule history' = @('--limit', '-n') + $gsmDataOptions
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
    $pair = if ($words.Count -ge 2) { "$($words[0]) $($words[1])" } else { '' }
    $serverArgument = @('server show', 'server update', 'server delete', 'server start',
        'server stop', 'server restart', 'server status', 'server send', 'server logs',
        'server backup', 'server backups', 'server restore', 'metrics show', 'metrics export',
        'metrics collect', 'metrics watch', 'sync resolve')
    $pluginArgument = @('plugin uninstall', 'plugin enable', 'plugin disable', 'plugin update',
        'plugin pin', 'plugin unpin')
    $communityArgument = @('community show', 'community update', 'community delete',
        'community leave', 'community members', 'community role', 'community remove',
        'community invite', 'community invitations', 'community revoke', 'community donate')
    $scheduleArgument = @('schedule show', 'schedule remove', 'schedule enable',
        'schedule disable', 'schedule run', 'schedule history')
    $alertArgument = @('alert show', 'alert remove', 'alert test')

    $prefix = ''
    $candidates = @()
    $kind = 'ParameterValue'
    if ($wordToComplete -match '^(--output|--game|--status|--query-protocol|--path|--keep|--category|--sort|--junit|--lock|--from|--format|--by|--server)=') {
        $prefix = $Matches[0]
        $previous = $Matches[1]
    }
    $isPack = ($words.Count -ge 2 -and $words[0] -eq 'plugin' -and
        ($words[1] -eq 'pack' -or $words[1] -eq 'lock')) -or
        ($words.Count -ge 2 -and $words[0] -eq 'metrics' -and $words[1] -eq 'export')
    if ($previous -eq '--path' -or $previous -eq '--junit' -or $previous -eq '--lock' -or
        $previous -eq '--from' -or $previous -eq '--home' -or
        ($isPack -and ($previous -eq '--output' -or $previous -eq '-o'))) {
        # A folder or a file (gsm plugin pack -o FILE): PowerShell falls back to file names.
        return
    }
    elseif ($previous -eq '--category') {
        $candidates = $gsmPluginCategories
    }
    elseif ($previous -eq '--sort') {
        $candidates = $gsmPluginSorts
    }
    elseif ($previous -eq '--format') {
        $candidates = $gsmExportFormats
    }
    elseif ($previous -eq '--by') {
        $candidates = $gsmRevenueBy
    }
    elseif ($previous -eq '--output' -or $previous -eq '-o') {
        $candidates = $gsmFormats
    }
    elseif ($previous -eq '--game' -or $previous -eq '-g') {
        $candidates = $gsmGameIds
    }
    elseif ($previous -eq '--status') {
        $candidates = $gsmServerStatuses
    }
    elseif ($previous -eq '--query-protocol') {
        $candidates = $gsmQueryProtocols
    }
    elseif ($previous -eq '--keep' -and $words.Count -ge 2 -and $words[0] -eq 'sync' -and
        $words[1] -eq 'resolve') {
        # gsm sync resolve NAME --keep local|cloud (gsm server backup's --keep is a number).
        $candidates = $gsmSyncSides
    }
    elseif ($previous -eq '--server' -or ($previous -eq '-s' -and $pair -eq 'schedule add')) {
        $candidates = & $gsmNames 'servers'
    }
    elseif ($previous -ne '') {
        # A number, a name or a command line: nothing to offer.
        return
    }
    elseif ($wordToComplete -like '-*') {
        $kind = 'ParameterName'
        if ($words.Count -eq 0) {
            $candidates = $gsmGlobalOptions
        }
        elseif ($gsmSubCommands.ContainsKey($words[0]) -and $words.Count -lt 2) {
            $candidates = @('--help')
        }
        elseif ($words.Count -ge 2 -and $gsmOptions.ContainsKey("$($words[0]) $($words[1])")) {
            $candidates = $gsmOptions["$($words[0]) $($words[1])"]
        }
        elseif ($words.Count -ge 2 -and $gsmJsonOnly -contains "$($words[0]) $($words[1])") {
            $candidates = @('--json', '--help')
        }
        else {
            $candidates = $gsmDataOptions
        }
    }
    elseif ($words.Count -eq 0) {
        $candidates = $gsmCommands
    }
    elseif ($words.Count -eq 1 -and $gsmSubCommands.ContainsKey($words[0])) {
        $candidates = $gsmSubCommands[$words[0]]
    }
    elseif ($words.Count -eq 2 -and $words[0] -eq 'game' -and
        @('info', 'install', 'update', 'validate') -contains $words[1]) {
        $candidates = $gsmGameIds
    }
    elseif ($words.Count -eq 2 -and $words[0] -eq 'config' -and
        @('get', 'set', 'unset') -contains $words[1]) {
        $candidates = $gsmSettingKeys
    }
    elseif ($words.Count -eq 3 -and $words[0] -eq 'config' -and $words[1] -eq 'set' -and
        $words[2] -eq 'output.format') {
        $candidates = $gsmFormats
    }
    elseif (($words.Count -eq 2 -and $serverArgument -contains $pair) -or
        ($words.Count -ge 2 -and @('metrics collect', 'metrics watch') -contains $pair)) {
        $candidates = & $gsmNames 'servers'
    }
    elseif ($words.Count -eq 3 -and $pair -eq 'server restore') {
        $candidates = & $gsmNames 'backups' $words[2]
    }
    elseif (($words.Count -eq 2 -and $pluginArgument -contains $pair) -or
        ($words.Count -ge 2 -and $pair -eq 'plugin update')) {
        $candidates = & $gsmNames 'plugins' $serverOption
    }
    elseif ($words.Count -eq 2 -and $communityArgument -contains $pair) {
        $candidates = & $gsmNames 'communities'
    }
    elseif ($words.Count -eq 2 -and $scheduleArgument -contains $pair) {
        $candidates = & $gsmNames 'schedules'
    }
    elseif ($words.Count -eq 2 -and $alertArgument -contains $pair) {
        $candidates = & $gsmNames 'alerts'
    }
    else {
        # Nothing of ours to offer: PowerShell falls back to file names.
        return
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
