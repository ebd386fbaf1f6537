#compdef gsm
# zsh completion for gsm (zsh 5). Installation: see completions/README.md.
#
# Generated from gsm itself by `python -m gsm_cli.completion_scripts completions` (template:
# src/gsm_cli/completion_templates/gsm.zsh); do not edit the generated file.
# Names of the local store (servers, backups, plugins, communities, schedules, alert channels)
# come from `gsm __complete`; everything else is in the tables below.
@TABLES@

# The names gsm's local store holds: `gsm __complete KIND [--server NAME]` (KIND: servers,
# backups, plugins, communities, schedules or alerts; $2 the server whose backups or plugins).
# gsm answers that without loading its libraries, read-only, and prints nothing when it
# cannot (no store, gsm not on PATH): then nothing is offered.
_gsm_names() {
  local expl
  local -a names
  if [[ -n $2 ]]; then
    names=(${(f)"$(command gsm __complete $1 --server ${(Q)2} 2>/dev/null)"})
  else
    names=(${(f)"$(command gsm __complete $1 2>/dev/null)"})
  fi
  _wanted $1 expl $1 compadd -a names
}

# The value given to --server on the line.
_gsm_server_option() {
  local i
  for (( i = 2; i < CURRENT; i++ )); do
    case $words[i] in
      (--server) print -r -- $words[i+1]; return ;;
      (--server=*) print -r -- ${words[i]#--server=}; return ;;
    esac
  done
}

# Offers what spec $1 says ($2: the command's first argument, the server of a backup or the key
# of a setting).
_gsm_offer() {
  local spec=$1 expl
  local -a choices
  case $spec in
    ('') _message 'value' ;;
    ('words '*)
      choices=(${=spec#words })
      _wanted values expl value compadd -a choices
      ;;
    (dir) _files -/ ;;
    (file) _files ;;
    (setting-value)
      local REPLY
      _gsm_setting_value $2
      _gsm_offer "$REPLY"
      ;;
    (backups) [[ -n $2 ]] && _gsm_names backups $2 ;;
    (plugins) _gsm_names plugins "$(_gsm_server_option)" ;;
    (*) _gsm_names $spec ;;
  esac
}

_gsm() {
  local -a args reply
  local i word prev='' REPLY
  # The words typed before the cursor that are not options (nor an option's value).
  for (( i = 2; i < CURRENT; i++ )); do
    word=$words[i]
    if [[ -n $prev ]]; then
      prev=''
      continue
    fi
    if (( ${_gsm_value_opts[(Ie)$word]} )); then
      prev=$word
      continue
    fi
    [[ $word == -* ]] || args+=("$word")
  done

  local cmd=$args[1] cmdpath=$args[1] depth=1
  local -a subs
  if [[ -n $cmd ]]; then
    _gsm_subs $cmd
    subs=("${reply[@]}")
  fi
  if (( $#subs )); then
    cmdpath="$cmd $args[2]"
    depth=2
  fi
  local first=$args[depth+1]

  # --output=js: the option's value, after its "=".
  if [[ -z $prev && $PREFIX == --*=* ]] && (( ${_gsm_value_opts[(Ie)${PREFIX%%=*}]} )); then
    prev=${PREFIX%%=*}
    compset -P '*='
  fi
  if [[ -n $prev ]]; then
    _gsm_value "$cmdpath $prev"
    _gsm_offer "$REPLY" $first
    return
  fi

  if [[ $PREFIX == -* ]]; then
    if [[ -z $cmd ]]; then
      _describe -t options 'gsm option' _gsm_global_opts
    elif (( $#subs )) && [[ -z $args[2] ]]; then
      _describe -t options 'option' _gsm_help_opts
    else
      _gsm_opts $cmdpath
      _describe -t options "gsm $cmdpath option" reply
    fi
    return
  fi

  if (( $#args == 0 )); then
    _describe -t commands 'gsm command' _gsm_commands
  elif (( $#args == 1 && $#subs )); then
    _describe -t commands "gsm $cmd command" subs
  else
    _gsm_arg "$cmdpath $(( $#args - depth + 1 ))"
    _gsm_offer "$REPLY" $first
  fi
}

if [[ $funcstack[1] == _gsm ]]; then
  # Loaded from $fpath by compinit: the file body runs as _gsm; complete now.
  _gsm "$@"
elif (( $+functions[compdef] )); then
  # Sourced (for example from ~/.zshrc after compinit).
  compdef _gsm gsm
fi
