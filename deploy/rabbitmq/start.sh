#!/bin/sh
# RabbitMQ for docker-compose: there is no guest account, so the tracing plugin's own connection (which defaults to
# guest/guest) gets the configured user, and Admin > Tracing works without entering credentials. The password must
# not contain '"' or '\' (an Erlang string): `openssl rand -hex 32` is safe.
set -eu
cat > /etc/rabbitmq/advanced.config <<CONFIG
[{rabbitmq_tracing, [{directory, "/var/lib/rabbitmq/tracing"},
                     {username, <<"${RABBITMQ_DEFAULT_USER}">>},
                     {password, <<"${RABBITMQ_DEFAULT_PASS}">>}]}].
CONFIG
exec docker-entrypoint.sh rabbitmq-server
