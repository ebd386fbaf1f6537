# bash completion for gsm. Installation: see completions/README.md.
#
# These lists must follow gsm itself; tests/cli/test_completions.py checks that every command
# of gsm_cli.app.COMMANDS and every setting key of gsm_cli.services.settings.SPECS is here.
# A new command: add its name to _gsm_commands. If it has sub-commands, add a list named
# _gsm_sub_<command>. If its options are not the usual data options, add a list named
# _gsm_opts_<command> or _gsm_opts_<command>_<sub-command> (dashes in names become "_").
_gsm_commands="config doctor game"
_gsm_sub_config="list get set unset path"
_gsm_sub_game="list info install update validate installations"
_gsm_game_ids="7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust satisfactory terraria tf2 unturned valheim vrising"
_gsm_setting_keys="backup.dir backup.exclude backup.retention cloud.api_url cloud.timeout metrics.interval metrics.retention_days output.format server.stop_timeout steamcmd.path sync.batch_size"
_gsm_formats="table json csv"
_gsm_global_opts="--help --version --verbose -v --debug"
_gsm_data_opts="--json --output -o --help"
_gsm_opts_config_get="--json --help"
_gsm_opts_config_set="--json --help"
_gsm_opts_config_unset="--json --help"
_gsm_opts_game_install="--path --validate --json --help"
_gsm_opts_game_update="--validate --json --help"
_gsm_opts_game_validate="--json --help"

_gsm() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local prev="" i word var
    local -a args=()
    ((COMP_CWORD > 0)) && prev="${COMP_WORDS[COMP_CWORD - 1]}"
    COMPREPLY=()

    # bash splits "--output=js" into "--output" "=" "js".
    if [[ $cur == "=" && ($prev == --output || $prev == -o) ]]; then
        cur="" prev="--output"
    elif [[ $prev == "=" ]] && ((COMP_CWORD > 1)) &&
        [[ ${COMP_WORDS[COMP_CWORD - 2]} == --output ]]; then
        prev="--output"
    fi
    if [[ $prev == --output || $prev == -o ]]; then
        COMPREPLY=($(compgen -W "$_gsm_formats" -- "$cur"))
        return 0
    fi
    # A folder after --path (gsm game install), also as --path=DIR.
    if [[ $cur == "=" && $prev == --path ]]; then
        cur="" prev="--path"
    elif [[ $prev == "=" ]] && ((COMP_CWORD > 1)) &&
        [[ ${COMP_WORDS[COMP_CWORD - 2]} == --path ]]; then
        prev="--path"
    fi
    if [[ $prev == --path ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return 0
    fi

    # The words typed before the cursor that are not options (nor an option's value).
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${COMP_WORDS[i]}"
        case "$word" in
        -o | --output | --path)
            if [[ ${COMP_WORDS[i + 1]} == "=" ]]; then ((i += 2)); else ((i += 1)); fi
            ;;
        -* | "=") ;;
        *) args+=("$word") ;;
        esac
    done

    local cmd="${args[0]}" sub="${args[1]}"
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
        "config get" | "config set" | "config unset")
            COMPREPLY=($(compgen -W "$_gsm_setting_keys" -- "$cur"))
            ;;
        "game info" | "game install" | "game update" | "game validate")
            COMPREPLY=($(compgen -W "$_gsm_game_ids" -- "$cur"))
            ;;
        esac
        ;;
    3)
        if [[ "$cmd $sub" == "config set" ]]; then
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
