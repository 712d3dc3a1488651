import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { javaClientProperties, propertiesText, writeClientPropertiesFile } from '../src/client-properties';

/** The Java client config the bin/ wrappers get from the apps' Kafka settings. */
describe('javaClientProperties', () => {
  it('gives a plain connection no settings at all', () => {
    expect(javaClientProperties({ ssl: false })).toEqual({});
  });

  it('turns SCRAM over TLS with a CA file into SASL_SSL with the ScramLoginModule and a PEM trust store', () => {
    expect(javaClientProperties({ ssl: { caFile: '/tmp/ca.pem' }, sasl: { mechanism: 'scram-sha-512', username: 'admin', password: 'pw' } })).toEqual({
      'security.protocol': 'SASL_SSL',
      'sasl.mechanism': 'SCRAM-SHA-512',
      'sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="pw";',
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': '/tmp/ca.pem',
    });
  });

  it('turns PLAIN without TLS into SASL_PLAINTEXT with the PlainLoginModule, and TLS alone into SSL with the system CAs', () => {
    const plain = javaClientProperties({ ssl: false, sasl: { mechanism: 'plain', username: 'u', password: 'p' } });
    expect(plain['security.protocol']).toBe('SASL_PLAINTEXT');
    expect(plain['sasl.mechanism']).toBe('PLAIN');
    expect(plain['sasl.jaas.config']).toMatch(/^org\.apache\.kafka\.common\.security\.plain\.PlainLoginModule required /);
    expect(javaClientProperties({ ssl: true })).toEqual({ 'security.protocol': 'SSL' });
  });

  it('escapes quotes and backslashes of a password for JAAS and then for the .properties format', () => {
    const props = javaClientProperties({ ssl: true, sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'a"b\\c' } });
    expect(props['sasl.jaas.config']).toContain('password="a\\"b\\\\c";');
    expect(propertiesText(props)).toContain('password="a\\\\"b\\\\\\\\c";\n');
  });

  it('puts a client certificate and its key (converted to PKCS#8) into a PEM key store for mTLS', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'client-properties-'));
    try {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '1', '-subj', '/CN=client'],
        {
          cwd: dir,
          stdio: 'ignore',
        },
      );
      execFileSync('openssl', ['rsa', '-in', 'key.pem', '-out', 'key-pkcs1.pem', '-traditional'], { cwd: dir, stdio: 'ignore' });
      const props = javaClientProperties({ ssl: { certFile: path.join(dir, 'cert.pem'), keyFile: path.join(dir, 'key-pkcs1.pem') } });
      expect(props['ssl.keystore.type']).toBe('PEM');
      expect(props['ssl.keystore.certificate.chain']).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----$/);
      expect(props['ssl.keystore.key']).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(propertiesText(props)).toMatch(/^ssl\.keystore\.key=-----BEGIN PRIVATE KEY-----\\n[^\n]+\\n-----END PRIVATE KEY-----\n/m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes the file readable by its owner only, named after its content', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'client-properties-'));
    try {
      const file = writeClientPropertiesFile({ 'security.protocol': 'SSL' }, path.join(dir, 'client-config'));
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(file, 'utf8')).toBe('security.protocol=SSL\n');
      expect(writeClientPropertiesFile({ 'security.protocol': 'SSL' }, path.join(dir, 'client-config'))).toBe(file);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
