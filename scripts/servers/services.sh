#!/usr/bin/env bash
# Installs (Debian packages) and runs the real servers the project needs, as plain
# processes on 127.0.0.1 with their data under a directory of the caller's choice.
#
#   scripts/servers/services.sh install [build|influxdb|mariadb|postgresql|xrootd|node_exporter|chromium|grid_proxy|kerberos|nats|all]...
#     (grid_proxy: openssl and grid-proxy-init, for the TLS tests' CA and RFC 3820 proxies;
#      build: the headers npm ci compiles native packages against (kerberos: MIT's GSSAPI);
#      kerberos: MIT's KDC, kadmin.local and kinit/klist, for the SPNEGO tests (test/support/kerberos.ts))
#   scripts/servers/services.sh start influxdb      --port P --dir DIR
#   scripts/servers/services.sh start mariadb       --port P --dir DIR [--config-extra FILE]
#   scripts/servers/services.sh start postgresql    --port P --dir DIR [--config-extra FILE]
#     (runs as the user postgres; its superuser postgres is trusted on the socket in DIR only:
#      psql -h DIR -p P -U postgres; over TCP every role needs a password: CREATE ROLE r LOGIN PASSWORD '...')
#   scripts/servers/services.sh start node_exporter --port P --dir DIR
#   scripts/servers/services.sh start xrootd        --port P --dir DIR [--config-extra FILE]
#     [--cluster manager|server --manager-port M]   (with a cmsd beside it: a redirector (manager; its cmsd
#     listens on 127.0.0.1:M) or a data server subscribing to the manager cmsd at 127.0.0.1:M)
#   scripts/servers/services.sh start kerberos      --port P --dir DIR   (MIT KDC of realm MONIT.TEST,
#     UDP and TCP on 127.0.0.1:P; DIR/krb5.conf for clients, DIR/kdc.conf for kadmin.local)
#   scripts/servers/services.sh start nats          --port P --dir DIR [--monitor-port M] [--cluster-port C
#     --routes URL,URL --name NAME] [--config-extra FILE]   (nats-server with JetStream, store in DIR/store;
#     server_name nats-P; monitoring on 127.0.0.1:M, else a port the kernel picks: DIR/nats.ports lists them;
#     with --cluster-port a node of cluster NAME, routes e.g. nats-route://127.0.0.1:C2,nats-route://127.0.0.1:C3)
#   scripts/servers/services.sh stop   DIR          (stops the server whose data is in DIR)
#   scripts/servers/services.sh status DIR
#
# `start` installs the package when its binary is missing, waits until the server
# answers, and prints nothing but errors. The PID is kept in DIR/server.pid, its start time in
# DIR/server.started (so that a reused pid is never taken for the server).
set -euo pipefail

die() { echo "services.sh: $*" >&2; exit 1; }

packages_for() {
  case "$1" in
    influxdb) echo "influxdb influxdb-client" ;;
    mariadb) echo "mariadb-server mariadb-client" ;;
    postgresql) echo "postgresql postgresql-client" ;;
    xrootd) echo "xrootd-server xrootd-client" ;;
    node_exporter) echo "prometheus-node-exporter" ;;
    chromium) echo "chromium" ;;
    grid_proxy) echo "globus-proxy-utils openssl" ;;
    build) echo "libkrb5-dev g++ make python3" ;; # node-gyp's compiler, make and python too
    kerberos) echo "krb5-kdc krb5-admin-server krb5-user" ;;
    nats) echo "nats-server" ;;
    *) die "unknown component '$1' (influxdb, mariadb, postgresql, xrootd, node_exporter, chromium, grid_proxy, build, kerberos, nats)" ;;
  esac
}

binary_for() {
  case "$1" in
    influxdb) echo influxd ;;
    mariadb) echo mariadbd ;;
    postgresql) echo pg_ctlcluster ;; # Debian's postgresql-common; the server itself is in postgresql_bin
    xrootd) echo xrootd ;;
    node_exporter) echo prometheus-node-exporter ;;
    chromium) echo chromium ;;
    grid_proxy) echo grid-proxy-init ;;
    build) echo "krb5-config g++ make python3" ;;
    kerberos) echo kadmin.local ;;
    nats) echo nats-server ;;
  esac
}

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have_all() { local binary; for binary in "$@"; do have "$binary" || return 1; done; }

APT_UPDATED=0
install_components() {
  local missing=()
  for component in "$@"; do
    # shellcheck disable=SC2046 # binary_for gives several names for some components
    have_all $(binary_for "$component") || missing+=($(packages_for "$component"))
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "need root to apt-get install: ${missing[*]}"
  # apt's own chatter (debconf notes and the like) goes to a log, shown only when it fails.
  local log; log=$(mktemp -t monit-apt.XXXXXX)
  if [ "$APT_UPDATED" = 0 ]; then
    apt-get update -qq >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "apt-get update failed (log: $log)"; }
    APT_UPDATED=1
  fi
  # Debian's postgresql would create and start a cluster of its own on 5432 (on a machine with systemd);
  # the project starts its own servers, so none is made when the package comes in through this script.
  if [[ " ${missing[*]} " == *" postgresql "* ]] && [ ! -d /etc/postgresql ]; then
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/monit-collectors.conf
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1 \
    || { tail -n 20 "$log" >&2; die "apt-get install ${missing[*]} failed (log: $log)"; }
  rm -f "$log"
}

wait_for() { # wait_for SECONDS COMMAND... : polls until COMMAND succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

# serve_or_die NAME DIR LOG... -- COMMAND...: waits until COMMAND succeeds against the server started in
# DIR. Stops at once when the server exits (a port already taken, a bad config) and fails with the end
# of its LOGs; a server that does not answer within START_TIMEOUT seconds is stopped and fails the same way.
START_TIMEOUT=${SERVICES_START_TIMEOUT:-60}
serve_or_die() {
  local name=$1 dir=$2; shift 2
  local logs=()
  while [ "$1" != -- ]; do logs+=("$1"); shift; done; shift
  local pid; pid=$(cat "$dir/server.pid")
  local deadline=$((SECONDS + START_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if gone "$pid"; then
      forget_server "$dir"
      die "$name exited at start: $(tail -q -n 5 "${logs[@]}" 2>/dev/null | tr '\n' ' ')(see ${logs[0]})"
    fi
    if [ $SECONDS -ge $deadline ]; then
      stop_dir "$dir"
      die "$name did not answer within $START_TIMEOUT s: $(tail -q -n 5 "${logs[@]}" 2>/dev/null | tr '\n' ' ')(see ${logs[0]})"
    fi
    sleep 0.1
  done
}

# A pid alone may name another process once the server is gone (pids are reused), so DIR/server.started
# keeps the server's start time (clock ticks after boot, field 22 of /proc/PID/stat) beside it.
start_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }
# gone PID: the process has exited, reaped or not. A server whose parent exited belongs to init, which
# may take a while to reap it (here a second or two): meanwhile it is a zombie (state Z) that kill -0 finds.
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" = Z ]; }
remember_server() { # remember_server DIR PID
  echo "$2" >"$1/server.pid"
  start_ticks "$2" >"$1/server.started"
}
forget_server() { rm -f "$1/server.pid" "$1/server.started"; }
# live_pid DIR: prints the pid of DIR's server if that very process still runs (a folder from before
# server.started existed is trusted on its pid).
live_pid() {
  [ -f "$1/server.pid" ] || return 1
  local pid; pid=$(cat "$1/server.pid")
  ! gone "$pid" || return 1
  [ ! -f "$1/server.started" ] || [ "$(start_ticks "$pid")" = "$(cat "$1/server.started")" ] || return 1
  echo "$pid"
}
pid_alive() { live_pid "$1" >/dev/null; }

start_influxdb() {
  local port=$1 dir=$2
  mkdir -p "$dir"/{meta,data,wal}
  cat >"$dir/influxdb.conf" <<CONF
reporting-disabled = true
# The backup/restore service is not used: port 0 lets the kernel pick a free one, so it never
# collides with another server (port + 1 once did, in a parallel test run).
bind-address = "127.0.0.1:0"
[meta]
  dir = "$dir/meta"
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$port"
  log-enabled = false
[continuous_queries]
  enabled = false
CONF
  nohup influxd -config "$dir/influxdb.conf" >"$dir/influxd.log" 2>&1 &
  remember_server "$dir" $!
  serve_or_die "influxd on port $port" "$dir" "$dir/influxd.log" -- curl -sf --max-time 5 "http://127.0.0.1:$port/ping"
}

# Lines of --config-extra are more mariadbd options, one per line (--ssl-cert=FILE, ...).
start_mariadb() {
  local port=$1 dir=$2 extra=$3
  [ -z "$extra" ] || [ -r "$extra" ] || die "--config-extra $extra is not a readable file"
  local options=()
  [ -z "$extra" ] || mapfile -t options < <(grep -v '^[[:space:]]*$' "$extra")
  mkdir -p "$dir/tmp"
  if [ ! -d "$dir/data/mysql" ]; then
    mariadb-install-db --no-defaults --datadir="$dir/data" --user=root \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 \
      || die "mariadb-install-db failed (see $dir/install.log)"
  fi
  nohup mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" \
    --port="$port" --bind-address=127.0.0.1 --user=root --tmpdir="$dir/tmp" --log-error="$dir/error.log" \
    --skip-name-resolve "${options[@]}" >/dev/null 2>&1 &
  remember_server "$dir" $!
  serve_or_die "mariadbd on port $port" "$dir" "$dir/error.log" -- mariadb --no-defaults --socket="$dir/mysqld.sock" -uroot -e 'SELECT 1'
}

# Debian keeps the server's programs off PATH, in /usr/lib/postgresql/<major>/bin: the newest one.
postgresql_bin() {
  local bin; bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$bin" ] && [ -x "$bin/postgres" ] || die "no /usr/lib/postgresql/*/bin/postgres (package postgresql)"
  echo "$bin"
}

# postgres refuses to run as root: as root, DIR belongs to the user postgres (made by the package) and
# initdb and postgres run as that user through setpriv, which execs (the pid kept is the server's own).
# The superuser is `postgres`, trusted on the Unix socket in DIR only; TCP (127.0.0.1 only) asks for a
# password (scram-sha-256). Lines of --config-extra are added to postgresql.conf (ssl = on,
# ssl_cert_file = '...', ...); the files they name must be readable by the user the server runs as.
start_postgresql() {
  local port=$1 dir=$2 extra=$3
  [ -z "$extra" ] || [ -r "$extra" ] || die "--config-extra $extra is not a readable file"
  local bin; bin=$(postgresql_bin)
  local run_as=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "user postgres is missing (package postgresql creates it)"
    chown -R postgres: "$dir"
    setpriv --reuid=postgres --regid=postgres --init-groups -- test -x "$dir" 2>/dev/null \
      || die "user postgres cannot reach $dir: make its parent folders searchable (chmod o+x) or use another folder"
    run_as=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    "${run_as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || die "initdb failed (see $dir/initdb.log)"
  fi
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$dir'"
    echo "logging_collector = off"
    [ -z "$extra" ] || cat "$extra"
  } >"$dir/data/postgresql.auto.conf"
  [ "$(id -u)" != 0 ] || chown postgres: "$dir/data/postgresql.auto.conf"
  nohup "${run_as[@]}" "$bin/postgres" -D "$dir/data" >"$dir/postgres.log" 2>&1 &
  remember_server "$dir" $!
  serve_or_die "postgres on port $port" "$dir" "$dir/postgres.log" -- "$bin/pg_isready" -q -h "$dir" -p "$port" -U postgres
}

start_node_exporter() {
  local port=$1 dir=$2
  mkdir -p "$dir"
  nohup prometheus-node-exporter --web.listen-address="127.0.0.1:$port" --no-collector.systemd \
    >"$dir/node_exporter.log" 2>&1 &
  remember_server "$dir" $!
  serve_or_die "node_exporter on port $port" "$dir" "$dir/node_exporter.log" -- curl -sf --max-time 5 "http://127.0.0.1:$port/metrics"
}

xrootd_answers() { # xrootd_answers PORT: true once the server speaks the xroot protocol
  XRD_CONNECTIONRETRY=1 XRD_REQUESTTIMEOUT=5 timeout 10 xrdfs "127.0.0.1:$1" query config version
}

# xrootd 5.5 has no directive for the address it listens on (xrd.port takes a port; XrdNet::Bind binds
# every interface), but it takes a listening socket handed over the way systemd does (fd 3, LISTEN_FDS,
# LISTEN_PID: XrdInet::BindSD). This perl (perl-base is part of every Debian) binds 127.0.0.1:PORT,
# hands the socket over and becomes the server (exec: same pid), so xrootd listens on loopback only.
# The socket is IPv6 on the IPv4-mapped loopback (it takes 127.0.0.1 only), so xrootd names its clients
# as on its own dual-stack socket ([::ffff:127.0.0.1], not a name it looked up); IPv4 without IPv6.
LOOPBACK_LISTENER='
  use Socket qw(:all); use POSIX qw(dup2); use Fcntl;
  my $port = shift;
  my ($listener, $address);
  if (socket($listener, PF_INET6, SOCK_STREAM, 0)) {
    setsockopt($listener, IPPROTO_IPV6, IPV6_V6ONLY, 0) or die "setsockopt: $!\n";
    $address = pack_sockaddr_in6($port, inet_pton(AF_INET6, "::ffff:127.0.0.1"));
  } else {
    socket($listener, PF_INET, SOCK_STREAM, 0) or die "socket: $!\n";
    $address = pack_sockaddr_in($port, inet_aton("127.0.0.1"));
  }
  setsockopt($listener, SOL_SOCKET, SO_REUSEADDR, 1) or die "setsockopt: $!\n";
  bind($listener, $address) or die "bind 127.0.0.1:$port: $!\n";
  listen($listener, SOMAXCONN) or die "listen: $!\n";
  if (fileno($listener) == 3) { fcntl($listener, F_SETFD, 0) or die "fcntl: $!\n" }
  else { defined(dup2(fileno($listener), 3)) or die "dup2: $!\n" }
  $ENV{LISTEN_FDS} = 1; $ENV{LISTEN_PID} = $$;
  exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\n";
'

# xrootd 5.5 refuses to run as root: as root it is started with `-R xrootd` and its folders belong to
# that user. The instance name (-n) puts its log under DIR/log/mon<port>/xrootd.log and keeps the
# admin and pid files of servers sharing a machine apart. Lines of --config-extra come last, so they
# may add to or override the defaults (xrd.report, xrootd.monitor, all.sitename, ...; an xrd.port of
# another port than --port listens on every interface again).
start_xrootd() {
  local port=$1 dir=$2 extra=$3
  [ -z "$extra" ] || [ -r "$extra" ] || die "--config-extra $extra is not a readable file"
  mkdir -p "$dir"/{data,admin,run,log}
  {
    if [ -n "$CLUSTER_ROLE" ]; then
      # The cmsd reads the same file: the xroot port is the xrootd's only.
      echo "all.role $CLUSTER_ROLE"
      echo "all.manager 127.0.0.1:$MANAGER_PORT"
      echo "cms.delay startup 1"
      printf 'if exec xrootd\nxrd.port %s\nfi\n' "$port"
    else
      echo "xrd.port $port"
    fi
    echo "all.export / nolock"
    echo "oss.localroot $dir/data"
    echo "all.adminpath $dir/admin"
    echo "all.pidpath $dir/run"
    echo "xrootd.seclib default"
    [ -z "$extra" ] || cat "$extra"
  } >"$dir/xrootd.cfg"
  local run_as=()
  if [ "$(id -u)" = 0 ]; then
    id xrootd >/dev/null 2>&1 || die "user xrootd is missing (package xrootd-server creates it)"
    chown -R xrootd:xrootd "$dir"
    runuser -u xrootd -- test -x "$dir" 2>/dev/null \
      || die "user xrootd cannot reach $dir: make its parent folders searchable (chmod o+x) or use another folder"
    run_as=(-R xrootd)
  fi
  # Run from DIR: xrootd makes its home directory in the current folder.
  (cd "$dir" && exec nohup perl -e "$LOOPBACK_LISTENER" "$port" \
    xrootd "${run_as[@]}" -c "$dir/xrootd.cfg" -l "$dir/log/xrootd.log" -n "mon$port" >"$dir/stdout.log" 2>&1) &
  remember_server "$dir" $!
  serve_or_die "xrootd on port $port" "$dir" "$dir/log/mon$port/xrootd.log" "$dir/stdout.log" -- xrootd_answers "$port"
  [ -z "$CLUSTER_ROLE" ] || start_cmsd "$port" "$dir" "${run_as[@]}"
}

# The cmsd of a clustered xrootd: same config, instance name and admin path (how the two find each other).
# A manager's cmsd listens on 127.0.0.1:MANAGER_PORT (the loopback listener); a server's cmsd connects to
# it (5.5 still opens a port of its own, picked by the kernel). Its pid is DIR/cmsd.pid; `stop DIR` stops both.
start_cmsd() {
  local port=$1 dir=$2; shift 2
  local listener=()
  [ "$CLUSTER_ROLE" != manager ] || listener=(perl -e "$LOOPBACK_LISTENER" "$MANAGER_PORT")
  (cd "$dir" && exec nohup "${listener[@]}" cmsd "$@" -c "$dir/xrootd.cfg" -l "$dir/log/cmsd.log" -n "mon$port" >"$dir/cmsd-stdout.log" 2>&1) &
  echo $! >"$dir/cmsd.pid"
  start_ticks $! >"$dir/cmsd.started"
  local log="$dir/log/mon$port/cmsd.log"
  if ! wait_for "$START_TIMEOUT" grep -q 'initialization completed' "$log"; then
    stop_dir "$dir"
    die "cmsd of xrootd on port $port did not start: $(tail -q -n 5 "$log" "$dir/cmsd-stdout.log" 2>/dev/null | tr '\n' ' ')(see $log)"
  fi
}

# A KDC of realm MONIT.TEST on 127.0.0.1:PORT (UDP and TCP), database and logs in DIR. Clients use
# KRB5_CONFIG=DIR/krb5.conf; kadmin.local adds KRB5_KDC_PROFILE=DIR/kdc.conf. Host names are taken as
# written (no DNS canonicalisation, no reverse lookup), so HTTP@localhost is HTTP/localhost@MONIT.TEST.
start_kerberos() {
  local port=$1 dir=$2
  mkdir -p "$dir"
  cat >"$dir/kdc.conf" <<CONF
[kdcdefaults]
 kdc_listen = 127.0.0.1:$port
 kdc_tcp_listen = 127.0.0.1:$port
[realms]
 MONIT.TEST = {
  database_name = $dir/principal
  key_stash_file = $dir/stash
  acl_file = $dir/kadm5.acl
  max_life = 1d
  max_renewable_life = 0
 }
[logging]
 kdc = FILE:$dir/kdc.log
 admin_server = FILE:$dir/kadmin.log
CONF
  cat >"$dir/krb5.conf" <<CONF
[libdefaults]
 default_realm = MONIT.TEST
 dns_lookup_kdc = false
 dns_lookup_realm = false
 dns_canonicalize_hostname = false
 rdns = false
[realms]
 MONIT.TEST = {
  kdc = 127.0.0.1:$port
 }
[domain_realm]
 localhost = MONIT.TEST
 127.0.0.1 = MONIT.TEST
CONF
  export KRB5_CONFIG="$dir/krb5.conf" KRB5_KDC_PROFILE="$dir/kdc.conf"
  if [ ! -f "$dir/principal" ]; then
    kdb5_util create -s -r MONIT.TEST -P "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" -W >"$dir/create.log" 2>&1 \
      || die "kdb5_util create failed (see $dir/create.log)"
  fi
  # Its log says when both sockets are bound (a port another process holds could answer the connect).
  : >"$dir/kdc.log"
  nohup krb5kdc -n -r MONIT.TEST >"$dir/krb5kdc.out" 2>&1 &
  remember_server "$dir" $!
  serve_or_die "krb5kdc on port $port" "$dir" "$dir/kdc.log" "$dir/krb5kdc.out" -- \
    bash -c "grep -q 'commencing operation' '$dir/kdc.log' && exec 3<>/dev/tcp/127.0.0.1/$port"
}

# nats_answers DIR: true once the server last started in DIR has JetStream running. nats-server writes
# the ports it listens on to DIR/nats-server_<pid>.ports when it is ready (its monitoring port may be one
# the kernel picked); that file is copied to DIR/nats.ports, which outlives a kill -9.
nats_answers() {
  local dir=$1 pid; pid=$(cat "$dir/server.pid")
  local monitor; monitor=$(grep -o '"monitoring":\["[^"]*' "$dir/nats-server_$pid.ports" | cut -d'"' -f4) || return 1
  # js-enabled-only: a node of a cluster answers before the others are up (no meta leader needed).
  curl -sf --max-time 5 "$monitor/healthz?js-enabled-only=true" || return 1
  cp "$dir/nats-server_$pid.ports" "$dir/nats.ports"
}

# One nats-server with JetStream, its store in DIR/store. Its server_name, nats-PORT, is unique on the
# machine and the same at every start (JetStream's RAFT groups know a node by it). With --cluster-port
# it is a node of cluster NAME (monit unless told), routed to the URLs of --routes. Lines of
# --config-extra come last (a key given again overrides the default; a block replaces the whole block).
start_nats() {
  local port=$1 dir=$2 extra=$3
  [ -z "$extra" ] || [ -r "$extra" ] || die "--config-extra $extra is not a readable file"
  [ -n "$cluster_port" ] || [ -z "$routes$cluster_name" ] || die "--routes and --name need --cluster-port"
  # Else nats-server exits at start: JetStream in a cluster needs routes (a node's own URL may be among them).
  [ -z "$cluster_port" ] || [ -n "$routes" ] || die "--cluster-port needs --routes (nats-route://127.0.0.1:C of each node)"
  mkdir -p "$dir/store"
  {
    echo "server_name: \"nats-$port\""
    echo "listen: \"127.0.0.1:$port\""
    # The default monitoring port, 8222, would be shared by every node on the machine.
    echo "http: \"127.0.0.1:${monitor_port:--1}\""
    echo "ports_file_dir: \"$dir\""
    echo "jetstream { store_dir: \"$dir/store\" }"
    if [ -n "$cluster_port" ]; then
      echo "cluster {"
      echo "  name: \"${cluster_name:-monit}\""
      echo "  listen: \"127.0.0.1:$cluster_port\""
      local route
      echo "  routes: ["
      for route in ${routes//,/ }; do echo "    \"$route\""; done
      echo "  ]"
      echo "}"
    fi
    [ -z "$extra" ] || cat "$extra"
  } >"$dir/nats-server.conf"
  rm -f "$dir/nats.ports" "$dir"/nats-server_*.ports
  nohup nats-server -c "$dir/nats-server.conf" >>"$dir/nats-server.log" 2>&1 &
  remember_server "$dir" $!
  serve_or_die "nats-server on port $port" "$dir" "$dir/nats-server.log" -- nats_answers "$dir"
}

stop_dir() {
  local dir=$1
  local pid
  # A clustered xrootd's cmsd (start_cmsd), if it is still that very process.
  if [ -f "$dir/cmsd.pid" ]; then
    pid=$(cat "$dir/cmsd.pid")
    if ! gone "$pid" && [ "$(start_ticks "$pid")" = "$(cat "$dir/cmsd.started" 2>/dev/null)" ]; then
      kill "$pid" 2>/dev/null || true
      wait_for 20 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/cmsd.pid" "$dir/cmsd.started"
  fi
  if pid=$(live_pid "$dir"); then
    kill "$pid" 2>/dev/null || true
    wait_for 20 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  fi
  forget_server "$dir"
}

command=${1:-}; shift || true
case "$command" in
  install)
    [ $# -eq 0 ] || [ "$1" = all ] && set -- build influxdb mariadb postgresql xrootd node_exporter chromium grid_proxy kerberos nats
    install_components "$@"
    ;;
  start)
    component=${1:-}; shift || die "start needs a component"
    port='' dir='' extra='' cluster_port='' routes='' cluster_name='' monitor_port=''
    CLUSTER_ROLE='' MANAGER_PORT=''
    while [ $# -gt 0 ]; do
      case "$1" in
        --port) port=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        --config-extra) extra=$2; shift 2 ;;
        --cluster | --manager-port)
          [ "$component" = xrootd ] || die "$1 is an option of xrootd only"
          if [ "$1" = --cluster ]; then CLUSTER_ROLE=$2; else MANAGER_PORT=$2; fi
          shift 2 ;;
        --cluster-port | --routes | --name | --monitor-port)
          [ "$component" = nats ] || die "$1 is an option of nats only"
          case "$1" in
            --cluster-port) cluster_port=$2 ;;
            --routes) routes=$2 ;;
            --name) cluster_name=$2 ;;
            --monitor-port) monitor_port=$2 ;;
          esac
          shift 2 ;;
        *) die "unknown option $1" ;;
      esac
    done
    [ -n "$port" ] && [ -n "$dir" ] || die "start $component needs --port and --dir"
    case "$CLUSTER_ROLE" in
      '') [ -z "$MANAGER_PORT" ] || die "--manager-port goes with --cluster" ;;
      manager | server) [ -n "$MANAGER_PORT" ] || die "--cluster $CLUSTER_ROLE needs --manager-port" ;;
      *) die "--cluster takes manager or server, not '$CLUSTER_ROLE'" ;;
    esac
    install_components "$component"
    if pid_alive "$dir"; then exit 0; fi
    mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
    "start_$component" "$port" "$dir" "$extra"
    ;;
  stop) stop_dir "${1:?stop needs DIR}" ;;
  status)
    if pid_alive "${1:?status needs DIR}"; then echo "running (pid $(cat "$1/server.pid"))"; else echo "stopped"; exit 3; fi
    ;;
  *) sed -n '/^set -euo/q; 2,$p' "$0"; [ "$command" = --help ] || exit 2 ;;
esac
