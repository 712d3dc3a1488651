#!/usr/bin/env bash
# One-shot of the "secure" profile of docker-compose.kafka.yml (kafka-secure-setup):
# the same material as `npm run infra:up -- --secure` (libs/infra/src/secure-broker.ts),
# made with the JDK's keytool alone (the apache/kafka image has no openssl), once:
#   a throw-away CA (ca.pem), the broker's key store (certificate for localhost,
#   127.0.0.1 and kafka-secure, signed by the CA), a trust store with the CA,
#   random passwords (credentials.env), and for the host, run from the repository
#   root: one env file per app (<app>.env) and one Java client config per
#   principal (<principal>.properties).
# usage: setup.sh <dir> [<dir as the host's apps see it, default .local/kafka/secure/docker>]
set -euo pipefail
DIR="$1"
HOST_DIR="${2:-.local/kafka/secure/docker}"
PRINCIPALS="admin order payment notification"
mkdir -p "$DIR"
cd "$DIR"
if [ -f credentials.env ]; then
  echo "kafka-secure-setup: material present in $DIR, kept"
  exit 0
fi
umask 077
secret() { head -c 18 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }
STORE_PASSWORD="$(secret)"
{
  echo "STORE_PASSWORD=$STORE_PASSWORD"
  for p in $PRINCIPALS; do echo "$(echo "$p" | tr '[:lower:]' '[:upper:]')_PASSWORD=$(secret)"; done
} > credentials.env.tmp
. ./credentials.env.tmp
kt() { keytool -storetype PKCS12 -storepass "$STORE_PASSWORD" "$@" 2>&1 | grep -v '^$' || true; }
rm -f ca.p12 broker.p12 truststore.p12
kt -genkeypair -keystore ca.p12 -alias ca -keyalg RSA -keysize 2048 -validity 825 \
  -dname "CN=kafka-order-saga local CA" -ext bc:c -ext ku:c=keyCertSign,cRLSign
kt -exportcert -rfc -keystore ca.p12 -alias ca -file ca.pem
kt -genkeypair -keystore broker.p12 -alias broker -keyalg RSA -keysize 2048 -validity 825 -dname "CN=localhost"
kt -certreq -keystore broker.p12 -alias broker -file broker.csr
kt -gencert -keystore ca.p12 -alias ca -infile broker.csr -outfile broker.pem -rfc -validity 825 \
  -ext "SAN=dns:localhost,dns:kafka-secure,ip:127.0.0.1" -ext "EKU=serverAuth,clientAuth"
kt -importcert -noprompt -keystore broker.p12 -alias ca -file ca.pem
kt -importcert -keystore broker.p12 -alias broker -file broker.pem
kt -importcert -noprompt -keystore truststore.p12 -alias ca -file ca.pem
rm -f broker.csr
for p in $PRINCIPALS; do
  var="$(echo "$p" | tr '[:lower:]' '[:upper:]')_PASSWORD"
  cat > "$p.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$p" password="${!var}";
ssl.truststore.type=PEM
ssl.truststore.location=$HOST_DIR/ca.pem
PROPS
  if [ "$p" != admin ]; then
    cat > "$p.env" <<ENV
# The $p app on the secured broker of docker-compose.kafka.yml (profile secure), from the repository root.
KAFKA_BROKERS=localhost:9192
KAFKA_SSL=true
KAFKA_SSL_CA_FILE=$HOST_DIR/ca.pem
KAFKA_SASL_MECHANISM=scram-sha-512
KAFKA_SASL_USERNAME=$p
KAFKA_SASL_PASSWORD=${!var}
ENV
  fi
done
# Readable by the broker's user in the other containers (the folder itself is git-ignored).
chmod 644 ./*
mv credentials.env.tmp credentials.env
chmod 644 credentials.env
echo "kafka-secure-setup: CA, broker certificate, SCRAM passwords and client settings written to $DIR"
