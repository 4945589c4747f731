# bash completion for jobctl(1), installed as
# share/bash-completion/completions/jobctl.
#
# Commands and options come from this file; task names (after map and
# submit) and job ids (after watch, results, status and cancel) are asked of
# the running jobd, on the socket given on the line or the default one.
# Items of map --exec are files; after run's --, a command and files.
# shellcheck shell=bash disable=SC2207  # COMPREPLY=($(compgen ...)) is the idiom

_jobctl_ask() {
    # jobctl [--socket ENDPOINT] --json "$@", for at most 2 seconds;
    # _jobctl_socket is _jobctl's.
    # The CURVE keys of a tcp:// socket too, when given on the line.
    local -a socket=()
    [[ -n ${_jobctl_socket-} ]] && socket=(--socket "$_jobctl_socket")
    [[ -n ${_jobctl_server_key-} ]] && socket+=(--curve-server-key "$_jobctl_server_key")
    [[ -n ${_jobctl_key_file-} ]] && socket+=(--curve-key-file "$_jobctl_key_file")
    timeout 2 "${COMP_WORDS[0]}" "${socket[@]}" --json "$@" 2>/dev/null
}

_jobctl_tasks() {
    _jobctl_ask tasks | sed -n 's/.*"name":"\([^"]*\)".*/\1/p'
}

_jobctl_jobs() {
    _jobctl_ask jobs | sed -n 's/.*"job":\([0-9][0-9]*\).*/\1/p'
}

_jobctl() {
    # shellcheck disable=SC2034  # split is _init_completion's
    local cur prev words cword split
    # ':' is no word break here, so that ipc://PATH stays one word.
    _init_completion -s -n : || return

    local commands="ping reload map submit run watch results status cancel jobs workers tasks logs keygen"
    local global_opts="--socket --json --curve-server-key --curve-key-file --help"

    # The command, the socket given, how many positional arguments follow
    # the command so far, and whether --exec or -- came.
    local command="" i positional=0 exec="" dashdash="" _jobctl_socket=""
    local _jobctl_server_key="" _jobctl_key_file=""
    for ((i = 1; i < cword; i++)); do
        if [[ -n $dashdash ]]; then
            ((positional++))
            continue
        fi
        case ${words[i]} in
            --)
                dashdash=1
                ;;
            --exec)
                exec=1
                ((i++))
                ;;
            --socket)
                _jobctl_socket=${words[i + 1]}
                ((i++))
                ;;
            --socket=*)
                _jobctl_socket=${words[i]#--socket=}
                ;;
            --curve-server-key)
                _jobctl_server_key=${words[i + 1]}
                ((i++))
                ;;
            --curve-key-file)
                _jobctl_key_file=${words[i + 1]}
                ((i++))
                ;;
            --timeout | --retries | --priority | --from-seq | --state | --pid | --job | --log-dir | \
                --cwd | --env | --stdin | --max-output | --memory-limit | --cpu-limit | --out | \
                -n | --args-per-task | --repeat)
                ((i++))
                ;;
            -*) ;;
            *)
                if [[ -z $command ]]; then
                    command=${words[i]}
                else
                    ((positional++))
                fi
                ;;
        esac
    done

    case $prev in
        --socket)
            COMPREPLY=($(compgen -W "ipc:// tcp://" -- "$cur"))
            __ltrim_colon_completions "$cur"
            compopt -o nospace
            return
            ;;
        --log-dir | --cwd)
            _filedir -d
            return
            ;;
        --stdin | --curve-server-key | --curve-key-file | --out)
            _filedir
            return
            ;;
        --state)
            COMPREPLY=($(compgen -W "running done" -- "$cur"))
            return
            ;;
        --job)
            COMPREPLY=($(compgen -W "$(_jobctl_jobs)" -- "$cur"))
            return
            ;;
        --timeout | --retries | --priority | --from-seq | --pid | --exec | --env | --max-output | \
            --memory-limit | --cpu-limit | -n | --args-per-task | --repeat)
            return
            ;;
    esac

    if [[ -n $dashdash ]]; then
        # run -- CMD ARG...
        if ((positional == 0)); then
            COMPREPLY=($(compgen -c -- "$cur"))
        else
            _filedir
        fi
        return
    fi

    if [[ -z $command ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi

    local opts=""
    local submit_opts="--retries --retry-timeouts --timeout --priority --no-store"
    local command_opts="--shell --cwd --env --stdin --max-output --memory-limit --cpu-limit"
    case $command in
        map)
            opts="-n --args-per-task --repeat --exec $command_opts $submit_opts --ordered --detach"
            ;;
        submit)
            opts="-n --args-per-task --repeat --exec $command_opts $submit_opts"
            ;;
        run)
            opts="-- $command_opts $submit_opts"
            ;;
        watch)
            opts="--ordered --from-seq"
            ;;
        results)
            opts="--ordered"
            ;;
        jobs)
            opts="--state"
            ;;
        logs)
            opts="-f --follow --pid --job --log-dir"
            ;;
        keygen)
            opts="--out"
            ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts $global_opts" -- "$cur"))
        return
    fi

    case $command in
        map | submit)
            if [[ -n $exec ]]; then
                _filedir
            elif ((positional == 0)); then
                COMPREPLY=($(compgen -W "$(_jobctl_tasks)" -- "$cur"))
            else
                _filedir
            fi
            ;;
        watch | results | status | cancel)
            if ((positional == 0)); then
                COMPREPLY=($(compgen -W "$(_jobctl_jobs)" -- "$cur"))
            fi
            ;;
    esac
} && complete -F _jobctl jobctl
