#!/bin/sh
# A toy key-value "database" for the example: one request per connection on port 5432,
#   PING -> PONG,  SET KEY VALUE -> OK,  GET KEY -> VALUE (or "(nil)").
# Each key is a file under $DB_DATA (the named volume in docker-compose.yml). It logs JSON lines,
# takes DB_START_DELAY seconds to "recover" before it listens, and exits 0 on SIGTERM.
set -eu
export DB_DATA="${DB_DATA:-/var/lib/db}"
pid=""
shutdown() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	echo '{"level":"info","msg":"shutdown","exit_code":0}'
	exit 0
}
trap shutdown TERM INT
echo "{\"level\":\"info\",\"msg\":\"recovering\",\"data\":\"$DB_DATA\",\"keys\":$(ls "$DB_DATA" | wc -l)}"
sleep "${DB_START_DELAY:-1}"
nc -ll -p 5432 -e /app/db-handler.sh &
pid=$!
echo '{"level":"info","msg":"ready","port":5432}'
wait "$pid"
