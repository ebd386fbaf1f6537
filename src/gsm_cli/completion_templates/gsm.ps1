# PowerShell completion for gsm (Windows PowerShell 5.1 and PowerShell 7+).
# Installation: see completions/README.md.
#
# Generated from gsm itself by `python -m gsm_cli.completion_scripts completions` (template:
# src/gsm_cli/completion_templates/gsm.ps1); do not edit the generated file.
# Names of the local store (servers, backups, plugins, communities, schedules, alert channels)
# come from `gsm __complete`; everything else is in the tables below.
Register-ArgumentCompleter -Native -CommandName 'gsm', 'gsm.exe' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

@TABLES@

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
