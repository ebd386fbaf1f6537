#compdef gsm
# zsh completion for gsm. Installation: see completions/README.md.
#
# These lists must follow gsm itself; tests/cli/test_completions.py checks that every command
# of gsm_cli.app.COMMANDS and every setting key of gsm_cli.services.settings.SPECS is here.
# A new command: add its name to _gsm_commands. If it has sub-commands, add them to
# _gsm_subcommands as "command:sub1 sub2 ...". Commands whose options are not the usual data
# options go in _gsm_json_only (only --json) or get their own case in _gsm.
_gsm_commands=(config doctor game)
typeset -gA _gsm_subcommands
_gsm_subcommands=(
  config 'list get set unset path'
  game 'list info install update validate installations'
)
_gsm_setting_keys=(
  backup.dir backup.exclude backup.retention cloud.api_url cloud.timeout metrics.interval
  metrics.retention_days output.format server.stop_timeout steamcmd.path sync.batch_size
)
_gsm_formats=(table json csv)
_gsm_game_ids=(
  7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust
  satisfactory terraria tf2 unturned valheim vrising
)
_gsm_json_only=('config get' 'config set' 'config unset')

_gsm() {
  local curcontext="$curcontext" state state_descr line ret=1
  typeset -A opt_args
  local -a data_opts json_opts help_opt
  help_opt=('(- *)'{-h,--help}'[show help and exit]')
  json_opts=('--json[same as --output json]' $help_opt)
  data_opts=(
    '(-o --output)'{-o+,--output=}'[output format]:format:($_gsm_formats)'
    $json_opts
  )

  _arguments -C \
    '(- *)--version[show the version and exit]' \
    '(-v --verbose)'{-v,--verbose}'[say more about what gsm does, on stderr]' \
    '--debug[debug logging; tracebacks on errors]' \
    $help_opt \
    '1:command:->command' \
    '*::argument:->argument' && ret=0

  case $state in
    command)
      _describe -t commands 'gsm command' _gsm_commands && ret=0
      ;;
    argument)
      # Here words[1] is the command.
      local cmd=$words[1]
      local -a subs
      subs=(${=_gsm_subcommands[$cmd]})
      if (( ! ${#subs} )); then
        _arguments $data_opts && ret=0
      elif (( CURRENT == 2 )); then
        if [[ $PREFIX == -* ]]; then
          _arguments $help_opt && ret=0
        else
          _describe -t commands "gsm $cmd command" subs && ret=0
        fi
      else
        local sub=$words[2]
        shift words
        (( CURRENT-- ))
        curcontext="${curcontext%:*:*}:gsm-$cmd-$sub:"
        case "$cmd $sub" in
          'config get'|'config unset')
            _arguments $json_opts '1:setting key:($_gsm_setting_keys)' && ret=0
            ;;
          'game info')
            _arguments $data_opts '1:game:($_gsm_game_ids)' && ret=0
            ;;
          'game install')
            _arguments $json_opts \
              '--path=[folder for the game files]:folder:_files -/' \
              '--validate[also check every file after the download]' \
              '1:game:($_gsm_game_ids)' && ret=0
            ;;
          'game update')
            _arguments $json_opts \
              '--validate[also check every file after the download]' \
              '1:game:($_gsm_game_ids)' && ret=0
            ;;
          'game validate')
            _arguments $json_opts '1:game:($_gsm_game_ids)' && ret=0
            ;;
          'config set')
            _arguments $json_opts \
              '1:setting key:($_gsm_setting_keys)' \
              '2:value:_gsm_setting_value' && ret=0
            ;;
          *)
            if (( ${_gsm_json_only[(Ie)$cmd $sub]} )); then
              _arguments $json_opts && ret=0
            else
              _arguments $data_opts && ret=0
            fi
            ;;
        esac
      fi
      ;;
  esac
  return ret
}

# The value of `gsm config set KEY VALUE`; words[2] is KEY.
_gsm_setting_value() {
  case $words[2] in
    output.format) _describe -t formats 'output format' _gsm_formats ;;
    backup.dir) _files -/ ;;
    steamcmd.path) _files ;;
    *) _message 'value' ;;
  esac
}

if [[ $funcstack[1] == _gsm ]]; then
  # Loaded from $fpath by compinit: the file body runs as _gsm; complete now.
  _gsm "$@"
elif (( $+functions[compdef] )); then
  # Sourced (for example from ~/.zshrc after compinit).
  compdef _gsm gsm
fi
