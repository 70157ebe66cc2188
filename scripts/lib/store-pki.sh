#!/usr/bin/env bash
# A private CA for the storage engines and etcd, with openssl, in one directory (created once, kept on a second run):
#   ca-cert.pem ca-key.pem            the CA (clients trust it: Engines:CaFile, Etcd:CaFile)
#   server-cert.pem server-key.pem    the servers' certificate (SAN 127.0.0.1, ::1, localhost; serverAuth and clientAuth,
#                                     since etcd members use theirs for peers too)
#   client-cert.pem client-key.pem    the services' client certificate (CN zerodisk; Engines:/Etcd:CertificateFile, KeyFile)
# Keys are chmod 600, the directory 700. ECDSA P-256: fast to make, accepted by redis (OpenSSL), etcd (Go) and .NET.
#   scripts/lib/store-pki.sh <dir> [ca name]
# Used by scripts/infra.sh --tls and by the tests' TLS stores (tools/LocalStack/StorePki).
set -euo pipefail
dir=$1
ca_name=${2:-zerodisk-store-ca}
mkdir -p "$dir"; chmod 700 "$dir"
cd "$dir"
[ -s ca-cert.pem ] && [ -s server-cert.pem ] && [ -s client-cert.pem ] && exit 0
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem -out ca-cert.pem -days 3650 \
  -subj "/CN=$ca_name" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
issue() { # name, extendedKeyUsage, extra extension line, file prefix
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$4-key.pem" -out "$4.csr" -subj "/CN=$1" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n%s\n' "$2" "$3" > "$4.ext"
  openssl x509 -req -in "$4.csr" -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -days 825 -extfile "$4.ext" -out "$4-cert.pem" 2>/dev/null
  rm -f "$4.csr" "$4.ext"
}
issue zerodisk-store serverAuth,clientAuth "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost" server
issue zerodisk clientAuth "" client
chmod 644 ca-cert.pem server-cert.pem client-cert.pem
chmod 600 ca-key.pem server-key.pem client-key.pem
