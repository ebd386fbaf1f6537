# fish completion for gsm (fish 3). Installation: see completions/README.md.
#
# Generated from gsm itself by `python -m gsm_cli.completion_scripts completions` (template:
# src/gsm_cli/completion_templates/gsm.fish); do not edit the generated file.
# Names of the local store (servers, backups, plugins, communities, schedules, alert channels)
# come from `gsm __complete`; everything else is in the tables below.
@TABLES@

# The names gsm's local store holds: `gsm __complete KIND [--server NAME]` (KIND: servers,
# backups, plugins, communities, schedules or alerts; $argv[2] the server whose backups or
# plugins). gsm answers that without loading its libraries, read-only, and prints nothing when
# it cannot (no store): then nothing is offered. fish matches what is typed itself.
function __gsm_names
    command -q gsm; or return 0
    if test -n "$argv[2]"
        command gsm __complete $argv[1] --server $argv[2] 2>/dev/null
    else
        command gsm __complete $argv[1] 2>/dev/null
    end
end

# The value given to --server on the line.
function __gsm_server_option
    set -l tokens (commandline -opc)
    for i in (seq (count $tokens))
        switch $tokens[$i]
            case --server
                set -l next (math $i + 1)
                set -q tokens[$next]; and echo $tokens[$next]
                return 0
            case '--server=*'
                string replace -- --server= '' $tokens[$i]
                return 0
        end
    end
end

# What spec $argv[1] offers for the word $argv[2] ($argv[3]: the command's first argument,
# the server of a backup or the key of a setting).
function __gsm_offer
    set -l spec $argv[1]
    switch "$spec"
        case ''
        case 'words *'
            string split ' ' -- (string replace 'words ' '' -- $spec)
        case dir
            __fish_complete_directories "$argv[2]"
        case file
            __fish_complete_path "$argv[2]"
        case setting-value
            set -l value (__gsm_setting_value $argv[3])
            test -n "$value"; and __gsm_offer "$value" "$argv[2]"
        case backups
            test -n "$argv[3]"; and __gsm_names backups $argv[3]
        case plugins
            __gsm_names plugins (__gsm_server_option)
        case '*'
            __gsm_names $spec
    end
end

# Everything gsm offers at the cursor.
function __gsm_complete
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l cur (commandline -ct)
    set -l args
    set -l prev ''
    for token in $tokens
        if test -n "$prev"
            set prev ''
            continue
        end
        if contains -- $token $__gsm_value_opts
            set prev $token
            continue
        end
        switch $token
            case '-*'
            case '*'
                set -a args $token
        end
    end

    set -l subs
    set -q args[1]; and set subs (__gsm_subs $args[1])
    set -l path "$args[1]"
    set -l depth 1
    if test (count $subs) -gt 0
        set path "$args[1] $args[2]"
        set depth 2
    end
    set -l first ''
    set -l at (math $depth + 1)
    set -q args[$at]; and set first $args[$at]

    # --output=js: the option's value, after its "=".
    if test -z "$prev"; and string match -qr -- '^--[^=]+=' $cur
        set -l option (string replace -r -- '=.*' '' $cur)
        if contains -- $option $__gsm_value_opts
            set -l typed (string replace -r -- '^[^=]*=' '' $cur)
            set -l spec (__gsm_value "$path $option")
            for value in (__gsm_offer "$spec" "$typed" "$first")
                echo "$option=$value"
            end
            return 0
        end
    end

    if test -n "$prev"
        set -l spec (__gsm_value "$path $prev")
        __gsm_offer "$spec" "$cur" "$first"
        return 0
    end

    if string match -q -- '-*' $cur
        if not set -q args[1]
            __gsm_global_opts
        else if test (count $subs) -gt 0; and not set -q args[2]
            __gsm_help_opts
        else
            __gsm_opts $path
        end
        return 0
    end

    set -l n (count $args)
    if test $n -eq 0
        __gsm_command_list
    else if test $n -eq 1; and test (count $subs) -gt 0
        printf '%s\n' $subs
    else
        set -l spec (__gsm_arg "$path "(math $n - $depth + 1))
        __gsm_offer "$spec" "$cur" "$first"
    end
end

complete -c gsm -f -a '(__gsm_complete)'
