# PowerShell completion for gsm (Windows PowerShell 5.1 and PowerShell 7+).
# Installation: see completions/README.md.
#
# These lists must follow gsm itself; tests/cli/test_completions.py checks that every command
# of gsm_cli.app.COMMANDS and every setting key of gsm_cli.services.settings.SPECS is here.
# A new command: add its name to $gsmCommands. If it has sub-commands, add an entry to
# $gsmSubCommands. Commands that take only --json (no --output) go in $gsmJsonOnly.
Register-ArgumentCompleter -Native -CommandName 'gsm', 'gsm.exe' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $gsmCommands = @('config', 'doctor', 'game')
    $gsmSubCommands = @{
        'config' = @('list', 'get', 'set', 'unset', 'path')
        'game' = @('list', 'info', 'install', 'update', 'validate', 'installations')
    }
    $gsmSettingKeys = @(
        'backup.dir', 'backup.exclude', 'backup.retention', 'cloud.api_url', 'cloud.timeout',
        'metrics.interval', 'metrics.retention_days', 'output.format', 'server.stop_timeout',
        'steamcmd.path', 'sync.batch_size'
    )
    $gsmGameIds = @(
        '7dtd', 'ark', 'corekeeper', 'cs2', 'custom', 'dst', 'enshrouded', 'factorio', 'gmod',
        'l4d2', 'minecraft', 'palworld', 'pz', 'rust', 'satisfactory', 'terraria', 'tf2',
        'unturned', 'valheim', 'vrising'
    )
    $gsmFormats = @('table', 'json', 'csv')
    $gsmGlobalOptions = @('--help', '--version', '--verbose', '-v', '--debug')
    $gsmDataOptions = @('--json', '--output', '-o', '--help')
    $gsmJsonOnly = @('config get', 'config set', 'config unset', 'game validate')
    $gsmGameOptions = @{
        'install' = @('--path', '--validate', '--json', '--help')
        'update' = @('--validate', '--json', '--help')
    }

    # The words before the cursor, without `gsm` itself.
    # (The word being completed ends at the cursor, so it is not among them.)
    $before = @($commandAst.CommandElements |
        Where-Object { $_.Extent.EndOffset -lt $cursorPosition } |
        Select-Object -Skip 1 |
        ForEach-Object { $_.Extent.Text })

    # Positional words typed so far: not options, nor the value of -o/--output.
    $words = @()
    $previous = ''
    for ($i = 0; $i -lt $before.Count; $i++) {
        $word = $before[$i]
        if ($word -eq '-o' -or $word -eq '--output' -or $word -eq '--path') {
            if ($i + 1 -lt $before.Count) { $i++ } else { $previous = $word }
            continue
        }
        if ($word -notlike '-*') { $words += $word }
    }

    $prefix = ''
    $candidates = @()
    $kind = 'ParameterValue'
    if ($wordToComplete -like '--output=*') {
        $prefix = '--output='
        $candidates = $gsmFormats
    }
    elseif ($previous -eq '--path' -or $wordToComplete -like '--path=*') {
        # A folder: PowerShell falls back to file names.
        return
    }
    elseif ($previous -ne '') {
        $candidates = $gsmFormats
    }
    elseif ($wordToComplete -like '-*') {
        $kind = 'ParameterName'
        if ($words.Count -eq 0) {
            $candidates = $gsmGlobalOptions
        }
        elseif ($gsmSubCommands.ContainsKey($words[0]) -and $words.Count -lt 2) {
            $candidates = @('--help')
        }
        elseif ($words.Count -ge 2 -and $words[0] -eq 'game' -and
            $gsmGameOptions.ContainsKey($words[1])) {
            $candidates = $gsmGameOptions[$words[1]]
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
    else {
        # Nothing of ours to offer: PowerShell falls back to file names.
        return
    }

    $typed = $wordToComplete.Substring($prefix.Length)
    $candidates |
        Where-Object { $_ -like "$typed*" } |
        ForEach-Object {
            [System.Management.Automation.CompletionResult]::new(
                "$prefix$_", $_, $kind, $_)
        }
}
