# bash completion for gsm (bash 4.2 or later). Installation: see completions/README.md.
#
# Generated from gsm itself by `python -m gsm_cli.completion_scripts completions` (template:
# src/gsm_cli/completion_templates/gsm.bash); do not edit the generated file.
# Names of the local store (servers, backups, plugins, communities, schedules, alert channels)
# come from `gsm __complete`; everything else is in the tables below.
@TABLES@

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
