#!/bin/bash
# Container healthcheck without curl (the .NET runtime image has none): GET <url> over bash's /dev/tcp, healthy
# on a 2xx answer. Usage: healthcheck.sh http://127.0.0.1:5080/health/ready
set -eu
url=${1#http://}
hostport=${url%%/*}
path=/${url#*/}
[ "$path" = "/$url" ] && path=/
host=${hostport%:*}
port=${hostport##*:}
exec 3<>"/dev/tcp/$host/$port"
printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$hostport" >&3
read -r -t 5 _ status _ <&3
[ "${status:-0}" -ge 200 ] && [ "${status:-0}" -lt 300 ]
