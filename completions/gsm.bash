# bash completion for gsm. Installation: see completions/README.md.
#
# These lists must follow gsm itself; tests/cli/test_completions.py checks that every command
# of gsm_cli.app.COMMANDS and every setting key of gsm_cli.services.settings.SPECS is here.
# A new command: add its name to _gsm_commands. If it has sub-commands, add a list named
# _gsm_sub_<command>. If its options are not the usual data options, add a list named
# _gsm_opts_<command> or _gsm_opts_<command>_<sub-command> (dashes in names become "_").
# An option that takes a value goes in _gsm_value_opts too, so that its value is not taken
# for an argument.
_gsm_commands="server auth config doctor game sync plugin metrics community revenue alert service schedule"
_gsm_sub_server="create list show update delete adopt start stop restart status send logs monitor backup backups restore"
_gsm_sub_auth="login status logout"
_gsm_sub_config="list get set unset path"
_gsm_sub_game="list info install update validate installations"
_gsm_sub_sync="push pull status retry drop resolve"
_gsm_sub_plugin="init pack validate publish search info install uninstall enable disable update pin unpin list lock apply verify buy"
_gsm_sub_metrics="show export prune collect watch"
_gsm_sub_community="list show create update delete join leave members role remove invite invitations revoke donate"
_gsm_sub_revenue="report"
_gsm_sub_alert="add list show remove test"
_gsm_sub_service="install status uninstall run"
_gsm_sub_schedule="add list show remove enable disable run history tick"
_gsm_game_ids="7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising"
_gsm_setting_keys="alerts.attempts alerts.console_lines alerts.retry_seconds alerts.timeout alerts.window backup.backend backup.dir backup.exclude backup.keep_daily backup.password_file backup.repository backup.retention cloud.api_url cloud.timeout device.name metrics.interval metrics.retention_days metrics.rollup output.format server.log_max_bytes server.stop_timeout steamcmd.path sync.batch_size"
_gsm_server_statuses="stopped starting running stopping crashed failed remote"
_gsm_query_protocols="minecraft a2s tcp none"
_gsm_sync_sides="local cloud"
_gsm_plugin_categories="admin anticheat chat economy gameplay library maps performance protection utility world other"
_gsm_plugin_sorts="downloads rating new"
_gsm_formats="table json csv"
_gsm_export_formats="csv json"
_gsm_revenue_by="plugin community month"
_gsm_global_opts="--help --version --verbose -v --debug"
_gsm_data_opts="--json --output -o --help"
_gsm_value_opts="--output -o --path --game -g --port --query-port --query-protocol --max-players --arg --env --command --stop-command --max-restarts --ready-pattern --settle-seconds --freeze-after --query-grace --count --refresh --status --name --timeout --wait-for --lines -n --interval --keep --api-url --email --batch-size --category --junit --plugin-dir --server --lock --from --changelog --sort --limit --format --since --until --older-than --community --search --description --logo-url --banner-url --code --expires --uses --amount --currency --message --wait --by --url --on --home -s --cron --task --max-wait"
_gsm_opts_auth_login="--api-url --with-token --no-with-token --email --json --help"
_gsm_opts_auth_logout="--revoke --json --help"
_gsm_opts_config_get="--json --help"
_gsm_opts_config_set="--json --help"
_gsm_opts_config_unset="--json --help"
_gsm_opts_game_install="--path --validate --json --help"
_gsm_opts_game_update="--validate --json --help"
_gsm_opts_game_validate="--json --help"
_gsm_opts_server_create="--game -g --path --port --query-port --query-protocol --freeze-after --query-grace --max-players --arg --env --command --stop-command --restart --no-restart --autostart --no-autostart --max-restarts --ready-pattern --settle-seconds --plugin-dir --community --json --output -o --help"
_gsm_opts_server_list="--status --game --json --output -o --help"
_gsm_opts_server_update="--name --path --port --query-port --query-protocol --freeze-after --query-grace --max-players --arg --env --command --stop-command --restart --no-restart --autostart --no-autostart --max-restarts --ready-pattern --settle-seconds --plugin-dir --community --no-community --json --output -o --help"
_gsm_opts_server_delete="--purge --no-purge --yes -y --json --help"
_gsm_opts_server_adopt="--path --yes -y --json --output -o --help"
_gsm_opts_server_start="--all --timeout --json --output -o --help"
_gsm_opts_server_stop="--all --timeout --force --no-force --json --output -o --help"
_gsm_opts_server_restart="--all --timeout --when-empty --max-wait --json --output -o --help"
_gsm_opts_server_status="--all --json --output -o --help"
_gsm_opts_server_send="--wait-for --timeout --json --help"
_gsm_opts_server_logs="--follow -f --lines -n --help"
_gsm_opts_server_monitor="--once --no-once --interval --json --output -o --help"
_gsm_opts_server_backup="--keep --json --output -o --help"
_gsm_opts_server_restore="--stop --yes -y --json --output -o --help"
_gsm_opts_sync_push="--batch-size --dry-run --no-dry-run --json --help"
_gsm_opts_sync_pull="--json --help"
_gsm_opts_sync_retry="--all --json --help"
_gsm_opts_sync_drop="--all-rejected --yes -y --json --help"
_gsm_opts_sync_resolve="--keep --json --help"
_gsm_opts_plugin_init="--name --game --category --force --json --help"
_gsm_opts_plugin_pack="--output -o --json --help"
_gsm_opts_plugin_validate="--junit --json --output -o --help"
_gsm_opts_plugin_publish="--changelog --json --output -o --help"
_gsm_opts_plugin_search="--game --category --verified --sort --limit --json --output -o --help"
_gsm_opts_plugin_info="--json --output -o --help"
_gsm_opts_plugin_install="--server --force --json --output -o --help"
_gsm_opts_plugin_uninstall="--server --force --json --output -o --help"
_gsm_opts_plugin_enable="--server --force --json --output -o --help"
_gsm_opts_plugin_disable="--server --force --json --output -o --help"
_gsm_opts_plugin_update="--server --all --from --force --json --output -o --help"
_gsm_opts_plugin_pin="--server --json --output -o --help"
_gsm_opts_plugin_unpin="--server --json --output -o --help"
_gsm_opts_plugin_list="--server --json --output -o --help"
_gsm_opts_plugin_lock="--server --output -o --json --help"
_gsm_opts_plugin_apply="--server --from --dry-run --force --json --output -o --help"
_gsm_opts_plugin_verify="--server --all --lock --junit --json --output -o --help"
_gsm_opts_metrics_show="--since --until --json --output -o --help"
_gsm_opts_metrics_export="--all --format --since --until --output -o --help"
_gsm_opts_metrics_prune="--older-than --rollup --json --output -o --help"
_gsm_opts_community_list="--mine --search --json --output -o --help"
_gsm_opts_community_show="--json --output -o --help"
_gsm_opts_community_create="--description --public --private --logo-url --banner-url --json --output -o --help"
_gsm_opts_community_update="--name --description --public --private --logo-url --banner-url --json --output -o --help"
_gsm_opts_community_delete="--yes -y --json --help"
_gsm_opts_community_join="--code --json --output -o --help"
_gsm_opts_community_leave="--json --output -o --help"
_gsm_opts_community_members="--json --output -o --help"
_gsm_opts_community_role="--json --output -o --help"
_gsm_opts_community_remove="--json --output -o --help"
_gsm_opts_community_invite="--email --expires --uses --json --output -o --help"
_gsm_opts_community_invitations="--json --output -o --help"
_gsm_opts_community_revoke="--json --output -o --help"
_gsm_opts_community_donate="--amount --currency --message --yes -y --wait --json --output -o --help"
_gsm_opts_revenue_report="--since --until --by --json --output -o --help"
_gsm_opts_plugin_buy="--yes -y --wait --json --output -o --help"
_gsm_opts_metrics_collect="--all --count --interval --json --output -o --help"
_gsm_opts_metrics_watch="--all --refresh --count --json --help"
_gsm_opts_alert_add="--url --on --json --output -o --help"
_gsm_opts_alert_show="--limit -n --json --output -o --help"
_gsm_opts_alert_remove="--json --help"
_gsm_opts_alert_test="--json --help"
_gsm_opts_service_install="--cron --at-startup --json --output -o --help"
_gsm_opts_service_run="--once --boot --interval --home --json --output -o --help"
_gsm_opts_schedule_add="--server -s --cron --task --only-when-running --when-empty --max-wait --json --output -o --help"
_gsm_opts_schedule_remove="--json --help"
_gsm_opts_schedule_history="--limit -n --json --output -o --help"

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

_gsm() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local prev="" i word var
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

    local cmd="${args[0]}" sub="${args[1]}"

    # The value of an option: formats, game ids, statuses, a folder, the side that wins a
    # sync conflict; nothing for numbers, names, URLs and command lines.
    if _gsm_takes_value "$prev"; then
        case "$prev" in
        --output | -o)
            if [[ "$cmd $sub" == "plugin pack" || "$cmd $sub" == "plugin lock" ||
                "$cmd $sub" == "metrics export" ]]; then # -o FILE
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            else
                COMPREPLY=($(compgen -W "$_gsm_formats" -- "$cur"))
            fi
            ;;
        --category) COMPREPLY=($(compgen -W "$_gsm_plugin_categories" -- "$cur")) ;;
        --sort) COMPREPLY=($(compgen -W "$_gsm_plugin_sorts" -- "$cur")) ;;
        --format) COMPREPLY=($(compgen -W "$_gsm_export_formats" -- "$cur")) ;;
        --by) COMPREPLY=($(compgen -W "$_gsm_revenue_by" -- "$cur")) ;;
        --junit | --lock)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            ;;
        --game | -g) COMPREPLY=($(compgen -W "$_gsm_game_ids" -- "$cur")) ;;
        --status) COMPREPLY=($(compgen -W "$_gsm_server_statuses" -- "$cur")) ;;
        --server | -s) _gsm_names servers "$cur" ;;
        --query-protocol) COMPREPLY=($(compgen -W "$_gsm_query_protocols" -- "$cur")) ;;
        --keep) # gsm sync resolve NAME --keep local|cloud (gsm server backup's is a number)
            if [[ "$cmd $sub" == "sync resolve" ]]; then
                COMPREPLY=($(compgen -W "$_gsm_sync_sides" -- "$cur"))
            fi
            ;;
        --path | --from | --home)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            ;;
        esac
        return 0
    fi

    local subs=""
    if [[ -n $cmd ]]; then
        var="_gsm_sub_${cmd//-/_}"
        subs="${!var}"
    fi

    if [[ $cur == -* ]]; then
        if [[ -z $cmd ]]; then
            COMPREPLY=($(compgen -W "$_gsm_global_opts" -- "$cur"))
        elif [[ -n $subs && -z $sub ]]; then
            COMPREPLY=($(compgen -W "--help" -- "$cur"))
        else
            var="_gsm_opts_${cmd//-/_}"
            [[ -n $subs ]] && var="${var}_${sub//-/_}"
            COMPREPLY=($(compgen -W "${!var-$_gsm_data_opts}" -- "$cur"))
        fi
        return 0
    fi

    case "${#args[@]}" in
    0)
        COMPREPLY=($(compgen -W "$_gsm_commands" -- "$cur"))
        ;;
    1)
        [[ -n $subs ]] && COMPREPLY=($(compgen -W "$subs" -- "$cur"))
        ;;
    2)
        case "$cmd $sub" in
        "server show" | "server update" | "server delete" | "server start" | "server stop" | \
            "server restart" | "server status" | "server send" | "server logs" | \
            "server backup" | "server backups" | "server restore" | "metrics show" | \
            "metrics export" | "metrics collect" | "metrics watch" | "sync resolve")
            _gsm_names servers "$cur"
            ;;
        "plugin uninstall" | "plugin enable" | "plugin disable" | "plugin update" | \
            "plugin pin" | "plugin unpin")
            _gsm_names plugins "$cur" "$(_gsm_server_option)"
            ;;
        "community show" | "community update" | "community delete" | "community leave" | \
            "community members" | "community role" | "community remove" | "community invite" | \
            "community invitations" | "community revoke" | "community donate")
            _gsm_names communities "$cur"
            ;;
        "schedule show" | "schedule remove" | "schedule enable" | "schedule disable" | \
            "schedule run" | "schedule history")
            _gsm_names schedules "$cur"
            ;;
        "alert show" | "alert remove" | "alert test")
            _gsm_names alerts "$cur"
            ;;
        "config get" | "config set" | "config unset")
            COMPREPLY=($(compgen -W "$_gsm_setting_keys" -- "$cur"))
            ;;
        "game info" | "game install" | "game update" | "game validate")
            COMPREPLY=($(compgen -W "$_gsm_game_ids" -- "$cur"))
            ;;
        "plugin init" | "plugin pack")
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            ;;
        "plugin validate" | "plugin publish" | "plugin install" | "plugin apply")
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            ;;
        esac
        ;;
    *)
        # Arguments after the first: a backup of the server named before it; more servers, or
        # more plugins, for the commands that take several.
        case "$cmd $sub" in
        "server restore") ((${#args[@]} == 3)) && _gsm_names backups "$cur" "${args[2]}" ;;
        "metrics collect" | "metrics watch") _gsm_names servers "$cur" ;;
        "plugin update") _gsm_names plugins "$cur" "$(_gsm_server_option)" ;;
        esac
        if [[ "$cmd $sub" == "config set" ]] && ((${#args[@]} == 3)); then
            case "${args[2]}" in
            output.format) COMPREPLY=($(compgen -W "$_gsm_formats" -- "$cur")) ;;
            backup.dir)
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -d -- "$cur")
                ;;
            steamcmd.path)
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -f -- "$cur")
                ;;
            esac
        fi
        ;;
    esac
    return 0
}

complete -F _gsm gsm
