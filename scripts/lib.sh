# Shared by scripts/bootstrap and scripts/services (sourced, not run): what the set-up needs and
# how it is got. As root (CI) a missing Debian package is installed with apt-get; otherwise, or
# with EHR_NO_INSTALL=1, the exact command is printed and the script exits with status 69
# (EX_UNAVAILABLE, as the `ehr` command when it cannot connect).

EX_UNAVAILABLE=69

say() { printf '%s\n' "$*" >&2; }

# fail MESSAGE...: one paragraph on stderr, exit 69.
fail() {
    say "scripts: $*"
    exit "$EX_UNAVAILABLE"
}

may_install() { [ "$(id -u)" = 0 ] && [ "${EHR_NO_INSTALL:-0}" != 1 ] && command -v apt-get >/dev/null 2>&1; }

# need_packages WHAT PACKAGE...: install the Debian packages (as root), or say how and stop.
need_packages() {
    local what=$1
    shift
    if may_install; then
        say "installing $what: apt-get install -y $* ..."
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
            || fail "could not install $what (apt-get install -y $*)"
        hash -r
    else
        fail "$what is missing. Install it with:
    sudo apt-get install -y $*
then run this again (as root, scripts/bootstrap installs it itself; EHR_NO_INSTALL=1 forbids that)."
    fi
}

# url_part URL host|port|user|password: one part of scheme://user:password@host:port/path.
url_part() {
    local rest=${1#*://} auth="" hostport host port
    rest=${rest%%/*}
    case $rest in *@*) auth=${rest%@*}; rest=${rest##*@} ;; esac
    if [[ $rest == \[* ]]; then  # [::1]:5432
        host=${rest#[}; host=${host%%]*}; port=${rest##*]}; port=${port#:}
    else
        host=${rest%%:*}; port=""; [[ $rest == *:* ]] && port=${rest##*:}
    fi
    case $2 in
        host) printf '%s' "$host" ;;
        port) printf '%s' "$port" ;;
        user) printf '%s' "${auth%%:*}" ;;
        password) if [[ $auth == *:* ]]; then printf '%s' "${auth#*:}"; fi ;;
    esac
}

# mask URL: the URL with its password shown as ***.
mask() {
    local url=$1 password
    password=$(url_part "$url" password)
    if [ -n "$password" ]; then printf '%s' "${url/:"$password"@/:***@}"; else printf '%s' "$url"; fi
}

is_local() { case $1 in ""|localhost|127.0.0.1|::1) return 0 ;; *) return 1 ;; esac; }

# reachable HOST PORT: a TCP connection can be opened (bash's /dev/tcp, no other tool needed).
reachable() { timeout 5 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

state_dir() { printf '%s' "${EHR_STATE_DIR:-$PWD/var}"; }
