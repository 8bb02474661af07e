#!/bin/sh
# One request of the toy database (see db.sh); stdin/stdout are the client's connection.
read -r cmd key value || exit 0
# One JSON log line per query on the container's stdout (PID 1's), never echoing client input.
log() {
	case "$cmd" in PING | SET | GET) name="$cmd" ;; *) name="other" ;; esac
	echo "{\"level\":\"info\",\"msg\":\"query\",\"cmd\":\"$name\",\"result\":\"$1\"}" >/proc/1/fd/1
}
case "$key" in
*[!A-Za-z0-9_-]*) echo "ERR bad key"; log error; exit 0 ;;
esac
case "$cmd" in
PING) echo PONG ;;
SET)
	if [ -z "$key" ]; then echo "ERR bad key"; log error; exit 0; fi
	printf '%s\n' "$value" >"$DB_DATA/$key.tmp" && mv "$DB_DATA/$key.tmp" "$DB_DATA/$key" && echo OK
	log ok
	;;
GET)
	if [ -n "$key" ] && [ -f "$DB_DATA/$key" ]; then cat "$DB_DATA/$key"; log hit; else echo "(nil)"; log miss; fi
	;;
*) echo "ERR unknown command"; log error ;;
esac
