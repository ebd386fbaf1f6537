#compdef gsm
# zsh completion for gsm. Installation: see completions/README.md.
#
# These lists must follow gsm itself; tests/cli/test_completions.py checks that every command
# of gsm_cli.app.COMMANDS and every setting key of gsm_cli.services.settings.SPECS is here.
# A new command: add its name to _gsm_commands. If it has sub-commands, add them to
# _gsm_subcommands as "command:sub1 sub2 ...". Commands whose options are not the usual data
# options go in _gsm_json_only (only --json) or get their own case in _gsm.
_gsm_commands=(server auth config doctor game sync plugin metrics community revenue alert service schedule)
typeset -gA _gsm_subcommands
_gsm_subcommands=(
  server 'create list show update delete adopt start stop restart status send logs monitor backup backups restore'
  auth 'login status logout'
  config 'list get set unset path'
  game 'list info install update validate installations'
  sync 'push pull status retry drop resolve'
  plugin 'init pack validate publish search info install uninstall enable disable update pin unpin list lock apply verify buy'
  metrics 'show export prune collect watch'
  community 'list show create update delete join leave members role remove invite invitations revoke donate'
  revenue 'report'
  alert 'add list show remove test'
  service 'install status uninstall run'
  schedule 'add list show remove enable disable run history tick'
)
_gsm_setting_keys=(
  alerts.attempts alerts.console_lines alerts.retry_seconds alerts.timeout alerts.window
  backup.backend backup.dir backup.exclude backup.keep_daily backup.password_file
  backup.repository backup.retention cloud.api_url cloud.timeout device.name metrics.interval
  metrics.retention_days metrics.rollup output.format server.log_max_bytes server.stop_timeout
  steamcmd.path sync.batch_size
)
_gsm_formats=(table json csv)
_gsm_server_statuses=(stopped starting running stopping crashed failed remote)
_gsm_query_protocols=(minecraft a2s tcp none)
_gsm_game_ids=(
  7dtd ark corekeeper cs2 custom dst enshrouded factorio gmod l4d2 minecraft palworld pz rust
  satisfactory terraria tf2 unturned valheim vrising
)
_gsm_json_only=(
  'config get' 'config set' 'config unset' 'sync pull' 'alert remove' 'alert test'
  'schedule remove'
)
_gsm_sync_sides=(local cloud)
_gsm_revenue_by=(plugin community month)
_gsm_plugin_categories=(
  admin anticheat chat economy gameplay library maps performance protection utility world other
)
_gsm_plugin_sorts=(downloads rating new)
_gsm_export_formats=(csv json)

_gsm() {
  local curcontext="$curcontext" state state_descr line ret=1
  typeset -A opt_args
  local -a data_opts json_opts help_opt server_opts all_opt timeout_opt
  help_opt=('(- *)'{-h,--help}'[show help and exit]')
  json_opts=('--json[same as --output json]' $help_opt)
  data_opts=(
    '(-o --output)'{-o+,--output=}'[output format]:format:($_gsm_formats)'
    $json_opts
  )
  # The options gsm server create and update share.
  server_opts=(
    '--path=[server folder]:folder:_files -/'
    '--port=[game port]:port:'
    '--query-port=[port the game answers queries on]:port:'
    '--query-protocol=[how gsm asks the game for players and latency]:protocol:($_gsm_query_protocols)'
    '--max-players=[player slots]:number:'
    '*--arg=[extra argument (repeatable)]:argument:'
    '*--env=[environment K=V (repeatable)]:K=V:'
    '--command=[command line to run]:command line:'
    '--stop-command=[console line(s) that stop it]:console lines:'
    '(--restart --no-restart)--restart[restart after a crash]'
    '(--restart --no-restart)--no-restart[do not restart after a crash]'
    '(--autostart --no-autostart)--autostart[start it when the machine starts (gsm service)]'
    '(--autostart --no-autostart)--no-autostart[do not start it when the machine starts]'
    '--max-restarts=[restarts allowed per 10 minutes]:number:'
    '--ready-pattern=[regex of the console line that says the game is up]:regex:'
    '--settle-seconds=[seconds the game must stay up to count as started]:seconds:'
    '--freeze-after=[failed queries in a row before a freeze restart (0: off)]:number:'
    '--query-grace=[seconds after a start when failed queries do not count]:seconds:'
    '--plugin-dir=[plugin folder, relative to the server folder]:folder:'
    '--community=[the community (name or id) the server belongs to]:community:'
  )
  all_opt=('(1)--all[every server]')
  timeout_opt=('--timeout=[seconds to wait at each step]:seconds:')

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
          'server create')
            _arguments $data_opts $server_opts \
              '(-g --game)'{-g+,--game=}'[game id]:game:($_gsm_game_ids)' \
              '1:server name:' && ret=0
            ;;
          'server list')
            _arguments $data_opts \
              '--status=[only servers in this status]:status:($_gsm_server_statuses)' \
              '--game=[only servers of this game]:game:($_gsm_game_ids)' && ret=0
            ;;
          'server update')
            _arguments $data_opts $server_opts \
              '--name=[rename the server]:new name:' \
              '--no-community[take the server out of its community]' \
              '1:server name:_gsm_servers' && ret=0
            ;;
          'server delete')
            _arguments $json_opts \
              '(--purge --no-purge)--purge[also delete the server'"'"'s folder]' \
              '(--purge --no-purge)--no-purge[keep the server'"'"'s folder]' \
              '(-y --yes)'{-y,--yes}'[do it without asking]' \
              '1:server name:_gsm_servers' && ret=0
            ;;
          'server start')
            _arguments $data_opts $all_opt \
              '--timeout=[seconds to wait for it to run]:seconds:' \
              '(--all)1:server name:_gsm_servers' && ret=0
            ;;
          'server stop')
            _arguments $data_opts $all_opt $timeout_opt \
              '(--force --no-force)--force[kill at once, without asking it to stop]' \
              '(--force --no-force)--no-force[ask it to stop first]' \
              '(--all)1:server name:_gsm_servers' && ret=0
            ;;
          'server restart')
            _arguments $data_opts $all_opt $timeout_opt \
              '--when-empty[first wait until no player is on]' \
              '--max-wait=[with --when-empty: the longest wait]:duration:' \
              '(--all)1:server name:_gsm_servers' && ret=0
            ;;
          'server status')
            _arguments $data_opts $all_opt '(--all)1:server name:_gsm_servers' && ret=0
            ;;
          'server send')
            _arguments $json_opts \
              '--wait-for=[wait for a log line matching this regular expression]:regex:' \
              '--timeout=[seconds to wait with --wait-for]:seconds:' \
              '1:server name:_gsm_servers' '2:console line:' && ret=0
            ;;
          'server logs')
            _arguments $help_opt \
              '(-f --follow)'{-f,--follow}'[keep printing new lines]' \
              '(-n --lines)'{-n+,--lines=}'[how many last lines]:lines:' \
              '1:server name:_gsm_servers' && ret=0
            ;;
          'server monitor')
            _arguments $data_opts \
              '(--once --no-once)--once[check once and exit]' \
              '(--once --no-once)--no-once[keep checking]' \
              '--interval=[seconds between checks]:seconds:' && ret=0
            ;;
          'server backup')
            _arguments $data_opts \
              '--keep=[backups to keep]:number:' \
              '1:server name:_gsm_servers' && ret=0
            ;;
          'server show'|'server backups')
            _arguments $data_opts '1:server name:_gsm_servers' && ret=0
            ;;
          'server adopt')
            _arguments $data_opts \
              '--path=[folder on this machine for the server]:folder:_directories' \
              '(-y --yes)'{-y,--yes}'[do it without asking]' \
              '1:server name:' && ret=0
            ;;
          'server restore')
            _arguments $data_opts \
              '--stop[stop the server first, and start it again after]' \
              '(-y --yes)'{-y,--yes}'[do it without asking]' \
              '1:server name:_gsm_servers' '2:backup (id or file name):_gsm_backups' && ret=0
            ;;
          'auth login')
            _arguments $json_opts \
              '--api-url=[the cloud API (default: configured)]:URL:_urls' \
              '(--with-token --no-with-token)--with-token[read a token from stdin (for CI)]' \
              '(--with-token --no-with-token)--no-with-token[log in with email and password]' \
              '--email=[email (asked for when not given)]:email:' && ret=0
            ;;
          'auth logout')
            _arguments $json_opts \
              '--revoke[also revoke the token on the cloud: it stops working on every machine]' \
              && ret=0
            ;;
          # Operation ids are not completed.
          'sync push')
            _arguments $json_opts \
              '--batch-size=[operations per request]:number:' \
              '(--dry-run --no-dry-run)--dry-run[only say what would be sent]' \
              '(--dry-run --no-dry-run)--no-dry-run[send the operations]' && ret=0
            ;;
          'sync retry')
            _arguments $json_opts \
              '(1)--all[every rejected operation]' \
              '(--all)1:operation id:' && ret=0
            ;;
          'sync drop')
            _arguments $json_opts \
              '(1)--all-rejected[every rejected operation]' \
              '(-y --yes)'{-y,--yes}'[do it without asking]' \
              '(--all-rejected)1:operation id:' && ret=0
            ;;
          'plugin init')
            _arguments $json_opts \
              '--name=[plugin name]:name:' \
              '--game=[game id]:game:($_gsm_game_ids)' \
              '--category=[category]:category:($_gsm_plugin_categories)' \
              '--force[write into a folder that is not empty]' \
              '1:plugin folder:_files -/' && ret=0
            ;;
          'plugin pack')
            _arguments $json_opts \
              '(-o --output)'{-o+,--output=}'[zip to write]:file:_files' \
              '1:plugin folder:_files -/' && ret=0
            ;;
          'plugin validate')
            _arguments $data_opts \
              '--junit=[also write a JUnit XML report]:file:_files' \
              '1:package zip or plugin folder:_files' && ret=0
            ;;
          'plugin publish')
            _arguments $data_opts \
              '--changelog=[what changed in this version]:text:' \
              '1:package zip:_files' && ret=0
            ;;
          'plugin search')
            _arguments $data_opts \
              '--game=[only plugins for this game]:game:($_gsm_game_ids)' \
              '--category=[only plugins of this category]:category:($_gsm_plugin_categories)' \
              '--verified[only plugins an admin verified]' \
              '--sort=[order]:order:($_gsm_plugin_sorts)' \
              '--limit=[show at most N plugins]:number:' \
              '1:words in the name or description:' && ret=0
            ;;
          'plugin info')
            _arguments $data_opts '1:plugin name or id:' && ret=0
            ;;
          'plugin install')
            _arguments $data_opts \
              '--server=[server name]:server:_gsm_servers' \
              '--force[install over files gsm did not install (kept aside)]' \
              '*:plugin name or package zip:_files' && ret=0
            ;;
          'plugin uninstall'|'plugin enable'|'plugin disable')
            _arguments $data_opts \
              '--server=[server name]:server:_gsm_servers' \
              '--force[even when others need it or files are in the way]' \
              '1:plugin name:_gsm_plugins' && ret=0
            ;;
          'plugin pin'|'plugin unpin')
            _arguments $data_opts \
              '--server=[server name]:server:_gsm_servers' \
              '1:plugin name:_gsm_plugins' && ret=0
            ;;
          'plugin update')
            _arguments $data_opts \
              '--server=[server name]:server:_gsm_servers' \
              '--all[every plugin that is not pinned]' \
              '--from=[folder of package files]:folder:_files -/' \
              '--force[replace files changed here (kept aside)]' \
              '*:plugin name:_gsm_plugins' && ret=0
            ;;
          'plugin list')
            _arguments $data_opts '--server=[server name]:server:_gsm_servers' && ret=0
            ;;
          'plugin lock')
            _arguments $json_opts \
              '--server=[server name]:server:_gsm_servers' \
              '(-o --output)'{-o+,--output=}'[lock file to write]:file:_files' && ret=0
            ;;
          'plugin apply')
            _arguments $data_opts \
              '--server=[server name]:server:_gsm_servers' \
              '--from=[folder of package files]:folder:_files -/' \
              '--dry-run[only show what would change]' \
              '--force[replace changed files (kept aside)]' \
              '1:lock file:_files' && ret=0
            ;;
          'plugin verify')
            _arguments $data_opts \
              '*--server=[server name]:server:_gsm_servers' \
              '--all[every server of this machine]' \
              '--lock=[lock file]:file:_files' \
              '--junit=[also write a JUnit XML report]:file:_files' && ret=0
            ;;
          'metrics show')
            _arguments $data_opts \
              '--since=[start: 90s 30m 24h 7d 2w or an ISO date/time]:when:' \
              '--until=[end: a duration back from now or an ISO date/time]:when:' \
              '1:server name:_gsm_servers' && ret=0
            ;;
          'metrics export')
            _arguments $help_opt \
              '--all[every server]' \
              '--format=[csv or json]:format:($_gsm_export_formats)' \
              '--since=[start: 90s 30m 24h 7d 2w or an ISO date/time]:when:' \
              '--until=[end: a duration back from now or an ISO date/time]:when:' \
              '(-o --output)'{-o+,--output=}'[file to write]:file:_files' \
              '(--all)1:server name:_gsm_servers' && ret=0
            ;;
          'metrics prune')
            _arguments $data_opts \
              '--older-than=[delete samples older than: 90s 30m 24h 7d 2w]:age:' \
              '--rollup[keep one average per server and hour instead]' && ret=0
            ;;
          'metrics collect')
            _arguments $data_opts \
              '--all[every running server]' \
              '--count=[samples per server]:number:' \
              '--interval=[seconds between samples]:seconds:' \
              '(--all)*:server name:_gsm_servers' && ret=0
            ;;
          'metrics watch')
            _arguments $help_opt \
              '--json[one JSON object per refresh (JSON Lines)]' \
              '--all[every server]' \
              '--refresh=[seconds between refreshes]:seconds:' \
              '--count=[stop after N refreshes]:number:' \
              '(--all)*:server name:_gsm_servers' && ret=0
            ;;
          'community list')
            _arguments $data_opts \
              '--mine[only communities you are a member of]' \
              '--search=[words in the name or description]:text:' && ret=0
            ;;
          'community create'|'community update')
            _arguments $data_opts \
              '--name=[a new name (update)]:name:' \
              '--description=[what the community is about]:text:' \
              '(--public --private)--public[anyone can see and join it]' \
              '(--public --private)--private[members and invited users only]' \
              '--logo-url=[logo image URL]:url:' \
              '--banner-url=[banner image URL]:url:' \
              '1:community name:' && ret=0
            ;;
          'community delete')
            _arguments $json_opts \
              '(-y --yes)'{-y,--yes}'[do not ask]' \
              '1:community name or id:_gsm_communities' && ret=0
            ;;
          'community join')
            _arguments $data_opts \
              '--code=[invitation code]:code:' \
              '1:community name or id:' && ret=0
            ;;
          'community invite')
            _arguments $data_opts \
              '--email=[only this user may use it]:email:' \
              '--expires=[valid for: 30m 24h 7d 2w]:duration:' \
              '--uses=[how many joins it allows]:number:' \
              '1:community name or id:_gsm_communities' && ret=0
            ;;
          'community donate')
            _arguments $data_opts \
              '--amount=[amount, e.g. 5.00]:amount:' \
              '--currency=[ISO 4217 code, e.g. EUR]:currency:' \
              '--message=[a message to the community]:text:' \
              '(-y --yes)'{-y,--yes}'[do not ask]' \
              '--wait=[seconds to wait for the payment]:seconds:' \
              '1:community name or id:_gsm_communities' && ret=0
            ;;
          'plugin buy')
            _arguments $data_opts \
              '(-y --yes)'{-y,--yes}'[do not ask]' \
              '--wait=[seconds to wait for the payment]:seconds:' \
              '1:plugin name:' && ret=0
            ;;
          'revenue report')
            _arguments $data_opts \
              '--since=[start: 30d or an ISO date/time]:when:' \
              '--until=[end: a duration back from now or an ISO date/time]:when:' \
              '--by=[group by]:group:($_gsm_revenue_by)' && ret=0
            ;;
          'community show'|'community leave'|'community members'|'community invitations')
            _arguments $data_opts '1:community name or id:_gsm_communities' && ret=0
            ;;
          'community role'|'community remove'|'community revoke')
            _arguments $data_opts '1:community name or id:_gsm_communities' '*:argument:' && ret=0
            ;;
          'alert add')
            _arguments $data_opts \
              '--url=[an Apprise URL (a secret)]:url:' \
              '--on=[comma-separated events to send]:events:' \
              '1:channel name:' && ret=0
            ;;
          'alert show')
            _arguments $data_opts \
              '(-n --limit)'{-n+,--limit=}'[latest messages shown]:number:' \
              '1:channel name:_gsm_alert_channels' && ret=0
            ;;
          'alert remove'|'alert test')
            _arguments $json_opts '1:channel name:_gsm_alert_channels' && ret=0
            ;;
          'service install')
            _arguments $data_opts \
              '--cron[write gsm'"'"'s lines into your crontab]' \
              '--at-startup[Windows: run when the machine starts]' && ret=0
            ;;
          'service run')
            _arguments $data_opts \
              '--once[run one round and exit]' \
              '--boot[the machine has just started]' \
              '--interval=[seconds between rounds]:seconds:' \
              '--home=[use this GSM_HOME]:folder:_files -/' && ret=0
            ;;
          'schedule add')
            _arguments $data_opts \
              '(-s --server)'{-s+,--server=}'[the server it runs for]:server:_gsm_servers' \
              '--cron=[when, as cron'"'"'s five fields]:cron expression:' \
              '*--task=[a task of the chain (repeatable)]:task:' \
              '--only-when-running[skip a firing when the server is not running]' \
              '--when-empty[wait until no player is on first]' \
              '--max-wait=[with --when-empty: the longest wait]:duration:' \
              '1:schedule name:' && ret=0
            ;;
          'schedule history')
            _arguments $data_opts \
              '(-n --limit)'{-n+,--limit=}'[how many runs]:number:' \
              '1:schedule name:_gsm_schedules' && ret=0
            ;;
          'schedule remove')
            _arguments $json_opts '1:schedule name:_gsm_schedules' && ret=0
            ;;
          'schedule show'|'schedule enable'|'schedule disable'|'schedule run')
            _arguments $data_opts '1:schedule name:_gsm_schedules' && ret=0
            ;;
          'sync resolve')
            _arguments $json_opts \
              '--keep=[the version that wins: local or cloud]:side:($_gsm_sync_sides)' \
              '1:server name:_gsm_servers' && ret=0
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

# The names gsm's local store holds: `gsm __complete KIND [--server NAME]` (KIND: servers,
# backups, plugins, communities, schedules or alerts; $3 the server whose backups or plugins). gsm answers that
# without loading its libraries, read-only, and prints nothing when it cannot (no store, gsm
# not on PATH): then nothing is offered.
_gsm_names() {
  local expl
  local -a names
  if [[ -n $3 ]]; then
    names=(${(f)"$(command gsm __complete $1 --server ${(Q)3} 2>/dev/null)"})
  else
    names=(${(f)"$(command gsm __complete $1 2>/dev/null)"})
  fi
  _wanted $1 expl $2 compadd -a names
}
_gsm_servers() { _gsm_names servers 'server' }
_gsm_communities() { _gsm_names communities 'community' }
_gsm_schedules() { _gsm_names schedules 'schedule' }
_gsm_alert_channels() { _gsm_names alerts 'alert channel' }
# gsm server restore NAME BACKUP: the backups of NAME (the first argument).
_gsm_backups() { _gsm_names backups 'backup' $line[1] }
# The plugins installed on the server given to --server.
_gsm_plugins() { _gsm_names plugins 'installed plugin' ${opt_args[--server]} }

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
