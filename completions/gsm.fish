# fish completion for gsm. Installation: see completions/README.md.
#
# These lists must follow gsm itself; tests/cli/test_completions.py checks that every command
# of gsm_cli.app.COMMANDS and every setting key of gsm_cli.services.settings.SPECS is here.
# A new command: add its name to __gsm_commands. If it has sub-commands, add a list named
# __gsm_sub_<command> and a `complete` line like config's below. Commands that take only
# --json (no --output) go in __gsm_json_only as "command sub-command".
set -g __gsm_commands config doctor game
set -g __gsm_sub_config list get set unset path
set -g __gsm_sub_game list info install update validate installations
set -g __gsm_game_ids 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft \
    palworld pz rust satisfactory terraria tf2 unturned valheim vrising
set -g __gsm_setting_keys backup.dir backup.exclude backup.retention cloud.api_url cloud.timeout \
    metrics.interval metrics.retention_days output.format server.stop_timeout steamcmd.path \
    sync.batch_size
set -g __gsm_formats table json csv
set -g __gsm_json_only "config get" "config set" "config unset" "game install" "game update" "game validate"

# The words typed after `gsm` that are not options, nor the value of -o/--output.
function __gsm_args
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    for token in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $token
            case -o --output --path
                set skip 1
            case '-*'
            case '*'
                echo $token
        end
    end
end

# True when the words typed so far are exactly the arguments ("*" stands for any word).
function __gsm_args_are
    set -l args (__gsm_args)
    test (count $args) -eq (count $argv); or return 1
    for i in (seq (count $argv))
        string match -q -- $argv[$i] $args[$i]; or return 1
    end
end

# True once the command (and its sub-command, if it has them) is complete.
function __gsm_command_chosen
    set -l args (__gsm_args)
    test (count $args) -ge 1; or return 1
    contains -- $args[1] $__gsm_commands; or return 1
    set -l subs __gsm_sub_$args[1]
    set -q $subs; and test (count $args) -lt 2; and return 1
    return 0
end

function __gsm_takes_output
    __gsm_command_chosen; or return 1
    set -l args (__gsm_args)
    not contains -- "$args[1] $args[2]" $__gsm_json_only
end

complete -c gsm -f

# Global options, before the command.
complete -c gsm -n "__gsm_args_are" -l version -d "Show gsm's version and exit"
complete -c gsm -n "__gsm_args_are" -s v -l verbose -d "Say more about what gsm does, on stderr"
complete -c gsm -n "__gsm_args_are" -l debug -d "Debug logging; tracebacks on errors"
complete -c gsm -s h -l help -d "Show help and exit"

# Commands and sub-commands.
complete -c gsm -n "__gsm_args_are" -a "$__gsm_commands"
complete -c gsm -n "__gsm_args_are config" -a "$__gsm_sub_config"
complete -c gsm -n "__gsm_args_are game" -a "$__gsm_sub_game"

# Options of the commands.
complete -c gsm -n "__gsm_command_chosen" -l json -d "Same as --output json"
complete -c gsm -n "__gsm_takes_output" -s o -l output -x -a "$__gsm_formats" -d "Output format"

# Setting keys and values.
complete -c gsm -n "__gsm_args_are config get; or __gsm_args_are config set; or __gsm_args_are config unset" \
    -a "$__gsm_setting_keys"
complete -c gsm -n "__gsm_args_are config set output.format" -a "$__gsm_formats"
complete -c gsm -n "__gsm_args_are config set backup.dir" -a "(__fish_complete_directories)"
complete -c gsm -n "__gsm_args_are config set steamcmd.path" -F

# Game ids and the options of gsm game install / update.
function __gsm_game_sub
    set -l args (__gsm_args)
    test (count $args) -ge 2; and test "$args[1]" = game; and contains -- $args[2] $argv
end
complete -c gsm -n "__gsm_args_are game info; or __gsm_args_are game install; or __gsm_args_are game update; or __gsm_args_are game validate" \
    -a "$__gsm_game_ids"
complete -c gsm -n "__gsm_game_sub install" -l path -x -a "(__fish_complete_directories)" \
    -d "Folder for the game's files"
complete -c gsm -n "__gsm_game_sub install update" -l validate \
    -d "Also check every file after the download"
