# fish completion for gsm. Installation: see completions/README.md.
#
# These lists must follow gsm itself; tests/cli/test_completions.py checks that every command
# of gsm_cli.app.COMMANDS and every setting key of gsm_cli.services.settings.SPECS is here.
# A new command: add its name to __gsm_commands. If it has sub-commands, add a list named
# __gsm_sub_<command> and a `complete` line like config's below. Commands that take only
# --json (no --output) go in __gsm_json_only as "command sub-command"; commands that take
# neither go in __gsm_no_data_opts. An option that takes a value goes in __gsm_value_opts too,
# so that its value is not taken for an argument.
set -g __gsm_commands server auth config doctor game sync plugin metrics community revenue \
    alert service schedule
set -g __gsm_sub_server create list show update delete adopt start stop restart status send \
    logs monitor backup backups restore
set -g __gsm_sub_auth login status logout
set -g __gsm_sub_config list get set unset path
set -g __gsm_sub_game list info install update validate installations
set -g __gsm_sub_sync push pull status retry drop resolve
set -g __gsm_sub_plugin init pack validate publish search info install uninstall enable disable \
    update pin unpin list lock apply verify buy
set -g __gsm_sub_metrics show export prune collect watch
set -g __gsm_sub_community list show create update delete join leave members role remove \
    invite invitations revoke donate
set -g __gsm_sub_revenue report
set -g __gsm_sub_alert add list show remove test
set -g __gsm_sub_service install status uninstall run
set -g __gsm_sub_schedule add list show remove enable disable run history tick
set -g __gsm_revenue_by plugin community month
set -g __gsm_game_ids 7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft \
    palworld pz rust satisfactory terraria tf2 unturned valheim vrising
set -g __gsm_setting_keys alerts.attempts alerts.console_lines alerts.retry_seconds \
    alerts.timeout alerts.window backup.backend backup.dir backup.exclude backup.keep_daily \
    backup.password_file backup.repository backup.retention cloud.api_url cloud.timeout \
    device.name metrics.interval metrics.retention_days metrics.rollup output.format \
    server.log_max_bytes server.stop_timeout steamcmd.path sync.batch_size
set -g __gsm_server_statuses stopped starting running stopping crashed failed remote
set -g __gsm_query_protocols minecraft a2s tcp none
set -g __gsm_formats table json csv
set -g __gsm_sync_sides local cloud
set -g __gsm_plugin_categories admin anticheat chat economy gameplay library maps performance \
    protection utility world other
set -g __gsm_plugin_sorts downloads rating new
set -g __gsm_export_formats csv json
set -g __gsm_json_only "config get" "config set" "config unset" "game install" "game update" \
    "game validate" "server delete" "server send" "auth login" "auth logout" \
    "sync push" "sync pull" "sync retry" "sync drop" "sync resolve" "plugin init" "plugin pack" \
    "plugin lock" "metrics watch" "community delete" "alert remove" "alert test" "schedule remove"
set -g __gsm_no_data_opts "server logs" "metrics export"
set -g __gsm_value_opts -o --output --path -g --game --port --query-port --query-protocol \
    --max-players --arg --env --command --stop-command --max-restarts --ready-pattern --settle-seconds --status \
    --freeze-after --query-grace --count --refresh \
    --name --timeout --wait-for -n --lines --interval --keep --api-url --email --batch-size \
    --category --junit --plugin-dir --server --lock --from --changelog --sort --limit \
    --format --since --until --older-than --community --search --description --logo-url \
    --banner-url --code --expires --uses --amount --currency --message --wait --by --url --on \
    --home -s --cron --task --max-wait

# The words typed after `gsm` that are not options, nor the value of an option.
function __gsm_args
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    for token in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        if contains -- $token $__gsm_value_opts
            set skip 1
            continue
        end
        switch $token
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

function __gsm_takes_json
    __gsm_command_chosen; or return 1
    set -l args (__gsm_args)
    not contains -- "$args[1] $args[2]" $__gsm_no_data_opts
end

function __gsm_takes_output
    __gsm_takes_json; or return 1
    set -l args (__gsm_args)
    not contains -- "$args[1] $args[2]" $__gsm_json_only
end

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

# True at the Nth argument after a sub-command: `__gsm_arg_of N COMMAND SUB...`; `+N` for the
# Nth and any after it.
function __gsm_arg_of
    set -l args (__gsm_args)
    test (count $args) -ge 2; and test "$args[1]" = $argv[2]; or return 1
    contains -- $args[2] $argv[3..-1]; or return 1
    set -l n (string replace + '' -- $argv[1])
    if string match -q '+*' -- $argv[1]
        test (count $args) -ge (math $n + 1)
    else
        test (count $args) -eq (math $n + 1)
    end
end

complete -c gsm -f

# Global options, before the command.
complete -c gsm -n "__gsm_args_are" -l version -d "Show gsm's version and exit"
complete -c gsm -n "__gsm_args_are" -s v -l verbose -d "Say more about what gsm does, on stderr"
complete -c gsm -n "__gsm_args_are" -l debug -d "Debug logging; tracebacks on errors"
complete -c gsm -s h -l help -d "Show help and exit"

# Commands and sub-commands.
complete -c gsm -n "__gsm_args_are" -a "$__gsm_commands"
complete -c gsm -n "__gsm_args_are auth" -a "$__gsm_sub_auth"
complete -c gsm -n "__gsm_args_are config" -a "$__gsm_sub_config"
complete -c gsm -n "__gsm_args_are game" -a "$__gsm_sub_game"
complete -c gsm -n "__gsm_args_are server" -a "$__gsm_sub_server"
complete -c gsm -n "__gsm_args_are sync" -a "$__gsm_sub_sync"
complete -c gsm -n "__gsm_args_are plugin" -a "$__gsm_sub_plugin"
complete -c gsm -n "__gsm_args_are metrics" -a "$__gsm_sub_metrics"
complete -c gsm -n "__gsm_args_are community" -a "$__gsm_sub_community"
complete -c gsm -n "__gsm_args_are revenue" -a "$__gsm_sub_revenue"

# Options of the commands.
complete -c gsm -n "__gsm_takes_json" -l json -d "Same as --output json"
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

# Server names, backup ids, installed plugins and communities, from the local store.
complete -c gsm -n "__gsm_arg_of 1 server show update delete start stop restart status send logs backup backups restore" \
    -a "(__gsm_names servers)"
complete -c gsm -n "__gsm_arg_of 1 metrics show export; or __gsm_arg_of +1 metrics collect watch; or __gsm_arg_of 1 sync resolve" \
    -a "(__gsm_names servers)"
complete -c gsm -n "__gsm_arg_of 2 server restore" -a "(__gsm_names backups (__gsm_args)[3])"
complete -c gsm -n "__gsm_arg_of 1 plugin uninstall enable disable pin unpin; or __gsm_arg_of +1 plugin update" \
    -a "(__gsm_names plugins (__gsm_server_option))"
complete -c gsm -n "__gsm_arg_of 1 community show update delete leave members role remove invite invitations revoke donate" \
    -a "(__gsm_names communities)"
complete -c gsm -n "__gsm_arg_of 1 schedule show remove enable disable run history" \
    -a "(__gsm_names schedules)"
complete -c gsm -n "__gsm_arg_of 1 alert show remove test" -a "(__gsm_names alerts)"

# The options of gsm server's sub-commands.
function __gsm_server_sub
    set -l args (__gsm_args)
    test (count $args) -ge 2; and test "$args[1]" = server; and contains -- $args[2] $argv
end
complete -c gsm -n "__gsm_server_sub create" -s g -l game -x -a "$__gsm_game_ids" \
    -d "Game id (see gsm game list)"
complete -c gsm -n "__gsm_server_sub list" -l game -x -a "$__gsm_game_ids" \
    -d "Only servers of this game"
complete -c gsm -n "__gsm_server_sub list" -l status -x -a "$__gsm_server_statuses" \
    -d "Only servers in this status"
complete -c gsm -n "__gsm_server_sub update" -l name -x -d "Rename the server"
complete -c gsm -n "__gsm_server_sub create update" -l path -x -a "(__fish_complete_directories)" \
    -d "Server folder"
complete -c gsm -n "__gsm_server_sub create update" -l port -x -d "Game port"
complete -c gsm -n "__gsm_server_sub create update" -l query-port -x \
    -d "Port the game answers queries on"
complete -c gsm -n "__gsm_server_sub create update" -l query-protocol -x \
    -a "$__gsm_query_protocols" -d "How gsm asks the game for players and latency"
complete -c gsm -n "__gsm_server_sub create update" -l max-players -x -d "Player slots"
complete -c gsm -n "__gsm_server_sub create update" -l arg -x -d "Extra argument (repeatable)"
complete -c gsm -n "__gsm_server_sub create update" -l env -x -d "Environment K=V (repeatable)"
complete -c gsm -n "__gsm_server_sub create update" -l command -x -d "Command line to run"
complete -c gsm -n "__gsm_server_sub create update" -l stop-command -x \
    -d "Console line(s) that stop it, ';'-separated"
complete -c gsm -n "__gsm_server_sub create update" -l restart -d "Restart after a crash"
complete -c gsm -n "__gsm_server_sub create update" -l no-restart -d "Do not restart after a crash"
complete -c gsm -n "__gsm_server_sub create update" -l autostart \
    -d "Start it when the machine starts (see gsm service install)"
complete -c gsm -n "__gsm_server_sub create update" -l no-autostart \
    -d "Do not start it when the machine starts"
complete -c gsm -n "__gsm_server_sub create update" -l max-restarts -x \
    -d "Restarts allowed per 10 minutes"
complete -c gsm -n "__gsm_server_sub create update" -l ready-pattern -x \
    -d "Regex of the console line that says the game is up"
complete -c gsm -n "__gsm_server_sub create update" -l settle-seconds -x \
    -d "Seconds the game must stay up to count as started"
complete -c gsm -n "__gsm_server_sub create update" -l plugin-dir -x \
    -d "Plugin folder, relative to the server folder"
complete -c gsm -n "__gsm_server_sub create update" -l community -x \
    -d "The community (name or id) the server belongs to"
complete -c gsm -n "__gsm_server_sub update" -l no-community -d "Take the server out of its community"
complete -c gsm -n "__gsm_server_sub create update" -l freeze-after -x \
    -d "Failed queries in a row before a freeze restart (0: off)"
complete -c gsm -n "__gsm_server_sub create update" -l query-grace -x \
    -d "Seconds after a start when failed queries do not count"
complete -c gsm -n "__gsm_server_sub delete" -l purge -d "Also delete the server's folder"
complete -c gsm -n "__gsm_server_sub delete" -l no-purge -d "Keep the server's folder"
complete -c gsm -n "__gsm_server_sub delete restore adopt" -s y -l yes -d "Do it without asking"
complete -c gsm -n "__gsm_server_sub adopt" -l path -x -a "(__fish_complete_directories)" \
    -d "This machine's folder for the server"
complete -c gsm -n "__gsm_server_sub start stop restart status" -l all -d "Every server"
complete -c gsm -n "__gsm_server_sub start stop restart" -l timeout -x -d "Seconds to wait"
complete -c gsm -n "__gsm_server_sub stop" -l force -d "Kill at once, without asking it to stop"
complete -c gsm -n "__gsm_server_sub stop" -l no-force -d "Ask it to stop first"
complete -c gsm -n "__gsm_server_sub send" -l wait-for -x \
    -d "Wait for a log line matching this regular expression"
complete -c gsm -n "__gsm_server_sub send" -l timeout -x -d "Seconds to wait with --wait-for"
complete -c gsm -n "__gsm_server_sub logs" -s f -l follow -d "Keep printing new lines"
complete -c gsm -n "__gsm_server_sub logs" -s n -l lines -x -d "How many last lines"
complete -c gsm -n "__gsm_server_sub monitor" -l once -d "Check once and exit"
complete -c gsm -n "__gsm_server_sub monitor" -l no-once -d "Keep checking"
complete -c gsm -n "__gsm_server_sub monitor" -l interval -x -d "Seconds between checks"
complete -c gsm -n "__gsm_server_sub backup" -l keep -x -d "Backups to keep"
complete -c gsm -n "__gsm_server_sub restore" -l stop \
    -d "Stop the server first, and start it again after"

# The options of gsm auth login and logout. The URL and the email are not completed.
function __gsm_auth_sub
    set -l args (__gsm_args)
    test (count $args) -ge 2; and test "$args[1]" = auth; and contains -- $args[2] $argv
end
complete -c gsm -n "__gsm_auth_sub login" -l api-url -x -d "The cloud API (default: configured)"
complete -c gsm -n "__gsm_auth_sub login" -l with-token -d "Read a token from stdin (for CI)"
complete -c gsm -n "__gsm_auth_sub login" -l no-with-token -d "Log in with email and password"
complete -c gsm -n "__gsm_auth_sub login" -l email -x -d "Email (asked for when not given)"
complete -c gsm -n "__gsm_auth_sub logout" -l revoke -d "Also revoke the token on the cloud"

# The options of gsm sync's sub-commands, and the side that wins after --keep. Operation ids
# are not completed.
function __gsm_sync_sub
    set -l args (__gsm_args)
    test (count $args) -ge 2; and test "$args[1]" = sync; and contains -- $args[2] $argv
end
complete -c gsm -n "__gsm_sync_sub push" -l batch-size -x -d "Operations per request"
complete -c gsm -n "__gsm_sync_sub push" -l dry-run -d "Only say what would be sent"
complete -c gsm -n "__gsm_sync_sub push" -l no-dry-run -d "Send the operations"
complete -c gsm -n "__gsm_sync_sub retry" -l all -d "Every rejected operation"
complete -c gsm -n "__gsm_sync_sub drop" -l all-rejected -d "Every rejected operation"
complete -c gsm -n "__gsm_sync_sub drop" -s y -l yes -d "Do it without asking"
complete -c gsm -n "__gsm_sync_sub resolve" -l keep -x -a "$__gsm_sync_sides" \
    -d "local: push this machine's version; cloud: take the cloud's"

# The options of gsm plugin's sub-commands. `gsm plugin pack -o` names the zip to write, not an
# output format.
function __gsm_plugin_sub
    set -l args (__gsm_args)
    test (count $args) -ge 2; and test "$args[1]" = plugin; and contains -- $args[2] $argv
end
complete -c gsm -n "__gsm_args_are plugin init; or __gsm_args_are plugin pack" \
    -a "(__fish_complete_directories)"
complete -c gsm -n "__gsm_args_are plugin validate" -F
complete -c gsm -n "__gsm_plugin_sub init" -l name -x -d "Plugin name"
complete -c gsm -n "__gsm_plugin_sub init" -l game -x -a "$__gsm_game_ids" \
    -d "Game id (see gsm game list)"
complete -c gsm -n "__gsm_plugin_sub init" -l category -x -a "$__gsm_plugin_categories" \
    -d "Plugin category"
complete -c gsm -n "__gsm_plugin_sub init" -l force -d "Write into a folder that is not empty"
complete -c gsm -n "__gsm_plugin_sub pack" -s o -l output -r -F -d "Zip to write"
complete -c gsm -n "__gsm_plugin_sub validate" -l junit -r -F -d "Also write a JUnit XML report"
# The marketplace. Plugin names and search words are not completed (they live in the cloud).
complete -c gsm -n "__gsm_args_are plugin publish" -F
complete -c gsm -n "__gsm_plugin_sub publish" -l changelog -x -d "What changed in this version"
complete -c gsm -n "__gsm_plugin_sub search" -l game -x -a "$__gsm_game_ids" \
    -d "Only plugins for this game"
complete -c gsm -n "__gsm_plugin_sub search" -l category -x -a "$__gsm_plugin_categories" \
    -d "Only plugins of this category"
complete -c gsm -n "__gsm_plugin_sub search" -l verified -d "Only plugins an admin verified"
complete -c gsm -n "__gsm_plugin_sub search" -l sort -x -a "$__gsm_plugin_sorts" \
    -d "Most downloaded, best rated or newest first"
complete -c gsm -n "__gsm_plugin_sub search" -l limit -x -d "Show at most N plugins (1-200)"
# Installed plugins.
complete -c gsm -n "__gsm_args_are plugin install; or __gsm_args_are plugin apply" -F
complete -c gsm -n "__gsm_plugin_sub install uninstall enable disable update pin unpin list lock apply verify" \
    -l server -x -a "(__gsm_names servers)" -d "Server name"
complete -c gsm -n "__gsm_plugin_sub install uninstall enable disable update apply" -l force \
    -d "Go on over files gsm did not install or that changed (they are kept aside)"
complete -c gsm -n "__gsm_plugin_sub update verify" -l all -d "Every plugin, or every server"
complete -c gsm -n "__gsm_plugin_sub update apply" -l from -x -a "(__fish_complete_directories)" \
    -d "Folder of package files"
complete -c gsm -n "__gsm_plugin_sub apply" -l dry-run -d "Only show what would change"
complete -c gsm -n "__gsm_plugin_sub lock" -s o -l output -r -F -d "Lock file to write"
complete -c gsm -n "__gsm_plugin_sub verify" -l lock -r -F -d "Require exactly this lock's set"
complete -c gsm -n "__gsm_plugin_sub verify" -l junit -r -F -d "Also write a JUnit XML report"

# gsm metrics.
function __gsm_metrics_sub
    set -l args (__gsm_args)
    test (count $args) -ge 2; and test "$args[1]" = metrics; and contains -- $args[2] $argv
end
complete -c gsm -n "__gsm_metrics_sub show export" -l since -x \
    -d "Start: 90s 30m 24h 7d 2w or an ISO date/time"
complete -c gsm -n "__gsm_metrics_sub show export" -l until -x \
    -d "End: a duration back from now or an ISO date/time"
complete -c gsm -n "__gsm_metrics_sub export" -l all -d "Every server"
complete -c gsm -n "__gsm_metrics_sub export" -l format -x -a "$__gsm_export_formats" \
    -d "csv or json"
complete -c gsm -n "__gsm_metrics_sub export" -s o -l output -r -F -d "File to write"
complete -c gsm -n "__gsm_metrics_sub prune" -l older-than -x \
    -d "Delete samples older than: 90s 30m 24h 7d 2w"
complete -c gsm -n "__gsm_metrics_sub prune" -l rollup \
    -d "Keep one average per server and hour instead"
complete -c gsm -n "__gsm_metrics_sub collect watch" -l all -d "Every running server"
complete -c gsm -n "__gsm_metrics_sub collect watch" -l count -x -d "Samples (collect) or refreshes (watch)"
complete -c gsm -n "__gsm_metrics_sub collect" -l interval -x -d "Seconds between samples"
complete -c gsm -n "__gsm_metrics_sub watch" -l refresh -x -d "Seconds between refreshes"

# gsm community, gsm revenue and gsm plugin buy.
function __gsm_sub_of
    set -l args (__gsm_args)
    test (count $args) -ge 2; and test "$args[1]" = $argv[1]; and contains -- $args[2] $argv[2..-1]
end
complete -c gsm -n "__gsm_sub_of community list" -l mine -d "Only communities you are a member of"
complete -c gsm -n "__gsm_sub_of community list" -l search -x -d "Words in the name or description"
complete -c gsm -n "__gsm_sub_of community update" -l name -x -d "A new name"
complete -c gsm -n "__gsm_sub_of community create update" -l description -x -d "What it is about"
complete -c gsm -n "__gsm_sub_of community create update" -l public -d "Anyone can see and join it"
complete -c gsm -n "__gsm_sub_of community create update" -l private \
    -d "Members and invited users only"
complete -c gsm -n "__gsm_sub_of community create update" -l logo-url -x -d "Logo image URL"
complete -c gsm -n "__gsm_sub_of community create update" -l banner-url -x -d "Banner image URL"
complete -c gsm -n "__gsm_sub_of community delete donate" -s y -l yes -d "Do not ask"
complete -c gsm -n "__gsm_sub_of community join" -l code -x -d "Invitation code"
complete -c gsm -n "__gsm_sub_of community invite" -l email -x -d "Only this user may use it"
complete -c gsm -n "__gsm_sub_of community invite" -l expires -x -d "Valid for: 30m 24h 7d 2w"
complete -c gsm -n "__gsm_sub_of community invite" -l uses -x -d "How many joins it allows"
complete -c gsm -n "__gsm_sub_of community donate" -l amount -x -d "Amount, e.g. 5.00"
complete -c gsm -n "__gsm_sub_of community donate" -l currency -x -d "ISO 4217 code, e.g. EUR"
complete -c gsm -n "__gsm_sub_of community donate" -l message -x -d "A message to the community"
complete -c gsm -n "__gsm_sub_of community donate; or __gsm_sub_of plugin buy" -l wait -x \
    -d "Seconds to wait for the payment"
complete -c gsm -n "__gsm_sub_of plugin buy" -s y -l yes -d "Do not ask"
complete -c gsm -n "__gsm_sub_of revenue report" -l since -x -d "Start: 30d or an ISO date/time"
complete -c gsm -n "__gsm_sub_of revenue report" -l until -x \
    -d "End: a duration back from now or an ISO date/time"
complete -c gsm -n "__gsm_sub_of revenue report" -l by -x -a "$__gsm_revenue_by" -d "Group by"

# gsm alert and gsm service.
complete -c gsm -n "__gsm_args_are alert" -a "$__gsm_sub_alert"
complete -c gsm -n "__gsm_args_are service" -a "$__gsm_sub_service"
complete -c gsm -n "__gsm_sub_of alert add" -l url -x -d "An Apprise URL (a secret)"
complete -c gsm -n "__gsm_sub_of alert add" -l on -x -d "Comma-separated events to send"
complete -c gsm -n "__gsm_sub_of alert show" -s n -l limit -x -d "Latest messages shown"
complete -c gsm -n "__gsm_sub_of service install" -l cron -d "Write gsm's lines into your crontab"
complete -c gsm -n "__gsm_sub_of service install" -l at-startup \
    -d "Windows: run when the machine starts"
complete -c gsm -n "__gsm_sub_of service run" -l once -d "Run one round and exit"
complete -c gsm -n "__gsm_sub_of service run" -l boot -d "The machine has just started"
complete -c gsm -n "__gsm_sub_of service run" -l interval -x -d "Seconds between rounds"
complete -c gsm -n "__gsm_sub_of service run" -l home -x -a "(__fish_complete_directories)" \
    -d "Use this GSM_HOME"

# gsm schedule, and gsm server restart --when-empty.
complete -c gsm -n "__gsm_args_are schedule" -a "$__gsm_sub_schedule"
complete -c gsm -n "__gsm_sub_of schedule add" -s s -l server -x -a "(__gsm_names servers)" \
    -d "The server it runs for"
complete -c gsm -n "__gsm_sub_of schedule add" -l cron -x -d "When, as cron's five fields"
complete -c gsm -n "__gsm_sub_of schedule add" -l task -x -d "A task of the chain (repeatable)"
complete -c gsm -n "__gsm_sub_of schedule add" -l only-when-running \
    -d "Skip a firing when the server is not running"
complete -c gsm -n "__gsm_sub_of schedule add; or __gsm_server_sub restart" -l when-empty \
    -d "Wait until no player is on first"
complete -c gsm -n "__gsm_sub_of schedule add; or __gsm_server_sub restart" -l max-wait -x \
    -d "With --when-empty: the longest wait"
complete -c gsm -n "__gsm_sub_of schedule history" -s n -l limit -x -d "How many runs"
